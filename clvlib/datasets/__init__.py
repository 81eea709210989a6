"""Bundled data: the simulated demo online store (with known true parameters) and the CDNOW purchase records.

``load_orders`` is the one entry point the notebooks use: an analyst's own export when a path is given, else the demo
store, always through :func:`clvlib.read_transactions` so both get the same cleaning and the same cleaning report.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from . import demo_store as _demo_store
from .._validation import check_argument, check_time_unit
from ..config import DATA_DIR, NOT_A_CLONE, project_path

__all__ = [
    "DEMO_STORE_SEED", "DEMO_STORE_DIR",
    "make_demo_store", "demo_store_true_params", "load_demo_store", "load_cdnow", "load_orders", "load_marketing_spend",
]

DEMO_STORE_SEED = 20230101
DEMO_STORE_DIR = DATA_DIR / "demo_store"
_CDNOW_FILES = {"master": "CDNOW_master.txt", "sample": "CDNOW_sample.txt"}


def make_demo_store(*, seed: int = DEMO_STORE_SEED) -> dict[str, pd.DataFrame]:
    """Simulate the demo online store: 2.5 years of orders from customers with known BG/NBD and Gamma-Gamma truth.

    10,000 consumers arrive from 2023-01-01 to 2025-06-30 (a growing store with a holiday peak). Each buys by the
    BG/NBD process and spends by the Gamma-Gamma model with the parameters of :func:`demo_store_true_params`; their
    acquisition channel and first product category are drawn from their latent traits, so channels and categories
    differ in value while the pooled population stays exactly the model's. 100 B2B accounts with large orders, and
    cancelled, refunded, pending, partially refunded, guest, test and EUR orders are added on top (see
    ``data/demo_store/README.md`` for the counts). The same seed gives identical tables.

    Parameters
    ----------
    seed : int
        Seed of the ``numpy.random.Generator`` behind every draw. The committed files use ``DEMO_STORE_SEED``.

    Returns
    -------
    dict of str to DataFrame
        ``orders`` (the raw export: order_id, customer_id, email, order_date, status, revenue, refunded, cost,
        currency, channel, product, quantity, is_test), ``customers`` (customer_id, email, signup_date, channel,
        segment, newsletter), ``marketing_spend`` (month, channel, spend), ``events`` (customer_id, email, event,
        event_date, cart_value) and ``truth`` (customer_id, segment, lambda_per_day, p_dropout, nu,
        expected_order_value, first_order, dropout_date, alive_at_end).

    Examples
    --------
    >>> store = make_demo_store(seed=1)
    >>> sorted(store)
    ['customers', 'events', 'marketing_spend', 'orders', 'truth']
    >>> int((store["customers"]["segment"] == "consumer").sum())
    10000
    """
    return _demo_store.simulate(int(seed))


def demo_store_true_params(*, time_unit: str = "D") -> pd.Series:
    """The demo store consumers' true BG/NBD and Gamma-Gamma parameters, with ``alpha`` in the given time unit.

    Parameters
    ----------
    time_unit : {"D", "W", "M"}
        Unit of time. ``alpha`` is a time scale (the purchase rate λ ~ Gamma(r, rate α) is per unit), so it is
        divided by the days in the unit: α per week = α per day / 7, α per month = α per day / 30.4375.

    Returns
    -------
    Series
        Indexed ``r, alpha, a, b`` (BG/NBD) and ``p, q, v`` (Gamma-Gamma, v = γ, in USD).

    Examples
    --------
    >>> demo_store_true_params(time_unit="W")
    r         0.600000
    alpha    12.142857
    a         0.800000
    b         2.600000
    p         4.000000
    q         3.000000
    v        35.000000
    dtype: float64
    """
    days = check_time_unit(time_unit)
    bgnbd = dict(_demo_store.TRUE_BGNBD, alpha=_demo_store.TRUE_BGNBD["alpha"] / days)
    return pd.Series({**bgnbd, **_demo_store.TRUE_GAMMA_GAMMA}, dtype="float64")


def _read_transactions():
    # Imported late: the io module is the ingestion engineer's and imports nothing from here.
    from ..ingest.read import read_transactions

    return read_transactions


def _read_table(name: str, directory: Path) -> pd.DataFrame:
    file, date_format = _demo_store.FILES[name]
    dates = {"customers": ["signup_date"], "events": ["event_date"], "truth": ["first_order", "dropout_date"]}
    frame = pd.read_csv(directory / file, dtype={"customer_id": "str", "month": "str"})
    for column in dates.get(name, []):
        frame[column] = pd.to_datetime(frame[column], format=date_format)
    return frame


def load_demo_store(directory: str | Path | None = None, *, tables: list[str] | None = None,
                    as_of: str | pd.Timestamp | None = None) -> dict[str, pd.DataFrame]:
    """Load the bundled demo store: cleaned orders and the customer, marketing, event and truth tables.

    Parameters
    ----------
    directory : str or Path, optional
        Folder holding the demo store's CSV files; default ``data/demo_store``.
    tables : list of str, optional
        Only these tables (names as below); all by default. Reading and cleaning the orders is most of the time.
    as_of : str or Timestamp, optional
        The store as known on that day: nothing dated after it is kept (dates compare by calendar day, as the
        orders' do). Orders after it are excluded and counted in the cleaning report ("after as_of"); events keep
        the days up to ``as_of``; marketing spend keeps the months that start on or before it (the month of
        ``as_of`` whole, see :func:`clvlib.read_marketing_spend`); customers keep those who signed up by then, and
        their ``newsletter`` flag is true only for a newsletter signup on or before ``as_of``; truth keeps the
        customers whose first order is by then, with ``dropout_date`` blanked when later and ``alive_at_end``
        meaning alive at ``as_of``. Each cut table records ``attrs["as_of"]`` (ISO date) and
        ``attrs["rows_after_as_of"]`` (rows dropped).

    Returns
    -------
    dict of str to DataFrame
        ``orders`` read by :func:`clvlib.read_transactions` (canonical orders table with ``attrs["cleaning"]``);
        ``customers``, ``marketing_spend``, ``events`` and ``truth`` as described in :func:`make_demo_store`, with
        dates parsed.

    Examples
    --------
    >>> store = load_demo_store()
    >>> store["marketing_spend"].columns.tolist()
    ['month', 'channel', 'spend']
    >>> list(load_demo_store(tables=["events"]))
    ['events']
    >>> cut = load_demo_store(tables=["events", "marketing_spend"], as_of="2024-03-15")
    >>> str(cut["events"]["event_date"].max().date()), cut["marketing_spend"]["month"].max()
    ('2024-03-15', '2024-03')
    """
    directory = DEMO_STORE_DIR if directory is None else Path(directory)
    names = list(_demo_store.FILES) if tables is None else list(tables)
    for name in names:
        check_argument("tables", list(_demo_store.FILES), name)
    options = {} if as_of is None else {"as_of": as_of}
    store = {name: _read_transactions()(directory / _demo_store.FILES["orders"][0], **options) if name == "orders"
             else _read_table(name, directory) for name in names}
    if as_of is None:
        return store
    events = store.get("events")
    if "customers" in store and events is None:
        events = _read_table("events", directory)  # the newsletter flag is cut by the signup events' dates
    for name in names:
        if name != "orders":
            store[name] = _cut_table(name, store[name], as_of, events)
    return store


def _cut_table(name: str, frame: pd.DataFrame, as_of, events: pd.DataFrame | None) -> pd.DataFrame:
    """One demo-store table as known on ``as_of`` (see :func:`load_demo_store`)."""
    day = pd.Timestamp(as_of).normalize()

    def by_day(column: str) -> pd.Series:
        # Calendar days, as the orders table's dates: an event at 15:00 on the as_of day is on or before as_of.
        return (frame[column].dt.normalize() <= day).to_numpy(dtype=bool)

    if name == "marketing_spend":
        keep = np.asarray(pd.PeriodIndex(frame["month"].astype("str"), freq="M").start_time <= day, dtype=bool)
    elif name == "events":
        keep = by_day("event_date")
    elif name == "customers":
        keep = by_day("signup_date")
    else:  # truth
        keep = by_day("first_order")
    table = frame[keep].reset_index(drop=True)
    if name == "customers" and "newsletter" in table.columns and events is not None:
        signed = events.loc[(events["event"] == "newsletter_signup") & (events["event_date"].dt.normalize() <= day),
                            "customer_id"]
        table["newsletter"] = table["customer_id"].isin(set(signed.dropna())).to_numpy(dtype=bool)
    if name == "truth":
        later = table["dropout_date"].dt.normalize() > day
        table["dropout_date"] = table["dropout_date"].where(~later)
        table["alive_at_end"] = table["dropout_date"].isna().to_numpy(dtype=bool)
    table.attrs = {**frame.attrs, "as_of": day.date().isoformat(), "rows_after_as_of": int((~keep).sum())}
    return table


def load_cdnow(*, kind: str = "master") -> pd.DataFrame:
    """Load the bundled CDNOW purchase records as a canonical orders table.

    Parameters
    ----------
    kind : {"master", "sample"}
        ``"master"``: all 23,570 customers of the 1997 Q1 cohort; ``"sample"``: the 2,357-customer 1/10 sample used
        in Fader, Hardie & Lee (2005).

    Returns
    -------
    DataFrame
        The orders table of :func:`clvlib.read_transactions` with ``preset="cdnow"``.
    """
    check_argument("kind", list(_CDNOW_FILES), kind)
    return _read_transactions()(DATA_DIR / "cdnow" / _CDNOW_FILES[kind], preset="cdnow")


def load_orders(
    data: str | Path | pd.DataFrame | None = None,
    *,
    preset: str | None = None,
    columns: dict | None = None,
    as_of: str | pd.Timestamp | None = None,
    currency: str | None = None,
    read_options: dict | None = None,
) -> pd.DataFrame:
    """Load an order export, or the bundled demo store when ``data`` is None: the notebooks' one way in.

    Parameters
    ----------
    data : str, Path, DataFrame or None
        An export to read with :func:`clvlib.read_transactions`; None reads the demo store's ``orders.csv``. A
        relative path is taken relative to the project folder (:func:`clvlib.config.project_path`), as every
        notebook's ``data`` parameter says; an absolute path stays as it is.
    preset, columns : optional
        Passed to :func:`clvlib.read_transactions` (ignored for the demo store, whose columns are canonical).
    as_of : str or Timestamp, optional
        Orders after this date are excluded (and counted in the cleaning report).
    currency : str, optional
        The store currency; orders in other currencies are excluded and reported.
    read_options : dict, optional
        Further keyword arguments of :func:`clvlib.read_transactions` for an export: ``encoding``, ``sheet_name``,
        ``sep``, ``decimal``, ``thousands``, ``date_format``, ``dayfirst``, ``timezone``, ``rates``, ``strict``,
        ``hint_style`` (e.g. ``{"encoding": "latin-1", "dayfirst": True}``; ignored for the demo store).

    Returns
    -------
    DataFrame
        The canonical orders table, with ``attrs["cleaning"]``.

    Raises
    ------
    ValueError
        When ``read_options`` names something that is not one of those options.
    """
    read_options = dict(read_options or {})
    unknown = sorted(set(read_options) - set(READ_OPTIONS), key=str)
    if unknown:
        raise ValueError(f"`read_options` may hold {list(READ_OPTIONS)}, but {unknown} was passed"
                         + (" (preset, columns, as_of and currency are parameters of their own)."
                            if set(unknown) & {"preset", "columns", "as_of", "currency"} else "."))
    options = {"as_of": as_of} if as_of is not None else {}
    if currency is not None:
        options["currency"] = currency
    if data is None:
        if not DEMO_STORE_DIR.is_dir():
            raise FileNotFoundError(NOT_A_CLONE)
        return _read_transactions()(DEMO_STORE_DIR / _demo_store.FILES["orders"][0], **options)
    if isinstance(data, (str, os.PathLike)):
        data = project_path(data)
    return _read_transactions()(data, preset=preset, columns=columns, **options, **read_options)


#: What :func:`load_orders` passes on from ``read_options`` to :func:`clvlib.read_transactions`.
READ_OPTIONS = ("encoding", "sheet_name", "sep", "decimal", "thousands", "date_format", "dayfirst", "timezone",
                "rates", "strict", "hint_style")


def load_marketing_spend(
    source: str | Path | pd.DataFrame | None = None,
    *,
    data: str | Path | pd.DataFrame | None = None,
    as_of: str | pd.Timestamp | None = None,
) -> pd.DataFrame | None:
    """The marketing spend that goes with the orders of :func:`load_orders`: the notebooks' one way in.

    Parameters
    ----------
    source : str, Path, DataFrame or None
        A spend file (CSV with ``month``, ``channel``, ``spend``; a relative path is taken relative to the project
        folder) or table.
    data : str, Path, DataFrame or None
        The ``data`` the orders were loaded with. When ``source`` is None: None (the demo store) reads the demo
        store's spend; an export of your own has no spend, and None is returned.
    as_of : date-like, optional
        Keep the months that start on or before it (:func:`clvlib.read_marketing_spend`).

    Returns
    -------
    DataFrame as :func:`clvlib.read_marketing_spend` returns it, or None when there is no spend to read.

    Examples
    --------
    >>> load_marketing_spend(data="my_orders.csv") is None
    True
    >>> load_marketing_spend(as_of="2024-03-15")["month"].max()
    Period('2024-03', 'M')
    """
    from ..cohorts import read_marketing_spend

    if source is None and data is not None:
        return None
    return read_marketing_spend(source, as_of=as_of)


