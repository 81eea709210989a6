"""The report runner's bookkeeping: data checked up front, headline figures, ``run.json``, index and history pages.

Figures come from public clvlib calls (:func:`clvlib.customer_summary`, :func:`clvlib.repeat_split`,
:func:`clvlib.top_share`, the BG/NBD and Gamma-Gamma models); this module only formats them.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import html
import io
import json
import os
import platform
from pathlib import Path
from typing import Any

import pandas as pd

from .._validation import check_argument
from .html import GLOSSARY_PAGE, format_figure, index_page
from .summary import headline_changes

__all__ = ["load_run_data", "headline_figures", "CLV_PARAMETERS", "check_clv_parameters", "file_sha256", "build_run_record", "write_run_index",
           "collect_history", "write_history_index", "period_ends", "HEADLINES"]

# (key, label, kind) of the headline figures, in display order; labels name the currency of amounts.
HEADLINES = [
    ("customers", "Customers", "count"),
    ("orders", "Orders", "count"),
    ("revenue", "Revenue ({currency})", "amount"),
    ("aov", "Average order value ({currency})", "amount"),
    ("repeat_rate", "Repeat customers", "share"),
    ("top20_share", "Revenue from the top 20 % of customers", "share"),
    ("clv_per_customer", "CLV per customer ({currency})", "amount"),
]
_AS_OF_GRACE_DAYS = 31  # a month end a few days after the last order is a normal as-of date; a year is not
# Arguments of clvlib.predict_clv that a run's parameters may set; the notebooks declare the same names.
CLV_PARAMETERS = ("horizon_months", "margin", "time_unit", "annual_discount_rate", "calibration_end")


def load_run_data(data: str | os.PathLike | None, *, preset: str | None = None, columns: dict | None = None,
                  as_of: str | None = None, read_options: dict | None = None,
                  hint_style: str = "python") -> pd.DataFrame:
    """Load and check the orders once, as the notebooks will (:func:`clvlib.load_orders` with ``read_options``).

    ``hint_style="cli"`` words the reader's suggestions as ``clv report`` options (``--column revenue=Total``).

    Raises
    ------
    DataError
        From the reader: the message names the file, the column and the problem.
    """
    from .. import load_orders
    from ..errors import DataError

    options = {**(read_options or {}), **({"hint_style": hint_style} if hint_style != "python" else {})}
    orders = load_orders(None if data is None else str(data), preset=preset, columns=columns, as_of=as_of,
                         read_options=options)
    label = "the bundled demo store" if data is None else str(data)
    known = orders.loc[orders["customer_id"].notna(), "order_date"] if "customer_id" in orders else orders["order_date"]
    if as_of is not None and known.empty:
        raise DataError(f"{label}: no order with a customer on or before the as-of date {as_of}; the data start "
                        "later. Choose an as-of date inside the data's dates.")
    if as_of is not None and pd.Timestamp(as_of) - known.max() > pd.Timedelta(days=_AS_OF_GRACE_DAYS):
        raise DataError(f"{label}: the as-of date {as_of} is more than {_AS_OF_GRACE_DAYS} days after the last order "
                        f"({known.max():%Y-%m-%d}); the export seems to end before it, and every customer would "
                        "look lapsed. Choose an as-of date inside the data's dates.")
    return orders


def check_clv_parameters(values: dict[str, Any]) -> None:
    """Refuse unusable CLV parameters before any notebook starts (``ValueError`` naming the parameter)."""
    from .._validation import check_time_unit

    if "time_unit" in values:
        check_time_unit(values["time_unit"])
    horizon = values.get("horizon_months", 12)
    if not isinstance(horizon, (int, float)) or not horizon > 0:
        raise ValueError(f"The value for `horizon_months` must be a positive number, but {horizon!r} was passed.")
    margin = values.get("margin")
    if margin is not None and (not isinstance(margin, (int, float)) or not 0 < margin <= 1):
        raise ValueError(f"The value for `margin` must be in (0, 1] or None, but {margin!r} was passed.")
    rate = values.get("annual_discount_rate", 0.1)
    if not isinstance(rate, (int, float)) or not rate > -1:
        raise ValueError(f"The value for `annual_discount_rate` must be above -1, but {rate!r} was passed.")
    if values.get("calibration_end") is not None:
        pd.Timestamp(values["calibration_end"])  # raises ValueError for a date that does not parse


def file_sha256(path: str | os.PathLike) -> str:
    """SHA-256 of a file's bytes, read in blocks (exports can be large).

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.NamedTemporaryFile(delete=False) as f:
    ...     _ = f.write(b"abc")
    >>> file_sha256(f.name)[:16]
    'ba7816bf8f01cfea'
    """
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def headline_figures(orders: pd.DataFrame, *, as_of: str | None = None,
                     clv_parameters: dict[str, Any] | None = None) -> tuple[dict[str, Any], list[str]]:
    """The index page's headline figures for an orders table, and notes on them.

    The CLV figure is :func:`clvlib.predict_clv`'s, called as the notebooks call it (``clv_parameters`` are the
    run's values of :data:`CLV_PARAMETERS`), so the index and the pages show the same number under the same label.

    Returns
    -------
    (dict, list of str)
        Keys as in :data:`HEADLINES`: ``customers``, ``orders``, ``revenue``, ``aov`` (revenue per order),
        ``repeat_rate`` (share of customers with more than one order), ``top20_share`` (share of customer revenue
        from the top 20 % of customers), ``clv_per_customer`` (the pipeline's CLV per customer), plus
        ``clv_label`` (what that CLV is) and ``clv_decision``. The notes hold the pipeline's reason.
    """
    import clvlib

    # The figures every page shares come from the one function the pages use (clvlib.store_figures).
    store = clvlib.store_figures(orders, as_of=as_of)
    shared = {key: None if pd.isna(store[key]) else float(store[key])
              for key in ("revenue", "aov", "repeat_rate", "top20_share")}
    figures: dict[str, Any] = {
        "customers": int(store["customers"]), "orders": int(store["orders"]), **shared,
        "clv_per_customer": None, "clv_label": None, "clv_decision": None,
    }
    notes = []
    if store["customers"]:
        result = clvlib.predict_clv(orders, as_of=as_of, intervals=False, **(clv_parameters or {}))
        figures.update(clv_per_customer=result.headline["clv_per_customer"], clv_label=result.label,
                       clv_decision=result.decision)
        notes.append(f"CLV: {result.label}. {result.reason}")
    return figures, notes


def _cleaning(orders: pd.DataFrame) -> dict[str, Any]:
    report = orders.attrs.get("cleaning")
    if report is None:
        return {}
    excluded = report.excluded[report.excluded["rows"] > 0]
    return {
        "source": report.source, "rows_read": int(report.rows_read), "rows_kept": int(report.rows_kept),
        "input_revenue": float(getattr(report, "input_revenue", float("nan"))),
        "revenue": float(getattr(report, "revenue", float("nan"))),
        "refunds_applied": float(getattr(report, "refunds_applied", 0.0)),
        "store_revenue": float(getattr(report, "store_revenue", getattr(report, "revenue", float("nan")))),
        "excluded": [{"reason": str(reason), "rows": int(row["rows"]), "revenue": float(row["revenue"])}
                     for reason, row in excluded.iterrows()],
        "notes": list(getattr(report, "notes", [])),
    }


def build_run_record(orders: pd.DataFrame, *, data: str | os.PathLike | None, preset: str | None,
                     columns: dict | None, as_of: str, currency: str, params: dict | None, no_code: bool,
                     timings: dict[str, float], jobs: int, reports: list[dict[str, str]],
                     headline: tuple[dict, list[str]] | None = None,
                     read_options: dict | None = None) -> dict[str, Any]:
    """Everything ``run.json`` records: parameters, data file hash, versions, timings, cleaning, headline figures.

    ``headline`` is :func:`headline_figures`'s result when already computed (the runner computes it while the
    notebooks execute).
    """
    import nbconvert
    import papermill

    import clvlib

    if data is not None:
        data_file = Path(data).resolve()
    else:  # the bundled demo store: hash the file the notebooks read
        data_file = Path(clvlib.datasets.DEMO_STORE_DIR) / "orders.csv"
    headline, notes = headline if headline is not None else headline_figures(orders, as_of=as_of)
    return {
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "as_of": as_of,
        "data": {"path": str(data_file), "label": Path(data).name if data is not None else "bundled demo store",
                 "sha256": file_sha256(data_file) if data_file.is_file() else None},
        "parameters": {"data": None if data is None else str(data_file), "preset": preset, "columns": columns,
                       "read_options": read_options or None, "as_of": as_of, "currency": currency, "params": params or {}, "no_code": no_code,
                       "jobs": jobs},
        "versions": {"clvlib": clvlib.__version__, "pandas": pd.__version__, "papermill": papermill.__version__,
                     "nbconvert": nbconvert.__version__, "python": platform.python_version()},
        "timings": dict(timings),
        "reports": reports,
        "cleaning": _cleaning(orders),
        "headline": headline,
        "notes": notes,
    }


def _change_text(key: str, change: float | None, since: str | None) -> str:
    if change is None or since is None:
        return ""
    if key in ("repeat_rate", "top20_share"):
        text = f"{change * 100:+.1f} points"
    else:
        text = f"{change * 100:+.1f} %"
    return f'<div class="change">{html.escape(text.replace("-", "−"))} since {html.escape(since)}</div>'


def _cards(record: dict) -> str:
    currency = record["parameters"]["currency"]
    previous = record.get("previous") or {}
    changes = headline_changes(record["headline"], previous)
    clv_label = record["headline"].get("clv_label")
    labels = {key: label.format(currency=currency) for key, label, _ in HEADLINES}
    if clv_label:  # the card names the CLV the pages show
        labels["clv_per_customer"] = f"{clv_label}, per customer ({currency})"
    cards = [f'<div class="card"><div class="label">{html.escape(labels[key])}</div>'
             f'<div class="value">{html.escape(format_figure(record["headline"].get(key), kind, currency))}</div>'
             f'{_change_text(key, changes.get(key), previous.get("as_of"))}</div>'
             for key, _, kind in HEADLINES]
    return f'<div class="cards">{"".join(cards)}</div>'


def _cleaning_table(cleaning: dict, currency: str) -> str:
    if not cleaning:
        return '<p class="note">No cleaning report.</p>'
    # The table adds up: rows read = excluded + kept, and their amounts too once the refunds subtracted from kept
    # orders are a row of their own. Returns no order could take then come off the store's revenue.
    rows = [("Rows read", cleaning["rows_read"], cleaning.get("input_revenue"))]
    rows += [(f"Excluded: {e['reason']}", e["rows"], e["revenue"]) for e in cleaning["excluded"]]
    if cleaning.get("refunds_applied"):
        rows += [("Refunds subtracted from kept orders", "", cleaning["refunds_applied"])]
    rows += [("Rows kept", cleaning["rows_kept"], cleaning.get("revenue"))]
    store = cleaning.get("store_revenue")
    if store is not None and cleaning.get("revenue") is not None and abs(store - cleaning["revenue"]) > 0.005:
        rows += [("Store revenue, less returns no order could take", "", store)]
    body = "".join(f"<tr><td>{html.escape(label)}</td><td class=num>{n if n == '' else format(n, ',')}</td>"
                   f"<td class=num>{html.escape(format_figure(amount, 'money', currency))}</td></tr>" for label, n, amount in rows)
    notes = "".join(f"<li>{html.escape(n)}</li>" for n in cleaning.get("notes", []))
    return (f'<table><thead><tr><th>Step</th><th class=num>Rows</th><th class=num>Revenue</th></tr></thead>'
            f"<tbody>{body}</tbody></table>" + (f'<ul class="note">{notes}</ul>' if notes else ""))


def write_run_index(folder: str | os.PathLike, record: dict, *, back_href: str | None = None,
                    charts: list[tuple[str, str]] | None = None) -> Path:
    """Write ``index.html`` for one run folder from its record (see :func:`build_run_record`).

    The page opens with the manager's summary: the headline figures with their change since the previous run
    (``record["previous"]``), the summary's sentences (``record["summary"]``) and ``charts`` (``[(title, PNG data
    URI)]``, from :func:`clvlib.reporting.summary.manager_summary`).
    """
    folder = Path(folder)
    currency = record["parameters"]["currency"]
    items = []
    for report in record["reports"]:
        seconds = record["timings"].get(report["name"])
        failed = (f'<div class="failed"><strong>FAILED</strong> {html.escape(report["error"])}</div>'
                  if report.get("error") else "")
        items.append(f'<li><a href="{html.escape(report["html"])}"><strong>{html.escape(report["title"])}</strong>'
                     f'</a>{failed}<div class="meta">{html.escape(report["name"])} · executed notebook: '
                     f'<a href="{html.escape(report["ipynb"])}">{html.escape(report["ipynb"])}</a>'
                     + (f" · {seconds:.1f} s" if seconds is not None else "") + "</div></li>")
    exports = sorted(p.relative_to(folder).as_posix() for p in (folder / "exports").rglob("*") if p.is_file())
    export_list = "".join(f'<li><a href="{html.escape(p)}">{html.escape(p)}</a></li>' for p in exports)
    notes = "".join(f"<li>{html.escape(n)}</li>" for n in record["notes"])
    summary = record.get("summary") or {}
    sentences = "".join(f"<li>{html.escape(s)}</li>" for s in summary.get("sentences", []))
    figures = "".join(f'<img class="chart" alt="{html.escape(title)}" title="{html.escape(title)}" src="{uri}">'
                      for title, uri in (charts or []) if uri.startswith("data:image/png;base64,"))
    previous = record.get("previous")
    compared = (f'Changes are since the previous report, as of {html.escape(previous["as_of"])}.' if previous
                else "The cards will show changes once there is an earlier report of the same data.")
    body = (
        "<h2>Summary</h2>" + _cards(record) + f'<p class="note">{compared}</p>'
        + (f'<ul class="summary">{sentences}</ul>' if sentences else "")
        + (f'<div class="charts">{figures}</div>' if figures else "")
        + (f'<ul class="note">{notes}</ul>' if notes else "")
        + f'<h2>Reports</h2><ul class="reports">{"".join(items)}</ul>'
        + (f'<p>Every term the reports use is explained in the <a href="{GLOSSARY_PAGE}">glossary</a>.</p>'
           if (folder / GLOSSARY_PAGE).is_file() else "")
        + (f"<h2>Exports</h2><ul>{export_list}</ul>" if exports else "")
        + "<h2>Data cleaning</h2>" + _cleaning_table(record["cleaning"], currency)
    )
    if record.get("privacy"):
        body += f'<p class="note">Customer data in this report: {html.escape(record["privacy"])}.</p>'
    data = record["data"]
    digest = html.escape(str(data["sha256"]))[:16]
    footer = (f'Run record: <a href="run.json">run.json</a> · data sha256 {digest}… · '
              f'created {html.escape(record["created"])} · clvlib {html.escape(record["versions"]["clvlib"])}')
    failed = record.get("status") == "failed"
    page = index_page(title=f"CLV reports — {data['label']}, as of {record['as_of']}",
                      heading=(f"FAILED RUN — CLV reports as of {record['as_of']}" if failed
                               else f"CLV reports as of {record['as_of']}"),
                      subtitle=f"Data: {data['label']} · currency {currency}", body=body, footer=footer,
                      back_href=back_href)
    target = folder / "index.html"
    target.write_text(page, encoding="utf-8")
    return target


def collect_history(root: str | os.PathLike) -> pd.DataFrame:
    """The headline figures of every run folder under ``root`` (``*/run.json``), one row per as-of date.

    Returns
    -------
    DataFrame indexed by ``as_of`` (sorted) with a column ``folder`` and one column per headline key.
    """
    rows = []
    for path in Path(root).glob("*/run.json"):
        if path.parent.name.startswith("."):
            continue
        record = json.loads(path.read_text(encoding="utf-8"))
        if record.get("status") == "failed":  # a failed run's folder (<date>.failed) is not part of the history
            continue
        rows.append({"as_of": record["as_of"], "folder": path.parent.name, "currency": record["parameters"]["currency"],
                     "data": record["data"]["label"], **record["headline"]})
    columns = ["as_of", "folder", "currency", "data", *(key for key, _, _ in HEADLINES)]
    return pd.DataFrame(rows, columns=columns).sort_values("as_of").set_index("as_of")


def _distinct_money(currency: str):
    """Money tick labels with as many decimals as the ticks need to differ ($2.10M, $2.12M, not $2.1M twice)."""
    from matplotlib.ticker import Formatter

    from ..formatting import CURRENCY_SYMBOLS

    symbol = CURRENCY_SYMBOLS.get(currency, f"{currency} ")

    class DistinctMoney(Formatter):
        def format_ticks(self, values):
            values = list(values)
            scale, suffix = next(((s, x) for s, x in ((1e9, "bn"), (1e6, "M"), (1e3, "k"))
                                  if max((abs(v) for v in values), default=0) >= s), (1.0, ""))
            for decimals in range(0, 5):
                labels = [f"{symbol}{v / scale:,.{decimals}f}{suffix}" for v in values]
                if len(set(labels)) == len(labels):
                    return labels
            return labels

        def __call__(self, x, pos=None):
            return self.format_ticks([x])[0]

    return DistinctMoney()


def _trend_chart(history: pd.DataFrame) -> str:
    # Imported here: the runner's figures are the only matplotlib use outside clvlib.plots.
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter, DateFormatter
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    from ..plots._style import percent_formatter

    currency = str(history["currency"].iloc[-1])
    dates = pd.to_datetime(history.index)
    counts = FuncFormatter(lambda x, _pos=None: f"{x:,.0f}")
    fig = Figure(figsize=(10, 3.2), dpi=110, layout="constrained")
    # Each run's revenue is to date (the whole history up to its as-of date); the trend that matters is what each
    # period added: the difference between consecutive runs (none before the first).
    per_period = history["revenue"].astype(float).diff()
    panels = [("revenue", f"Revenue between reports ({currency})", _distinct_money(currency)),
              ("customers", "Customers to date", counts),
              ("repeat_rate", "Repeat rate, top-20 % share", percent_formatter())]
    for ax, (key, title, formatter) in zip(fig.subplots(1, 3), panels):
        values = per_period if key == "revenue" else history[key].astype(float)
        ax.plot(dates, values, marker="o", color="#1d4ed8", label="repeat customers")
        if key == "repeat_rate":
            ax.plot(dates, history["top20_share"].astype(float), marker="s", color="#b45309",
                    label="revenue from top 20 %")
            ax.legend(fontsize=8, frameon=False)
        ax.set_title(title, fontsize=11)
        ax.set_xlabel("as-of date")
        ax.yaxis.set_major_formatter(formatter)
        if key == "customers":
            ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        if len(dates) <= 6:  # a tick on each run's date
            ax.set_xticks(dates)
            ax.xaxis.set_major_formatter(DateFormatter("%Y-%m-%d"))
            ax.tick_params(axis="x", labelrotation=30, labelsize=8)
        else:
            locator = AutoDateLocator(maxticks=6)
            ax.xaxis.set(major_locator=locator, major_formatter=ConciseDateFormatter(locator))
        ax.grid(alpha=0.3)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def write_history_index(root: str | os.PathLike) -> Path:
    """Rebuild ``<root>/index.html`` from every ``<root>/*/run.json``: a table of headline figures and a trend chart."""
    root = Path(root)
    history = collect_history(root)
    # One data source (the usual case) is named once, above the table; several get a column.
    sources = sorted(set(history["data"]))
    rows = []
    for as_of, row in history.iterrows():
        cells = "".join(f"<td class=num>{html.escape(format_figure(row[key], kind, row['currency']))}</td>"
                        for key, _, kind in HEADLINES)
        data_cell = f'<td class="date">{html.escape(row["data"])}</td>' if len(sources) > 1 else ""
        rows.append(f'<tr><td class="date"><a href="{html.escape(row["folder"])}/index.html">{html.escape(as_of)}</a>'
                    f"</td>{data_cell}{cells}</tr>")
    currencies = sorted(set(history["currency"]))
    currency = currencies[0] if len(currencies) == 1 else "mixed currencies"
    head = "".join(f"<th class=num>{html.escape(label.format(currency=currency))}</th>" for _, label, _ in HEADLINES)
    data_head = "<th>Data</th>" if len(sources) > 1 else ""
    table = (f'<table class="wide"><thead><tr><th>As of</th>{data_head}{head}</tr></thead>'
             f"<tbody>{''.join(rows)}</tbody></table>")
    if len(history) >= 2:
        chart = f'<h2>Trend</h2><img class="chart" alt="Trend of the headline figures" src="{_trend_chart(history)}">'
    else:
        chart = '<p class="note">The trend chart appears once there are reports for two or more dates.</p>'
    body = chart + "<h2>Reports by as-of date</h2>" + table
    page = index_page(title="CLV report history", heading="CLV report history",
                      subtitle=f"{len(history)} report run(s) in {root.name}/"
                      + (f" · data: {sources[0]}" if len(sources) == 1 else ""), body=body,
                      footer="Rebuilt from every run.json in this folder after each run.")
    target = root / "index.html"
    # Written beside and renamed: two runs finishing at once into one history never leave half a page.
    partial = root / f".index.html.{os.getpid()}.tmp"
    partial.write_text(page, encoding="utf-8")
    os.replace(partial, target)
    return target


def period_ends(every: str, start: str | None, end: str | None) -> list[str]:
    """Every month or quarter end from ``start`` to ``end`` (both included), as ISO dates.

    Examples
    --------
    >>> period_ends("quarter", "2024-01-01", "2024-12-31")
    ['2024-03-31', '2024-06-30', '2024-09-30', '2024-12-31']
    >>> period_ends("month", "2024-01-15", "2024-03-31")
    ['2024-01-31', '2024-02-29', '2024-03-31']
    """
    check_argument("every", ["month", "quarter"], every)
    if start is None or end is None:
        raise ValueError("`every` needs both a start and an end date (--from and --to).")
    stamps = pd.date_range(pd.Timestamp(start), pd.Timestamp(end), freq={"month": "ME", "quarter": "QE"}[every])
    return [stamp.date().isoformat() for stamp in stamps]
