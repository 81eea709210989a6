"""The bundled data: the demo store's determinism, its committed files and README, its truth, and the loaders.

Counts and sums are recomputed from the raw CSV files with plain pandas; the model checks use closed forms from the
papers, not the kit's own models.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.special import hyp2f1

import clvlib
from clvlib.datasets import demo_store as _demo_store
from clvlib.config import DATA_DIR, DAYS_PER_UNIT
from clvlib.datasets import DEMO_STORE_DIR, DEMO_STORE_SEED, demo_store_true_params, make_demo_store

README = (DEMO_STORE_DIR / "README.md").read_text(encoding="utf-8")
END = pd.Timestamp("2025-07-01")


def _number(text: str) -> float:
    return float(text.replace(",", "").replace("$", ""))


def _readme_table(first_header: str) -> list[list[str]]:
    """The rows of the README's markdown table whose first header cell is ``first_header``."""
    lines = README.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"| {first_header} |"))
    rows = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return rows


@pytest.fixture(scope="module")
def store() -> dict[str, pd.DataFrame]:
    return make_demo_store(seed=DEMO_STORE_SEED)


@pytest.fixture(scope="module")
def raw() -> dict[str, pd.DataFrame]:
    """The committed CSV files read with plain pandas (no clvlib code)."""
    return {name: pd.read_csv(DEMO_STORE_DIR / file, dtype={"customer_id": "str", "order_id": "str"},
                              keep_default_na=True)
            for name, (file, _) in _demo_store.FILES.items()}


@pytest.fixture(scope="module")
def consumer_orders(raw) -> pd.DataFrame:
    """Real consumer purchases, selected by hand from the raw export."""
    orders, customers = raw["orders"], raw["customers"]
    consumers = customers.loc[customers["segment"] == "consumer", "customer_id"]
    real = (orders["status"].isin(["paid", "partially_refunded"]) & ~orders["is_test"]
            & (orders["currency"] == "USD") & orders["customer_id"].isin(consumers))
    return orders[real].assign(order_date=lambda d: pd.to_datetime(d["order_date"]))


# --- determinism and the committed files ------------------------------------------------------------------------

def test_same_seed_gives_identical_tables_and_another_seed_differs():
    first, again, other = make_demo_store(seed=7), make_demo_store(seed=7), make_demo_store(seed=8)
    for name in first:
        pd.testing.assert_frame_equal(first[name], again[name])
    assert len(first["orders"]) != len(other["orders"]) or not first["orders"]["revenue"].equals(
        other["orders"]["revenue"])
    assert not first["truth"]["lambda_per_day"].equals(other["truth"]["lambda_per_day"])


def test_committed_files_equal_the_simulation_at_the_readme_seed(store):
    seed = int(re.search(r"\*\*Seed\*\*: `(\d+)`", README).group(1))
    assert seed == DEMO_STORE_SEED
    for name, frame in store.items():
        path = DEMO_STORE_DIR / _demo_store.FILES[name][0]
        assert path.read_bytes() == _demo_store.csv_text(name, frame).encode("utf-8"), f"{path.name} drifted"


def test_files_are_small_enough_to_commit():
    total = sum(p.stat().st_size for p in DEMO_STORE_DIR.glob("*.csv"))
    assert total < 10 * 1024 * 1024
    assert {p.name for p in DEMO_STORE_DIR.glob("*.csv")} == {f for f, _ in _demo_store.FILES.values()}


def test_the_store_spans_the_stated_period_and_size(raw):
    dates = pd.to_datetime(raw["orders"]["order_date"])
    assert dates.min() >= pd.Timestamp("2023-01-01") and dates.max() < END
    assert raw["customers"]["segment"].value_counts().to_dict() == {"consumer": 10_000, "b2b": 100}
    # Customers arrive through the whole period, so there are monthly cohorts to compare.
    cohorts = pd.to_datetime(raw["customers"]["signup_date"]).dt.to_period("M").nunique()
    assert cohorts == 30


# --- the README's counts -------------------------------------------------------------------------------------------

def test_readme_row_counts_match_the_files(raw):
    orders, customers = raw["orders"], raw["customers"]
    segment = orders["customer_id"].map(customers.set_index("customer_id")["segment"])
    clean = orders["status"].isin(["paid", "partially_refunded"]) & ~orders["is_test"] & (orders["currency"] == "USD")
    expected = {
        "consumer orders": (clean & (segment == "consumer")).sum(),
        "B2B orders": (clean & (segment == "b2b")).sum(),
        "guest orders": (clean & orders["customer_id"].isna() & orders["email"].isna()).sum(),
        "partially refunded": ((orders["status"] == "partially_refunded") & (orders["refunded"] > 0)).sum(),
        "cancelled": (orders["status"] == "cancelled").sum(),
        "fully refunded": ((orders["status"] == "refunded") & (orders["refunded"] == orders["revenue"])).sum(),
        "pending": (orders["status"] == "pending").sum(),
        "test orders": orders["is_test"].sum(),
        "other currency": (orders["currency"] == "EUR").sum(),
    }
    stated = {row[0]: int(_number(row[1])) for row in _readme_table("kind")}
    assert stated == expected
    # The noise kinds do not overlap, so each row is excluded for exactly one reason.
    excluded = orders["status"].isin(["cancelled", "refunded", "pending"]) | orders["is_test"] | (
        orders["currency"] != "USD")
    assert excluded.sum() == sum(expected[k] for k in ("cancelled", "fully refunded", "pending", "test orders",
                                                       "other currency"))
    assert f"`orders.csv` has {len(orders):,} rows" in README


def test_readme_true_parameters_match_the_generator_in_every_unit():
    rows = _readme_table("model")
    for column, unit in ((2, "D"), (3, "W"), (4, "M")):
        stated = {row[1].split(" ")[0].strip("()`"): _number(row[column].split(" ")[0]) for row in rows}
        stated = {{"α": "alpha", "γ": "v"}.get(k, k): v for k, v in stated.items()}
        truth = demo_store_true_params(time_unit=unit)
        assert stated == pytest.approx(truth.to_dict(), rel=1e-6)


def test_true_params_reject_an_unknown_time_unit():
    with pytest.raises(ValueError, match=r"The value for `time_unit` must be one of \['D', 'W', 'M'\], but 'Y'"):
        demo_store_true_params(time_unit="Y")


# --- the truth ------------------------------------------------------------------------------------------------------

def test_latent_traits_follow_the_stated_distributions(raw):
    truth = raw["truth"][raw["truth"]["segment"] == "consumer"]
    params = demo_store_true_params(time_unit="D")
    checks = [
        (truth["lambda_per_day"], stats.gamma(params["r"], scale=1 / params["alpha"])),
        (truth["p_dropout"], stats.beta(params["a"], params["b"])),
        (truth["nu"], stats.gamma(params["q"], scale=1 / params["v"])),
    ]
    for values, dist in checks:
        assert stats.kstest(values, dist.cdf).pvalue > 1e-3


def test_repeat_purchases_match_the_bgnbd_expectation(consumer_orders):
    # E[X(t)] of Fader, Hardie & Lee (2005), eq. (9), at each consumer's own observation length t = T.
    per_customer = consumer_orders.groupby("customer_id")["order_date"].agg(["size", "min"])
    x = per_customer["size"].to_numpy() - 1
    t = ((END - per_customer["min"]).dt.total_seconds() / 86_400).to_numpy()
    r, alpha, a, b = demo_store_true_params(time_unit="D")[["r", "alpha", "a", "b"]]
    expected = (a + b - 1) / (a - 1) * (1 - (alpha / (alpha + t)) ** r * hyp2f1(r, b, a + b - 1, t / (alpha + t)))
    standard_error = x.std(ddof=1) / np.sqrt(len(x))
    # The same expectation with the weekly parameters and t in weeks: the time unit must not change the prediction.
    weekly = demo_store_true_params(time_unit="W")
    tw = t / DAYS_PER_UNIT["W"]
    in_weeks = (a + b - 1) / (a - 1) * (
        1 - (weekly["alpha"] / (weekly["alpha"] + tw)) ** r * hyp2f1(r, b, a + b - 1, tw / (weekly["alpha"] + tw)))
    np.testing.assert_allclose(in_weeks, expected, rtol=1e-9)
    assert abs(x.mean() - expected.mean()) < 4 * standard_error
    assert 0.3 < (x == 0).mean() < 0.6  # a substantial share of one-time buyers


def test_order_values_match_the_gamma_gamma_mean(consumer_orders):
    # Each consumer's first order is one independent draw from the Gamma-Gamma marginal, mean p·γ/(q − 1).
    first = consumer_orders.sort_values("order_date").groupby("customer_id")["revenue"].first()
    p, q, v = demo_store_true_params()[["p", "q", "v"]]
    assert abs(first.mean() - p * v / (q - 1)) < 4 * first.std(ddof=1) / np.sqrt(len(first))


def test_channels_and_first_products_differ_in_customer_quality(raw):
    truth = raw["truth"].merge(raw["customers"][["customer_id", "channel"]], on="customer_id")
    truth = truth[truth["segment"] == "consumer"]
    rate = truth.groupby("channel")["lambda_per_day"].mean()
    assert rate["referral"] > rate["organic_search"] > rate["paid_social"]
    assert rate["email"] > rate["marketplace"]
    orders = raw["orders"][raw["orders"]["customer_id"].isin(truth["customer_id"])]
    first_product = orders.groupby("customer_id")["product"].first()  # the file is in time order
    by_product = truth.set_index("customer_id").groupby(first_product)[["lambda_per_day", "expected_order_value"]]
    means = by_product.mean()
    assert means.loc["subscriptions", "lambda_per_day"] > means.loc["electronics", "lambda_per_day"]
    assert means.loc["electronics", "expected_order_value"] > means.loc["accessories", "expected_order_value"]
    # Spend per acquired consumer is the channel's CAC, give or take the month-to-month noise.
    spend = raw["marketing_spend"].groupby("channel")["spend"].sum()
    cac = spend / truth["channel"].value_counts()
    assert cac.sort_values().index.tolist() == sorted(_demo_store.CAC, key=_demo_store.CAC.get)


def test_revenue_is_concentrated_as_in_real_stores(consumer_orders):
    net = (consumer_orders["revenue"] - consumer_orders["refunded"]).groupby(consumer_orders["customer_id"]).sum()
    ranked = np.sort(net.to_numpy())[::-1]
    top20 = ranked[: int(np.ceil(0.2 * len(ranked)))].sum() / ranked.sum()
    assert 0.55 < top20 < 0.75


def test_b2b_orders_are_much_larger_than_consumer_orders(raw, consumer_orders):
    b2b = raw["customers"].loc[raw["customers"]["segment"] == "b2b", "customer_id"]
    large = raw["orders"][raw["orders"]["customer_id"].isin(b2b)]
    assert large["revenue"].median() > 5 * consumer_orders["revenue"].median()
    assert large["quantity"].median() > 10 * consumer_orders["quantity"].median()


def test_events_include_people_who_never_bought(raw):
    events, buyers = raw["events"], set(raw["customers"]["email"])
    never = events[~events["email"].isin(buyers)]
    assert never["customer_id"].isna().all()
    assert set(never["event"]) == {"newsletter_signup", "abandoned_cart"}
    subscribed = set(events.loc[events["event"] == "newsletter_signup", "customer_id"].dropna())
    assert subscribed == set(raw["customers"].loc[raw["customers"]["newsletter"], "customer_id"])


# --- loaders through read_transactions ----------------------------------------------------------------------------

def test_load_demo_store_cleans_orders_as_the_readme_says(raw):
    loaded = clvlib.load_demo_store()
    report = loaded["orders"].attrs["cleaning"]
    stated = {row[0]: int(_number(row[1])) for row in _readme_table("kind")}
    excluded = report.excluded["rows"]
    assert excluded[excluded > 0].to_dict() == {
        "test order": stated["test orders"], "cancelled": stated["cancelled"],
        "fully refunded": stated["fully refunded"], "pending or unpaid": stated["pending"],
        "other currency": stated["other currency"],
    }
    assert report.rows_read == len(raw["orders"])
    assert report.rows_kept == stated["consumer orders"] + stated["B2B orders"] + stated["guest orders"]
    orders = raw["orders"]
    kept = orders["status"].isin(["paid", "partially_refunded"]) & ~orders["is_test"] & (orders["currency"] == "USD")
    net = (orders["revenue"] - orders["refunded"])[kept].sum()
    assert loaded["orders"]["revenue"].sum() == pytest.approx(net)
    assert loaded["orders"]["customer_id"].nunique() == len(raw["customers"])
    assert pd.api.types.is_datetime64_any_dtype(loaded["customers"]["signup_date"])
    assert pd.api.types.is_datetime64_any_dtype(loaded["events"]["event_date"])
    assert loaded["truth"]["customer_id"].tolist() == raw["truth"]["customer_id"].tolist()


def test_load_orders_defaults_to_the_demo_store_and_cuts_at_as_of(raw):
    as_of = "2024-06-30"
    orders = clvlib.load_orders(as_of=as_of)
    raw_orders = raw["orders"]
    kept = (raw_orders["status"].isin(["paid", "partially_refunded"]) & ~raw_orders["is_test"]
            & (raw_orders["currency"] == "USD"))
    before = pd.to_datetime(raw_orders["order_date"]).dt.normalize() <= pd.Timestamp(as_of)
    assert len(orders) == (kept & before).sum()
    assert orders["order_date"].max() <= pd.Timestamp(as_of)
    assert orders.attrs["cleaning"].excluded.loc["after as_of", "rows"] == (kept & ~before).sum()


def test_load_orders_reads_a_user_export_with_a_column_mapping():
    export = pd.DataFrame({"Client": ["a", "a", "b"], "Day": ["2024-01-02", "2024-02-03", "2024-01-05"],
                           "Total": [10.0, 20.0, 5.5]})
    orders = clvlib.load_orders(export, columns={"customer_id": "Client", "order_date": "Day", "revenue": "Total"})
    assert orders["revenue"].tolist() == [10.0, 5.5, 20.0]  # sorted by date
    assert orders["customer_id"].tolist() == ["a", "b", "a"]
    assert export.columns.tolist() == ["Client", "Day", "Total"]  # the caller's frame is untouched


def test_load_cdnow_reads_both_files():
    master = clvlib.load_cdnow(kind="master")
    sample = clvlib.load_cdnow(kind="sample")
    assert master["customer_id"].nunique() == 23_570
    assert sample["customer_id"].nunique() == 2_357
    raw = pd.read_csv(DATA_DIR / "cdnow" / "CDNOW_sample.txt", sep=r"\s+", header=None)
    assert sample["revenue"].sum() == pytest.approx(raw[4].sum())


def test_load_cdnow_rejects_an_unknown_kind():
    with pytest.raises(ValueError, match=r"The value for `kind` must be one of \['master', 'sample'\], but 'full'"):
        clvlib.load_cdnow(kind="full")


def test_load_demo_store_reads_only_the_tables_asked_for():
    full = clvlib.load_demo_store()
    events = clvlib.load_demo_store(tables=["events"])
    assert list(events) == ["events"]
    pd.testing.assert_frame_equal(events["events"], full["events"])
    with pytest.raises(ValueError, match=r"`tables` must be one of .*'events'.*'evnts' was passed"):
        clvlib.load_demo_store(tables=["evnts"])


@pytest.mark.parametrize("as_of", ["2023-06-30", "2024-02-15"])
def test_load_demo_store_as_of_cuts_every_dated_table(raw, as_of):
    day = pd.Timestamp(as_of)
    cut = clvlib.load_demo_store(as_of=as_of)
    # Orders: cut by the cleaning, and counted there.
    assert cut["orders"]["order_date"].max() <= day
    assert cut["orders"].attrs["cleaning"].excluded.loc["after as_of", "rows"] > 0
    # Events: by calendar day, the as_of day included.
    event_days = pd.to_datetime(raw["events"]["event_date"]).dt.normalize()
    assert len(cut["events"]) == (event_days <= day).sum()
    assert cut["events"]["event_date"].dt.normalize().max() == event_days[event_days <= day].max()
    assert cut["events"].attrs["rows_after_as_of"] == (event_days > day).sum()
    # Marketing spend: the months that start on or before as_of (the as_of month whole).
    months = raw["marketing_spend"]["month"]
    assert cut["marketing_spend"]["month"].tolist() == months[months <= day.strftime("%Y-%m")].tolist()
    assert cut["marketing_spend"].attrs == {"as_of": as_of, "rows_after_as_of": int((months > day.strftime("%Y-%m"))
                                                                                     .sum())}
    # Customers: signed up by as_of; the newsletter flag only from signups by as_of.
    signup = pd.to_datetime(raw["customers"]["signup_date"])
    assert cut["customers"]["customer_id"].tolist() == raw["customers"].loc[signup <= day, "customer_id"].tolist()
    events = raw["events"]
    subscribed = set(events.loc[(events["event"] == "newsletter_signup") & (event_days <= day), "customer_id"]
                     .dropna())
    assert cut["customers"]["newsletter"].tolist() == cut["customers"]["customer_id"].isin(subscribed).tolist()
    assert cut["customers"]["newsletter"].sum() < raw["customers"].loc[signup <= day, "newsletter"].sum()
    # Truth: customers acquired by as_of; no dropout date after it, alive_at_end means alive at as_of.
    truth = cut["truth"]
    assert len(truth) == (pd.to_datetime(raw["truth"]["first_order"]).dt.normalize() <= day).sum()
    assert truth["dropout_date"].dropna().dt.normalize().max() <= day
    assert truth["alive_at_end"].tolist() == truth["dropout_date"].isna().tolist()
    # Nothing of the uncut load changes.
    full = clvlib.load_demo_store(tables=["customers"])["customers"]
    assert full["newsletter"].tolist() == raw["customers"]["newsletter"].tolist()


def test_load_demo_store_as_of_reads_only_the_tables_asked_for():
    cut = clvlib.load_demo_store(tables=["customers"], as_of="2023-03-31")
    assert list(cut) == ["customers"]
    assert cut["customers"]["signup_date"].max() <= pd.Timestamp("2023-03-31")


def test_relative_paths_are_taken_relative_to_the_project_folder(tmp_path, monkeypatch):
    from clvlib.config import PROJ_ROOT, project_path

    monkeypatch.chdir(tmp_path)  # not the project folder: the notebooks' working folder is notebooks/
    orders = clvlib.load_orders("data/demo_store/orders.csv")
    assert len(orders) == len(clvlib.load_orders())
    assert clvlib.read_marketing_spend("data/demo_store/marketing_spend.csv").equals(clvlib.read_marketing_spend())
    assert project_path(tmp_path / "x.csv") == tmp_path / "x.csv" and project_path("x.csv") == PROJ_ROOT / "x.csv"
    assert clvlib.load_marketing_spend(data="my_orders.csv") is None  # an own export has no spend unless given
    assert clvlib.load_marketing_spend("data/demo_store/marketing_spend.csv", data="my_orders.csv").equals(
        clvlib.read_marketing_spend())
