"""The stress battery: the whole report on stores in every regime that breaks models (clvlib.datasets.stores).

For each simulated store, one ``python -m clvlib report`` must exit 0 and write sound pages: no traceback, no
warning box, no NaN in a headline figure, no temporary path, and the same CLV, under the same label, on the index,
in 02_clv and in 04_rfm. The library-level checks (every prediction finite, the decision consistent with the
verdicts) run on the same stores without the notebooks, so a failure there names the regime quickly.
"""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest

import clvlib
from clvlib.formatting import escape_markdown as format_markdown_label, format_money
from clvlib.datasets.stores import STORE_REGIMES, write_store

REGIMES = list(STORE_REGIMES)


@pytest.fixture(scope="module")
def stores(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("stores")
    return {regime: write_store(regime, root / regime) for regime in REGIMES}


@pytest.mark.parametrize("regime", REGIMES)
def test_pipeline_is_finite_and_honours_its_verdicts(stores, regime, recwarn):
    orders = clvlib.read_transactions(stores[regime])
    result = clvlib.predict_clv(orders, n_draws=40)
    numbers = result.table.select_dtypes("number").to_numpy()
    assert np.isfinite(numbers).all(), f"{regime}: non-finite CLV"
    assert math.isfinite(result.headline["clv_per_customer"])
    # The decision is the one the verdicts state: a model is used only if its scorecard says "use it".
    if result.uses_model:
        assert result.scorecards[result.model].beats_baselines
        assert result.comparison.loc[result.model, "sound_fit"]
        assert result.diagnoses[f"{result.model} (all data)"]["ok"]
    else:
        assert not result.comparison.get("chosen", []).any() if len(result.comparison) else True
        assert result.reason  # and it says why
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)], f"{regime}: numerical warnings"


def _outputs(nb) -> list:
    return [o for cell in nb.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]


def _text(output) -> str:
    if output.output_type == "stream":
        return output.text
    data = output.get("data", {})
    return data.get("text/markdown", "") + data.get("text/plain", "")


# Every regime as a generic file, and four regimes in the platforms' own export layouts (read with their presets).
CASES = [(regime, "generic") for regime in REGIMES] + [
    ("long_history", "shopify"), ("no_dropout", "woocommerce"), ("heavy_tail", "stripe"),
    ("single_b2b", "online_retail"),
    ("one_order", "generic")]  # the least a store can be: one customer, one order, no spend file


@pytest.mark.slow
@pytest.mark.parametrize("regime, layout", CASES)
def test_full_report_is_sound(stores, regime, layout, tmp_path):
    # The platform layouts test the reading and the money on the pages that use them most; every notebook runs on
    # every regime in the generic layout.
    preset = [] if layout == "generic" else ["--preset", layout, "--notebooks", "02,03,04,05"]
    params = tmp_path / "params.yaml"
    if regime == "one_order":
        data = tmp_path / "one.csv"
        data.write_text("customer_id,order_id,order_date,revenue\nC1,O1,2025-01-15,42.50\n")
        params.write_text("{}\n")
    else:
        data = stores[regime] if layout == "generic" else write_store(regime, tmp_path / "data", layout=layout)
        params.write_text(f"marketing_spend: {json.dumps(str(data.parent / 'marketing_spend.csv'))}\n")
    out = tmp_path / "report"
    completed = subprocess.run(
        [sys.executable, "-m", "clvlib", "report", "--data", str(data), *preset, "--out", str(out), "--jobs", "2",
         "-q", "--params", str(params)],
        capture_output=True, text=True, timeout=600)
    assert completed.returncode == 0, f"{regime}:\n{completed.stderr[-3000:]}"

    record = json.loads((out / "run.json").read_text())
    headline = record["headline"]
    for key in ("customers", "orders", "revenue", "aov", "repeat_rate", "top20_share", "clv_per_customer"):
        assert headline[key] is not None and math.isfinite(headline[key]), f"{regime}: headline {key}"
    currency = record["parameters"]["currency"]
    # The data's own currency on every page: the UCI layout is in pounds, the others carry none (USD).
    assert currency == ("GBP" if layout == "online_retail" else "USD")
    assert record["cleaning"] and all(f"currency {currency}" in page for page in
                                       [p.read_text() for p in out.glob("0*.html")])

    pages = {}
    for path in sorted(out.glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        outputs = _outputs(nb)
        errors = [o for o in outputs if o.output_type == "error"]
        assert not errors, f"{regime} {path.name}: {errors[0].ename}: {errors[0].evalue}"
        warnings = [o.text for o in outputs if o.output_type == "stream" and o.name == "stderr"]
        assert not warnings, f"{regime} {path.name}: warning box {warnings[0][:300]}"
        text = "\n".join(_text(o) for o in outputs)
        assert ".tmp-" not in text, f"{regime} {path.name}: a temporary path reached the page"
        assert not re.search(r"\bnan\b|\bNaN\b", "\n".join(
            o.get("data", {}).get("text/markdown", "") for o in outputs)), f"{regime} {path.name}: NaN in text"
        pages[path.stem] = text
    html_pages = {p.stem: p.read_text() for p in out.glob("*.html")}
    assert all("Traceback" not in page for page in html_pages.values()), regime

    # One CLV: the index's figure and label are the ones 02_clv and 04_rfm state.
    label = headline["clv_label"]
    # Markdown text carries the label escaped ("\\(no model\\)"), which renders as the label itself.
    written = {label, format_markdown_label(label)}
    assert label and any(w in pages["02_clv"] for w in written) and any(w in pages["04_rfm"] for w in written), \
        regime
    per_customer = format_money(headline["clv_per_customer"], currency).replace("$", "\\$")
    assert f"**{per_customer}** per customer" in pages["02_clv"], f"{regime}: {per_customer} not in 02_clv"
    assert label in html_pages["index"]
    # The manager's summary opens the index: sentences from the figures (no NaN, no inf) and its three charts.
    sentences = record["summary"]["sentences"]
    assert 2 <= len(sentences) <= 5 and not any(re.search(r"\bnan\b|\binf\b", s, re.I) for s in sentences), regime
    assert html_pages["index"].count('<img class="chart"') == 3, regime
    assert headline["clv_label"] in sentences[2] or len(sentences) < 3, regime


@pytest.mark.slow
def test_jobs_1_and_2_write_the_same_figures_and_exports(stores, tmp_path):
    # Every notebook reads its own data in its own kernel: how many run at once changes nothing.
    runs = {}
    for jobs in (1, 2):
        out = tmp_path / f"jobs{jobs}"
        completed = subprocess.run(
            [sys.executable, "-m", "clvlib", "report", "--data", str(stores["single_b2b"]), "--out", str(out),
             "--jobs", str(jobs), "-q", "--notebooks", "02,04,05"],  # the pages that write exports
            capture_output=True, text=True, timeout=600)
        assert completed.returncode == 0, completed.stderr[-3000:]
        record = json.loads((out / "run.json").read_text())
        exports = {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted((out / "exports").rglob("*"))
                   if p.is_file()}
        runs[jobs] = (record["headline"], record["cleaning"], record["notes"], exports)
    assert runs[1] == runs[2]
    assert runs[1][3]  # there are exports to compare


@pytest.mark.slow
def test_history_run_cac_is_spend_to_date_over_customers_to_date(tmp_path):
    # Each month end's report charges only the spend of the months up to it, over the customers acquired by it.
    import pandas as pd

    from clvlib.config import DATA_DIR

    out = tmp_path / "history"
    completed = subprocess.run(
        [sys.executable, "-m", "clvlib", "report", "--every", "month", "--from", "2024-04-01", "--to",
         "2024-06-30", "--notebooks", "05_acquisition", "--out", str(out), "--jobs", "2", "-q"],
        capture_output=True, text=True, timeout=900)
    assert completed.returncode == 0, completed.stderr[-3000:]
    orders = clvlib.load_orders()  # the cleaned orders (test and cancelled orders are not acquisitions)
    spend = pd.read_csv(DATA_DIR / "demo_store" / "marketing_spend.csv")
    for as_of in ("2024-04-30", "2024-05-31", "2024-06-30"):
        table = pd.read_csv(out / as_of / "exports" / "05_acquisition" / "ltv_cac_by_channel.csv").set_index("channel")
        known = orders[orders["customer_id"].notna() & (orders["order_date"] <= f"{as_of} 23:59:59")]
        first = known.sort_values(["order_date", "order_id"]).drop_duplicates("customer_id")
        new = first.groupby("channel")["customer_id"].nunique()
        paid = spend[spend["month"] <= as_of[:7]].groupby("channel")["spend"].sum()
        expected = (paid / new).dropna()
        # Exports carry money in cents.
        pd.testing.assert_series_equal(table["cac"].loc[expected.index], expected.round(2), check_names=False,
                                       rtol=0, atol=1e-9)
        assert table["spend"].sum() == pytest.approx(paid.sum())
