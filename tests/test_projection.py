"""Cohort projection: the table's layout on a tiny example checked by hand, the actuals against the cohort curves,
and the projection against what happened after cutting history (demo store; a simulated store where BG/NBD and
Gamma-Gamma are the truth), plus the figures."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from scipy.special import hyp2f1

import clvlib
import clvlib.plots as clvplots
from clvlib.datasets.stores import simulate_store
from clvlib.models import BetaGeo, GammaGamma, cohort_projection_check, project_cohorts

CDNOW_BG = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
CDNOW_GG = {"p": 6.25, "q": 3.74, "v": 15.44}


def _model(cls, params: dict, time_unit: str = "W"):
    model = cls()
    model.params_ = pd.Series(params, name="coef")
    model.time_unit_ = time_unit
    return model


def _pair(bg: dict, gg: dict):
    return _model(BetaGeo, bg), _model(GammaGamma, gg)


@pytest.fixture(scope="module")
def tiny_orders() -> pd.DataFrame:
    rows = [("a", "2024-01-05", 10.0), ("b", "2024-01-20", 40.0), ("a", "2024-02-10", 20.0),
            ("c", "2024-03-02", 50.0), ("a", "2024-03-15", 30.0), ("c", "2024-03-20", 10.0)]
    frame = pd.DataFrame(rows, columns=["customer_id", "order_date", "revenue"])
    return frame.assign(order_id=[str(i) for i in range(len(frame))], order_date=pd.to_datetime(frame["order_date"]))


@pytest.fixture(scope="module")
def demo_orders() -> pd.DataFrame:
    return clvlib.load_orders(None)


@pytest.fixture(scope="module")
def demo_projection(demo_orders) -> pd.DataFrame:
    return project_cohorts(demo_orders)


def _bgnbd_conditional(t, x, t_x, T):
    """E[Y(t) | x, t_x, T], Fader, Hardie & Lee (2005) eq. (10), written out here."""
    r, alpha, a, b = CDNOW_BG.values()
    head = (a + b + x - 1) / (a - 1)
    body = 1 - ((alpha + T) / (alpha + T + t)) ** (r + x) * hyp2f1(r + x, b + x, a + b + x - 1, t / (alpha + T + t))
    return head * body / (1 + (x > 0) * a / (b + x - 1) * ((alpha + T) / (alpha + t_x)) ** (r + x))


def test_tiny_example_layout_and_values_by_hand(tiny_orders):
    table = project_cohorts(tiny_orders, model=_pair(CDNOW_BG, CDNOW_GG), months=2, as_of="2024-03-31",
                            margin=1.0)
    assert table.columns.tolist() == ["cohort", "months_since_first_order", "customers", "cumulative_total",
                                      "cumulative_per_customer", "projected"]
    assert table["cohort"].astype(str).tolist() == ["2024-01"] * 3 + ["2024-03"] * 3
    assert table["months_since_first_order"].tolist() == [0, 1, 2, 0, 1, 2]
    assert table["customers"].tolist() == [2, 2, 2, 1, 1, 1]
    assert table["projected"].tolist() == [False, False, False, False, True, True]
    # January (a, b): 50 in January, a's 20 in February and 30 in March, per customer.
    assert table["cumulative_per_customer"].iloc[:3].tolist() == [25.0, 35.0, 50.0]
    # March (c): 60 so far; then c's expected purchases to 30 April (30 days) and 31 May (61 days), each worth the
    # Gamma-Gamma expected spend given one repeat purchase of 10: (v + m·x) p / (p·x + q − 1).
    x, t_x, T = 1.0, 18 / 7, 29 / 7
    p, q, v = CDNOW_GG.values()
    spend = (v + 10.0 * x) * p / (p * x + q - 1)
    by_hand = [60.0, 60.0 + spend * _bgnbd_conditional(30 / 7, x, t_x, T),
               60.0 + spend * _bgnbd_conditional(61 / 7, x, t_x, T)]
    assert table["cumulative_per_customer"].iloc[3:].to_numpy() == pytest.approx(by_hand, rel=1e-10)
    assert np.allclose(table["cumulative_total"], table["cumulative_per_customer"] * table["customers"])
    assert table.attrs["value"] == "revenue" and table.attrs["milestones"] == [2]


def test_a_month_still_running_at_as_of_is_projected(tiny_orders):
    table = project_cohorts(tiny_orders, model=_pair(CDNOW_BG, CDNOW_GG), months=2, as_of="2024-03-20",
                            margin=1.0)
    assert table["projected"].tolist() == [False, False, True, True, True, True]
    # The running month starts from what the cohort has brought so far (c: 60 by the 20th).
    march = table[table["cohort"].astype(str) == "2024-03"]["cumulative_per_customer"]
    assert march.iloc[0] > 60.0 and march.is_monotonic_increasing


def test_actual_cells_are_the_cohort_curves_and_the_heatmap_hatches_the_rest(demo_orders, demo_projection):
    table = demo_projection
    assert table.attrs["model"] == "BG/NBD" and table.attrs["value"] == "gross_margin"
    assert table["months_since_first_order"].max() == 24 and np.isfinite(table["cumulative_per_customer"]).all()
    curves = clvlib.cumulative_value_curves(demo_orders, value="gross_margin")
    actual = table[~table["projected"]].merge(curves, on=["cohort", "months_since_first_order"], how="left")
    assert np.allclose(actual["cumulative_per_customer_x"], actual["cumulative_per_customer_y"], rtol=1e-12)
    # Projected value only grows, and starts above the last actual month.
    for _, part in table.groupby("cohort"):
        assert np.all(np.diff(part["cumulative_per_customer"]) >= -1e-9)
    ax = clvplots.plot_cohort_heatmap(table, projected="projected")
    hatched = [p for p in ax.patches if p.get_label() == "_projected"]
    assert len(hatched) == table.loc[table["projected"], "cohort"].nunique()
    assert "projected" in ax.get_title()
    text = clvlib.describe_projection(table)
    assert text.startswith("The 2025-06 cohort (366 customers)") and "by month 24" in text


def _errors(check) -> tuple[float, float, float]:
    """Total error, its standard error if cohorts' errors were independent noise, and a naive projection's error
    (nothing more after the cut)."""
    t = check.table
    total = float((t["actual"] * t["customers"]).sum())
    se = float(np.sqrt(((t["error"] * t["customers"]) ** 2).sum())) / total
    naive = float((t["value_at_cut"] * t["customers"]).sum()) / total - 1
    return check.overall["error_pct"], se, naive


@pytest.mark.parametrize("truth", [False, True])
def test_cut_history_error_is_small_on_a_store_where_the_model_is_right(truth):
    # Ten years of a BG/NBD + Gamma-Gamma store (300 customers, alpha 250 days, Gamma-Gamma p 4, q 3, mean 70);
    # cohorts are a few customers each, so a cohort's error is mostly chance, and the test is on the total: within
    # three standard errors of 0 (a bias shared by the cohorts would not be), and far below the naive error.
    orders = simulate_store("long_history", seed=0)
    model = _pair({"r": 0.8, "alpha": 250 / 7, "a": 1.0, "b": 3.0}, {"p": 4.0, "q": 3.0, "v": 35.0}) if truth else None
    check = cohort_projection_check(orders, cut="2023-06-30", model=model, margin=1.0)
    error, se, naive = _errors(check)
    assert check.overall["cohorts"] > 50 and check.overall["months"] == pytest.approx(24, abs=0.1)
    assert abs(error) < 3 * se and abs(error) < 0.3 * abs(naive)
    table = check.table
    assert np.isfinite(table.drop(columns="increment_error_pct").to_numpy(dtype=float)).all()
    # A cohort whose customers bought nothing after the cut has no relative error on its (zero) increment.
    assert table["increment_error_pct"].isna().eq(table["actual"] == table["value_at_cut"]).all()


def test_cut_history_error_on_the_demo_store(demo_orders):
    check = cohort_projection_check(demo_orders)  # cut by default 12 months before as_of, at a month end
    error, se, naive = _errors(check)
    print(check.verdict)
    assert check.overall["cut"] == "2024-06-30" and check.overall["as_of"] == "2025-06-30"
    assert check.overall["model"] == "BG/NBD" and check.overall["cohorts"] == 18
    # The demo store's 100 B2B accounts (18 % of revenue) buy more than a consumer model expects: the projection
    # falls short, but by far less than the naive one.
    assert -0.10 < error < 0 and abs(error) < 0.3 * abs(naive)
    assert check.verdict.startswith("Fitted on the orders up to 2024-06-30 (BG/NBD) and projected 12 months ahead")
    assert "<p>" in check._repr_html_()
    # Without them the store is the model's: the total error is noise.
    store = clvlib.load_demo_store(tables=["customers"])
    consumers = store["customers"].loc[store["customers"]["segment"] == "consumer", "customer_id"]
    check = cohort_projection_check(demo_orders[demo_orders["customer_id"].isin(consumers)], cut="2024-06-30")
    error, se, naive = _errors(check)
    assert abs(error) < 3 * se and abs(error) < 0.1 * abs(naive)


def test_without_a_model_there_is_nothing_to_project_and_the_reason_is_given():
    orders = simulate_store("tiny", seed=1)
    table = project_cohorts(orders)
    assert table.empty and table.attrs["skipped"].startswith("Skipped: the cohort projection needs a purchase model")
    assert clvlib.describe_projection(table) == table.attrs["skipped"]
    check = cohort_projection_check(orders, cut="2025-01-31")
    assert check.table.empty and check.verdict.startswith("No projection to check: at the cut (2025-01-31)")
    check = cohort_projection_check(simulate_store("one_day", seed=1))
    assert check.table.empty and check.verdict == ("No projection to check: the history (1 day) is too short to "
                                                   "cut into a period to fit on and a later one to compare with.")


def test_arguments_are_checked(tiny_orders, demo_orders):
    with pytest.raises(ValueError, match="`cut`"):
        cohort_projection_check(tiny_orders, cut="2025-01-01")
    with pytest.raises(TypeError, match="has seen the period"):
        cohort_projection_check(tiny_orders, cut="2024-02-01", model=clvlib.predict_clv(tiny_orders))
    with pytest.raises(ValueError, match="`months`"):
        project_cohorts(tiny_orders, model=_pair(CDNOW_BG, CDNOW_GG), months=-1)
    with pytest.raises(TypeError, match="`model`"):
        project_cohorts(tiny_orders, model="BG/NBD")


def test_plot_projected_payback_draws_actual_and_projected_curves_against_labelled_cac(demo_projection):
    cac = pd.Series({"email": 9.0, "paid_social": 42.0, "organic": float("nan")})
    ax = clvplots.plot_projected_payback(demo_projection, cac=cac, currency="EUR")
    dashed = [line for line in ax.get_lines() if line.get_linestyle() == "--" and len(line.get_xdata())]
    assert len(dashed) == demo_projection["cohort"].nunique()
    cac_lines = [line for line in ax.get_lines() if line.get_linestyle() == ":"]
    assert sorted(line.get_ydata()[0] for line in cac_lines) == [9.0, 42.0]
    labels = [t.get_text() for t in ax.texts]
    assert labels == ["email CAC €9", "paid_social CAC €42"]
    assert "(EUR)" in ax.get_ylabel() and "against CAC" in ax.get_title()
    assert ax.get_xlabel().startswith("Months since first order")
    _, ax = plt.subplots()
    ax = clvplots.plot_projected_payback(demo_projection, cac=25.0, ax=ax)
    assert [t.get_text() for t in ax.texts] == [r"CAC \$25"]  # escaped: no mathtext
