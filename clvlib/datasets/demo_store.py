"""The demo online store's simulation: a population with known BG/NBD and Gamma-Gamma truth, plus realistic extras.

The consumer population follows the models exactly, in continuous time:

- each consumer's purchase rate ``λ ~ Gamma(r, rate=α)`` (per day) and dropout probability ``p ~ Beta(a, b)``;
- the first order happens at acquisition; while alive, orders arrive as a Poisson process with rate ``λ``, and after
  each *repeat* order the customer drops out with probability ``p`` (Fader, Hardie & Lee 2005, assumptions i-v);
- every order's value ``z ~ Gamma(p_gg, rate=ν)`` with ``ν ~ Gamma(q, rate=γ)`` per customer (Fader, Hardie &
  Lee 2005b).

Acquisition channel and first product category are drawn *after* the latent traits, with probabilities that depend
on them (a multinomial logit of the standardised traits): channels and categories then differ in customer value while
the pooled population is still exactly the model's. The B2B accounts and every noise row (cancelled, refunded,
pending, guest, test and EUR orders) are added on top and are removed by the cleaning, so cleaned consumer orders
still follow the truth. Partial refunds are the one exception: they lower a few orders' net revenue.

Every random draw comes from one ``numpy.random.Generator`` in a fixed order, so a seed gives identical tables.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

START = pd.Timestamp("2023-01-01")
END = pd.Timestamp("2025-07-01")  # exclusive: the last simulated day is 2025-06-30
N_CONSUMERS = 10_000
N_B2B = 100

# True parameters of the consumer population, per DAY. alpha is a time scale (λ ~ Gamma(r, rate=alpha)), so in
# weeks it is alpha / 7 and in months alpha / 30.4375; the other parameters carry no unit.
TRUE_BGNBD = {"r": 0.6, "alpha": 85.0, "a": 0.8, "b": 2.6}
TRUE_GAMMA_GAMMA = {"p": 4.0, "q": 3.0, "v": 35.0}

CHANNELS = ("organic_search", "paid_social", "email", "referral", "marketplace")
# Logit of each channel: base, growth over the period, and effects of the standardised latent traits
# (log purchase rate, logit dropout, log expected order value). Organic search is the reference.
_CHANNEL_LOGIT = {  # base, trend, z_lambda, z_dropout, z_value
    "organic_search": (0.0, 0.0, 0.0, 0.0, 0.0),
    "paid_social": (-0.4, 1.0, -0.6, 0.5, -0.3),
    "email": (-0.9, 0.0, 0.7, -0.4, 0.1),
    "referral": (-1.2, 0.2, 0.6, -0.5, 0.5),
    "marketplace": (-0.7, -0.3, -0.3, 0.3, -0.2),
}
# Acquisition cost per new customer (USD); organic search only pays for a little content.
CAC = {"organic_search": 4.0, "paid_social": 42.0, "email": 9.0, "referral": 25.0, "marketplace": 18.0}

MARGINS = {"apparel": 0.50, "accessories": 0.60, "electronics": 0.20, "home": 0.45, "subscriptions": 0.70}
_PRODUCT_LOGIT = {  # base, z_lambda, z_dropout, z_value
    "apparel": (0.3, 0.0, 0.0, 0.0),
    "accessories": (0.1, -0.1, 0.1, -0.6),
    "electronics": (-0.4, -0.4, 0.2, 0.8),
    "home": (-0.3, 0.0, 0.0, 0.3),
    "subscriptions": (-0.9, 0.9, -0.7, -0.2),
}
_SAME_PRODUCT = 0.6  # chance that a later order's first line is the customer's first category again

# Noise rows added outside the model (counts are fixed, so the README can state them exactly).
N_CANCELLED = 420
N_REFUNDED = 310
N_PENDING = 18
N_PARTIAL = 240  # real orders turned into partial refunds
N_GUEST = 650
N_TEST = 7
N_EUR = 35
N_PROSPECT_NEWSLETTER = 3_000
N_PROSPECT_CART = 1_500
N_CUSTOMER_CARTS = 2_500


def _days(stamp: pd.Timestamp) -> float:
    return (stamp - START) / pd.Timedelta(days=1)


def _softmax_choice(rng: np.random.Generator, logits: np.ndarray, labels) -> np.ndarray:
    """One label per row, drawn with probabilities softmax(logits) (inverse CDF on one uniform per row)."""
    prob = np.exp(logits - logits.max(axis=1, keepdims=True))
    cum = np.cumsum(prob / prob.sum(axis=1, keepdims=True), axis=1)
    pick = (rng.random(len(logits))[:, None] > cum).sum(axis=1)
    return np.asarray(labels, dtype=object)[np.minimum(pick, len(labels) - 1)]


def _standardised_traits(lam, drop, nu) -> np.ndarray:
    """z-scores of log λ, logit p and log E[z] using the *population* moments, not the sample's."""
    from scipy.special import digamma, polygamma  # here: loading the bundled data must not import scipy

    r, alpha, a, b = (TRUE_BGNBD[k] for k in "r alpha a b".split())
    q, v = TRUE_GAMMA_GAMMA["q"], TRUE_GAMMA_GAMMA["v"]
    z_lam = (np.log(lam) - (digamma(r) - np.log(alpha))) / np.sqrt(polygamma(1, r))
    z_drop = (np.log(drop) - np.log1p(-drop) - (digamma(a) - digamma(b))) / np.sqrt(polygamma(1, a) + polygamma(1, b))
    z_val = (-np.log(nu) - (np.log(v) - digamma(q))) / np.sqrt(polygamma(1, q))
    return np.column_stack([z_lam, z_drop, z_val])


def _acquisition_times(rng: np.random.Generator, n: int) -> np.ndarray:
    """Days since START: a growing store with a holiday-season peak."""
    horizon = int(_days(END))
    day = np.arange(horizon)
    dates = START + pd.to_timedelta(day, unit="D")
    weight = (1.0 + 0.8 * day / horizon) * np.where((dates.month == 12) | ((dates.month == 11) & (dates.day >= 20)),
                                                     1.6, 1.0)
    chosen = rng.choice(horizon, size=n, p=weight / weight.sum())
    return np.sort(chosen + rng.random(n))


def _repeat_purchases(rng: np.random.Generator, lam, drop, horizon) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """BG/NBD repeat purchase times (days after the first order) for each customer, one vectorised round per order.

    Returns (customer index, time since first order) of every repeat order and each customer's dropout time (inf
    when still alive at the end).
    """
    n = len(lam)
    who, when = [], []
    clock = np.zeros(n)
    dropout = np.full(n, np.inf)
    active = np.arange(n)
    while active.size:
        clock[active] += rng.exponential(1.0 / lam[active])
        active = active[clock[active] < horizon[active]]
        who.append(active)
        when.append(clock[active].copy())
        dies = rng.random(active.size) < drop[active]
        dropout[active[dies]] = clock[active[dies]]
        active = active[~dies]
    return np.concatenate(who), np.concatenate(when), dropout


def _population(rng: np.random.Generator) -> pd.DataFrame:
    """Consumers then B2B accounts: acquisition time, latent traits, channel, first category."""
    n = N_CONSUMERS
    lam = rng.gamma(TRUE_BGNBD["r"], 1.0 / TRUE_BGNBD["alpha"], n)
    drop = rng.beta(TRUE_BGNBD["a"], TRUE_BGNBD["b"], n)
    nu = rng.gamma(TRUE_GAMMA_GAMMA["q"], 1.0 / TRUE_GAMMA_GAMMA["v"], n)
    acquired = _acquisition_times(rng, n)
    trend = acquired / _days(END)
    z = _standardised_traits(lam, drop, nu)
    logits = np.array([c[0] + c[1] * trend + z @ np.array(c[2:]) for c in _CHANNEL_LOGIT.values()]).T
    channel = _softmax_choice(rng, logits, CHANNELS)
    logits = np.array([c[0] + z @ np.array(c[1:]) for c in _PRODUCT_LOGIT.values()]).T
    product = _softmax_choice(rng, logits, list(MARGINS))
    consumers = pd.DataFrame({
        "acquired": acquired, "lam": lam, "drop": drop, "nu": nu, "channel": channel, "product": product,
        "segment": "consumer",
    })
    # B2B accounts: frequent buyers of large orders; outside the consumer truth.
    m = N_B2B
    b2b = pd.DataFrame({
        "acquired": np.sort(rng.uniform(0, _days(END) - 60, m)),
        "lam": rng.gamma(4.0, 0.01 / 4.0, m),
        "drop": rng.beta(1.0, 40.0, m),
        "nu": np.nan,
        "channel": np.where(rng.random(m) < 0.6, "organic_search", "referral"),
        "product": np.where(rng.random(m) < 0.5, "electronics", np.where(rng.random(m) < 0.5, "home", "accessories")),
        "segment": "b2b",
    })
    people = pd.concat([consumers, b2b], ignore_index=True).sort_values("acquired", kind="stable", ignore_index=True)
    people.insert(0, "customer_id", [f"C{i:05d}" for i in range(1, len(people) + 1)])
    people["email"] = [f"customer{i:05d}@example.com" for i in range(1, len(people) + 1)]
    return people


def _real_orders(rng: np.random.Generator, people: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """First and repeat orders of every customer, with values, categories, quantities and costs."""
    horizon = _days(END) - people["acquired"].to_numpy()
    who, since_first, dropout = _repeat_purchases(rng, people["lam"].to_numpy(), people["drop"].to_numpy(), horizon)
    idx = np.concatenate([np.arange(len(people)), who])
    time = people["acquired"].to_numpy()[idx] + np.concatenate([np.zeros(len(people)), since_first])
    is_b2b = (people["segment"].to_numpy() == "b2b")[idx]
    nu = people["nu"].to_numpy()[idx]
    value = np.empty(len(idx))
    value[~is_b2b] = rng.gamma(TRUE_GAMMA_GAMMA["p"], 1.0 / nu[~is_b2b])
    value[is_b2b] = rng.lognormal(np.log(600.0), 0.5, is_b2b.sum())
    first_product = people["product"].to_numpy()[idx]
    other = rng.choice(list(MARGINS), size=len(idx), p=[0.3, 0.25, 0.15, 0.2, 0.1])
    keep_first = (rng.random(len(idx)) < _SAME_PRODUCT) | (np.arange(len(idx)) < len(people))
    product = np.where(keep_first, first_product, other)
    quantity = np.where(is_b2b, 10 + rng.poisson(value / 25.0), 1 + rng.poisson(np.maximum(value / 45.0 - 0.8, 0.1)))
    orders = pd.DataFrame({
        "person": idx, "time": time, "status": "paid", "revenue": np.maximum(np.round(value, 2), 0.01),
        "refunded": 0.0, "currency": "USD", "product": product, "quantity": quantity, "is_test": False,
    })
    return orders, dropout


def _noise_orders(rng: np.random.Generator, people: pd.DataFrame, real: pd.DataFrame) -> pd.DataFrame:
    """Rows the cleaning must remove or adjust: cancelled, refunded, pending, guest, test and EUR orders."""
    end = _days(END)
    consumer_rows = np.flatnonzero((people["segment"].to_numpy() == "consumer")[real["person"].to_numpy()])
    frames = []

    def like_real(n: int, status: str, jitter: float, **extra) -> pd.DataFrame:
        # An order by a customer who really buys, near one of their real orders, with their usual value.
        base = real.iloc[np.sort(rng.choice(consumer_rows, n, replace=False))]
        acquired = people["acquired"].to_numpy()[base["person"].to_numpy()]
        time = np.clip(base["time"].to_numpy() + rng.uniform(-jitter, jitter, n), acquired, end - 1e-4)
        nu = people["nu"].to_numpy()[base["person"].to_numpy()]
        revenue = np.maximum(np.round(rng.gamma(TRUE_GAMMA_GAMMA["p"], 1.0 / nu), 2), 0.01)
        return base.assign(time=time, status=status, revenue=revenue, **extra)

    frames.append(like_real(N_CANCELLED, "cancelled", 2.0))
    refunded = like_real(N_REFUNDED, "refunded", 3.0)
    frames.append(refunded.assign(refunded=refunded["revenue"]))
    frames.append(like_real(N_EUR, "paid", 5.0, currency="EUR"))
    # Pending: payment not yet captured in the last three days.
    pending = like_real(N_PENDING, "pending", 0.0)
    frames.append(pending.assign(time=end - rng.uniform(1e-3, 3.0, N_PENDING)))
    # Guests: no account, so no customer id or email; values from the consumer distribution.
    nu = rng.gamma(TRUE_GAMMA_GAMMA["q"], 1.0 / TRUE_GAMMA_GAMMA["v"], N_GUEST)
    value = np.maximum(np.round(rng.gamma(TRUE_GAMMA_GAMMA["p"], 1.0 / nu), 2), 0.01)
    frames.append(pd.DataFrame({
        "person": -1, "time": rng.uniform(0, end, N_GUEST), "status": "paid", "revenue": value, "refunded": 0.0,
        "currency": "USD", "product": rng.choice(list(MARGINS), N_GUEST), "quantity": 1 + rng.poisson(0.4, N_GUEST),
        "is_test": False, "channel": rng.choice(CHANNELS, N_GUEST),
    }))
    frames.append(pd.DataFrame({
        "person": -2, "time": np.sort(rng.uniform(0, 30, N_TEST)), "status": "paid",
        "revenue": np.round(rng.choice([0.01, 1.0, 9.99], N_TEST), 2), "refunded": 0.0, "currency": "USD",
        "product": "accessories", "quantity": 1, "is_test": True, "channel": "organic_search",
    }))
    return pd.concat(frames, ignore_index=True)


def _partial_refunds(rng: np.random.Generator, people: pd.DataFrame, real: pd.DataFrame) -> pd.DataFrame:
    """Turn a few real consumer orders into partial refunds (a fraction of the order returned)."""
    consumer_rows = np.flatnonzero((people["segment"].to_numpy() == "consumer")[real["person"].to_numpy()])
    rows = np.sort(rng.choice(consumer_rows, N_PARTIAL, replace=False))
    revenue = real["revenue"].to_numpy().copy()
    share = rng.uniform(0.1, 0.5, N_PARTIAL)
    refunded = real["refunded"].to_numpy().copy()
    refunded[rows] = np.maximum(np.round(revenue[rows] * share, 2), 0.01)
    status = real["status"].to_numpy().copy()
    status[rows] = "partially_refunded"
    return real.assign(status=status, refunded=refunded)


def _stamp(days: np.ndarray) -> pd.Series:
    """Days since START as store-local timestamps, truncated to the second."""
    return pd.Series(START + pd.to_timedelta(np.floor(np.asarray(days) * 86_400).astype(np.int64), unit="s"))


def _orders_table(rng: np.random.Generator, people: pd.DataFrame, real: pd.DataFrame,
                  noise: pd.DataFrame) -> pd.DataFrame:
    rows = pd.concat([real, noise], ignore_index=True).sort_values("time", kind="stable", ignore_index=True)
    person = rows["person"].to_numpy()
    known = person >= 0
    ids = np.full(len(rows), None, dtype=object)
    emails = np.full(len(rows), None, dtype=object)
    ids[known] = people["customer_id"].to_numpy()[person[known]]
    emails[known] = people["email"].to_numpy()[person[known]]
    ids[person == -2], emails[person == -2] = "TEST", "qa@example.com"
    channel = rows["channel"].to_numpy(dtype=object, na_value=None)  # set for guest and test rows only
    channel[known] = people["channel"].to_numpy()[person[known]]
    margin = rows["product"].map(MARGINS).to_numpy(dtype=float)
    cost = np.round(rows["revenue"].to_numpy() * (1 - margin) * rng.lognormal(0.0, 0.08, len(rows)), 2)
    return pd.DataFrame({
        "order_id": [f"{100_001 + i}" for i in range(len(rows))],
        "customer_id": pd.array(ids, dtype="str"),
        "email": pd.array(emails, dtype="str"),
        "order_date": _stamp(rows["time"]),
        "status": rows["status"].astype("str"),
        "revenue": rows["revenue"].to_numpy(dtype=float),
        "refunded": rows["refunded"].to_numpy(dtype=float),
        "cost": cost,
        "currency": rows["currency"].astype("str"),
        "channel": pd.array(channel, dtype="str"),
        "product": rows["product"].astype("str"),
        "quantity": rows["quantity"].to_numpy(dtype=np.int64),
        "is_test": rows["is_test"].to_numpy(dtype=bool),
    })


def _marketing_spend(rng: np.random.Generator, people: pd.DataFrame) -> pd.DataFrame:
    """Monthly spend per channel: each channel's CAC times its new consumers, with month-to-month noise."""
    consumers = people[people["segment"] == "consumer"]
    month = _stamp(consumers["acquired"]).dt.strftime("%Y-%m").to_numpy()
    months = pd.period_range(START, END - pd.Timedelta(days=1), freq="M").strftime("%Y-%m")
    counts = pd.crosstab(month, consumers["channel"].to_numpy()).reindex(index=months, columns=list(CHANNELS),
                                                                         fill_value=0)
    spend = counts * pd.Series(CAC) * rng.lognormal(0.0, 0.12, counts.shape)
    table = spend.round(2).rename_axis(index="month", columns="channel").stack().rename("spend").reset_index()
    return table.astype({"month": "str", "channel": "str"})


def _events(rng: np.random.Generator, people: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """Newsletter sign-ups and abandoned carts, of customers and of prospects who never bought."""
    end = _days(END)
    n = len(people)
    acquired = people["acquired"].to_numpy()
    z_lam = _standardised_traits(people["lam"].to_numpy(), people["drop"].to_numpy(),
                                 people["nu"].fillna(TRUE_GAMMA_GAMMA["v"]).to_numpy())[:, 0]
    newsletter = rng.random(n) < 1 / (1 + np.exp(0.8 - 0.5 * np.nan_to_num(z_lam)))
    # Subscribers sign up within 60 days before to 30 days after their first order (never before the store opened).
    earliest = np.maximum(acquired - 60.0, 0.0)
    signup = np.minimum(earliest + rng.random(n) * (acquired + 30.0 - earliest), end - 1e-4)[newsletter]
    carts = np.sort(rng.choice(n, N_CUSTOMER_CARTS))
    cart_time = acquired[carts] + rng.uniform(0, 1, N_CUSTOMER_CARTS) * (end - acquired[carts])
    prospects = [f"prospect{i:05d}@example.org" for i in range(1, N_PROSPECT_NEWSLETTER + N_PROSPECT_CART // 2 + 1)]
    subscribers = prospects[:N_PROSPECT_NEWSLETTER]
    # Half of the cart-abandoning prospects are also subscribers; the other half are new names.
    cart_people = subscribers[-(N_PROSPECT_CART - N_PROSPECT_CART // 2):] + prospects[N_PROSPECT_NEWSLETTER:]
    ids, emails = people["customer_id"].to_numpy(), people["email"].to_numpy()
    parts = [
        pd.DataFrame({"customer_id": ids[newsletter], "email": emails[newsletter], "event": "newsletter_signup",
                      "time": signup}),
        pd.DataFrame({"customer_id": ids[carts], "email": emails[carts], "event": "abandoned_cart", "time": cart_time}),
        pd.DataFrame({"customer_id": None, "email": subscribers, "event": "newsletter_signup",
                      "time": rng.uniform(0, end - 1e-4, len(subscribers))}),
        pd.DataFrame({"customer_id": None, "email": cart_people, "event": "abandoned_cart",
                      "time": rng.uniform(0, end - 1e-4, len(cart_people))}),
    ]
    events = pd.concat(parts, ignore_index=True)
    is_cart = events["event"].to_numpy() == "abandoned_cart"
    cart_value = np.where(is_cart, np.round(rng.gamma(2.5, 30.0, len(events)), 2), np.nan)
    events = events.assign(cart_value=cart_value).sort_values("time", kind="stable", ignore_index=True)
    return pd.DataFrame({
        "customer_id": pd.array(events["customer_id"].to_numpy(dtype=object), dtype="str"),
        "email": events["email"].astype("str"),
        "event": events["event"].astype("str"),
        "event_date": _stamp(events["time"]),
        "cart_value": events["cart_value"],
    }), newsletter


def simulate(seed: int) -> dict[str, pd.DataFrame]:
    """All demo-store tables for one seed: orders, customers, marketing_spend, events and truth."""
    rng = np.random.default_rng(seed)
    people = _population(rng)
    real, dropout = _real_orders(rng, people)
    real = _partial_refunds(rng, people, real)
    noise = _noise_orders(rng, people, real)
    orders = _orders_table(rng, people, real, noise)
    spend = _marketing_spend(rng, people)
    events, newsletter = _events(rng, people)
    customers = pd.DataFrame({
        "customer_id": people["customer_id"].astype("str"),
        "email": people["email"].astype("str"),
        "signup_date": _stamp(people["acquired"]).dt.normalize(),
        "channel": people["channel"].astype("str"),
        "segment": people["segment"].astype("str"),
        "newsletter": newsletter,
    })
    dropped = np.isfinite(dropout)
    truth = pd.DataFrame({
        "customer_id": people["customer_id"].astype("str"),
        "segment": people["segment"].astype("str"),
        "lambda_per_day": people["lam"].to_numpy(),
        "p_dropout": people["drop"].to_numpy(),
        "nu": people["nu"].to_numpy(),
        "expected_order_value": TRUE_GAMMA_GAMMA["p"] / people["nu"].to_numpy(),
        "first_order": _stamp(people["acquired"]),
        "dropout_date": _stamp(people["acquired"].to_numpy() + np.where(dropped, dropout, 0.0)).where(dropped),
        "alive_at_end": ~dropped,
    })
    return {"orders": orders, "customers": customers, "marketing_spend": spend, "events": events, "truth": truth}


# File name and the timestamp format of each table as written to data/demo_store/.
FILES = {
    "orders": ("orders.csv", "%Y-%m-%d %H:%M:%S"),
    "customers": ("customers.csv", "%Y-%m-%d"),
    "marketing_spend": ("marketing_spend.csv", None),
    "events": ("events.csv", "%Y-%m-%d %H:%M:%S"),
    "truth": ("truth.csv", "%Y-%m-%d %H:%M:%S"),
}


def csv_text(name: str, frame: pd.DataFrame) -> str:
    """A table as the exact text of its committed CSV file (booleans as true/false, 10 significant digits)."""
    booleans = {c: frame[c].map({True: "true", False: "false"}) for c in frame.columns if frame[c].dtype == bool}
    return frame.assign(**booleans).to_csv(
        index=False, lineterminator="\n", float_format="%.10g", date_format=FILES[name][1],
    )
