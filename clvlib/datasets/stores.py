"""Simulated stores of the hard cases, to run the whole kit on shapes of data the demo store never has.

The bundled demo store is a well-behaved, mid-sized population. Real stores are not: nobody ever drops out, or
nearly everybody does; a few wholesalers or one B2B account dominate; a store has three months of history, or ten
years, or one day; order values are heavy-tailed with token and zero-spend orders. Each regime of
:data:`STORE_REGIMES` simulates one of those cases as a small store (at most about 1,500 orders), so a full report
runs in seconds and a test battery can run the kit on every one of them.

:func:`simulate_store` gives the canonical orders; :func:`write_store` writes them as a file in one of the export
layouts :func:`clvlib.read_transactions` reads (generic CSV, Shopify, WooCommerce, UCI Online Retail), with a
``marketing_spend.csv`` beside it (:func:`simulate_marketing_spend`). Every layout reads back to the same revenue
per customer, to the cent.

Every draw comes from one ``numpy.random.Generator`` per call, seeded from the seed and the regime, in a fixed
order: a seed gives identical tables, and nothing depends on today's date.
"""

from __future__ import annotations

from pathlib import Path
from types import MappingProxyType

import numpy as np
import pandas as pd

from .._validation import check_argument

__all__ = ["STORE_REGIMES", "STORE_LAYOUTS", "STORE_END", "STORE_CHANNELS", "STORE_PRODUCTS", "simulate_store",
           "simulate_marketing_spend", "write_store", "store_email", "LAYOUT_EXTRAS"]

#: Regime name → what the simulated store looks like, in the order a test battery runs them.
STORE_REGIMES = MappingProxyType({
    "no_dropout": "No customer ever drops out: everyone keeps buying at their own (heterogeneous) Poisson rate.",
    "all_dropout": "Everyone drops out after their first order, except a handful of repeat buyers.",
    "wholesalers": "Two dozen wholesale customers ordering about weekly for a year with large orders, plus some "
                   "retail customers.",
    "one_time": "95 % of customers buy once; the other 5 % come back one to four times.",
    "short_history": "Three months of history (92 days, first to last order).",
    "long_history": "Ten years of history with cohorts over the whole decade, and still only a few hundred "
                    "customers.",
    "one_day": "All orders on one day: every customer has one purchase day, some with several orders on it.",
    "heavy_tail": "Log-normal order values with a large sigma, and repeat purchases of token amounts (0.01) or "
                  "nothing at all (0.00 orders, which the cleaning excludes).",
    "single_b2b": "A small retail store plus one B2B account ordering every week or so with huge orders, bringing "
                  "40 % of revenue.",
    "tiny": "30 customers in all.",
})

#: File layouts :func:`write_store` writes, with the data file's name.
STORE_LAYOUTS = MappingProxyType({
    "generic": "orders.csv",
    "shopify": "orders_export.csv",
    "woocommerce": "woocommerce_orders.csv",
    "stripe": "unified_payments.csv",
    "online_retail": "online_retail.csv",
})

#: Rows a layout adds that are not purchases, by the reason :func:`clvlib.read_transactions` gives them: the
#: test orders of the WooCommerce layout (one per marker: note, address, name) and the Stripe layout's failed,
#: uncaptured and test-mode charges. The ``stripe`` counts are per store (see :func:`write_store`).
LAYOUT_EXTRAS = MappingProxyType({
    "woocommerce": {"test order": 3},
    "stripe": {"test order": 2, "pending or unpaid": None},  # None: 1 uncaptured + ~4 % of orders failed first
})

#: The last day of every simulated store unless ``as_of`` says otherwise.
STORE_END = pd.Timestamp("2025-06-30")
STORE_CHANNELS = ("organic", "paid_search", "paid_social", "email")
STORE_PRODUCTS = ("apparel", "accessories", "home", "beauty", "electronics")

_CHANNEL_WEIGHTS = (0.4, 0.25, 0.2, 0.15)
_PRODUCT_WEIGHTS = (0.3, 0.25, 0.2, 0.15, 0.1)
_SAME_PRODUCT = 0.6  # chance that a later order's first line is the customer's first category again
# Acquisition cost per new customer, by channel (organic only pays for a little content).
_CAC = {"organic": 3.0, "paid_search": 28.0, "paid_social": 35.0, "email": 6.0}
# Paid channels run campaigns every month, even months in which they bring no one.
_BASE_SPEND = {"organic": 0.0, "paid_search": 40.0, "paid_social": 60.0, "email": 10.0}


# -- populations ---------------------------------------------------------------------------------------------------

def _people(rng: np.random.Generator, acquired: np.ndarray, *, channel_p=_CHANNEL_WEIGHTS,
            product_p=_PRODUCT_WEIGHTS) -> pd.DataFrame:
    return pd.DataFrame({
        "acquired": acquired,
        "channel": rng.choice(STORE_CHANNELS, len(acquired), p=channel_p),
        "product": rng.choice(STORE_PRODUCTS, len(acquired), p=product_p),
    })


def _acquisitions(rng: np.random.Generator, n: int, horizon: float, growth: float = 0.0) -> np.ndarray:
    """Acquisition times (days since the store's first day) of a store growing linearly by ``growth`` over the
    history: density ∝ 1 + growth·t/horizon, drawn by inverting its CDF."""
    u = rng.random(n)
    if growth == 0.0:
        t = u * horizon
    else:
        # CDF(x) = (x + growth·x²/2) / (1 + growth/2) on x = t/horizon in [0, 1].
        c = 1.0 + growth / 2.0
        t = horizon * (-1.0 + np.sqrt(1.0 + 2.0 * growth * u * c)) / growth
    return np.sort(t)


def _repeats(rng: np.random.Generator, acquired: np.ndarray, lam: np.ndarray, drop: np.ndarray, horizon: float,
             cap: int) -> tuple[np.ndarray, np.ndarray]:
    """BG/NBD repeat orders (customer index, time) until dropout or the end; at most ``cap`` per customer.

    One vectorised round per repeat order, as in the demo store: after each repeat a customer drops out with
    probability ``drop``. ``cap`` keeps the store small when a rate draw is extreme.
    """
    who, when = [], []
    clock = acquired.astype(float).copy()
    active = np.flatnonzero(lam > 0)
    for _ in range(cap):
        if not active.size:
            break
        clock[active] += rng.exponential(1.0 / lam[active])
        active = active[clock[active] < horizon]
        who.append(active)
        when.append(clock[active].copy())
        active = active[rng.random(active.size) >= drop[active]]
    if not who:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    return np.concatenate(who), np.concatenate(when)


def _gamma_gamma(rng: np.random.Generator, n_people: int, person: np.ndarray, mean: float) -> np.ndarray:
    """Order values with the Gamma-Gamma structure (p=4, q=3), scaled so that the population mean is ``mean``."""
    p, q = 4.0, 3.0
    gamma = mean * (q - 1.0) / p
    nu = rng.gamma(q, 1.0 / gamma, n_people)
    return rng.gamma(p, 1.0 / nu[person])


def _consumers(rng: np.random.Generator, n: int, horizon: float, *, r: float, alpha: float, a: float, b: float,
               mean_value: float, cap: int = 25, growth: float = 0.5, drop_zero: bool = False
               ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A BG/NBD + Gamma-Gamma retail population: (people, orders with person, time, value)."""
    acquired = _acquisitions(rng, n, horizon, growth)
    lam = rng.gamma(r, 1.0 / alpha, n)
    drop = np.zeros(n) if drop_zero else rng.beta(a, b, n)
    people = _people(rng, acquired)
    who, when = _repeats(rng, acquired, lam, drop, horizon, cap)
    person = np.concatenate([np.arange(n), who])
    time = np.concatenate([acquired, when])
    return people, pd.DataFrame({"person": person, "time": time, "value": _gamma_gamma(rng, n, person, mean_value)})


def _combine(*parts: tuple[pd.DataFrame, pd.DataFrame]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Several populations as one store (person indices renumbered)."""
    people, orders, offset = [], [], 0
    for ppl, ords in parts:
        people.append(ppl)
        orders.append(ords.assign(person=ords["person"] + offset))
        offset += len(ppl)
    return pd.concat(people, ignore_index=True), pd.concat(orders, ignore_index=True)


# -- regimes: each returns (history in days, people, orders) ---------------------------------------------------------

def _no_dropout(rng):
    horizon = 730
    people, orders = _consumers(rng, 300, horizon, r=1.5, alpha=180.0, a=1.0, b=1.0, mean_value=55.0, cap=30,
                                drop_zero=True)
    return horizon, people, orders


def _all_dropout(rng):
    horizon, n, n_repeaters = 730, 450, 8
    acquired = _acquisitions(rng, n, horizon, growth=0.5)
    people = _people(rng, acquired)
    # The repeaters are among customers acquired early enough to come back at least a month later.
    early = np.flatnonzero(acquired < horizon - 60)
    repeaters = np.sort(rng.choice(early, n_repeaters, replace=False))
    k = rng.integers(1, 3, n_repeaters)
    who = np.repeat(repeaters, k)
    # At least a day after the first order, so each repeat is a purchase day of its own.
    when = acquired[who] + 1.0 + rng.random(len(who)) * (horizon - 1.0 - acquired[who])
    person = np.concatenate([np.arange(n), who])
    time = np.concatenate([acquired, when])
    return horizon, people, pd.DataFrame({"person": person, "time": time,
                                          "value": _gamma_gamma(rng, n, person, 60.0)})


def _wholesalers(rng):
    horizon, n_wholesale = 400, 24
    start = np.sort(rng.uniform(0.0, horizon - 366.0, n_wholesale))
    # Weekly with a day of slack either way, and now and then a skipped week; 60 gaps cover a year.
    gaps = 7.0 + rng.integers(-1, 2, (n_wholesale, 60)) + 7.0 * (rng.random((n_wholesale, 60)) < 0.04)
    times = start[:, None] + np.concatenate([np.zeros((n_wholesale, 1)), np.cumsum(gaps, axis=1)], axis=1)
    inside = times < np.minimum(start + 365.0, horizon)[:, None]
    person = np.nonzero(inside)[0]
    # Orders land in business hours; the day is the weekly schedule's.
    time = np.floor(times[inside]) + rng.uniform(8 / 24, 17 / 24, inside.sum())
    wholesale_people = _people(rng, start, channel_p=(0.5, 0.2, 0.0, 0.3), product_p=(0.0, 0.2, 0.5, 0.0, 0.3))
    value = rng.lognormal(np.log(1_800.0), 0.35, len(person))
    wholesale = (wholesale_people, pd.DataFrame({"person": person, "time": time, "value": value}))
    retail = _consumers(rng, 110, horizon, r=1.0, alpha=120.0, a=1.0, b=3.0, mean_value=55.0)
    return horizon, *_combine(wholesale, retail)


def _one_time(rng):
    horizon, n, n_repeaters = 730, 500, 25  # 25 of 500: 95 % buy once
    acquired = _acquisitions(rng, n, horizon, growth=0.8)
    people = _people(rng, acquired)
    early = np.flatnonzero(acquired < horizon - 30)
    repeaters = np.sort(rng.choice(early, n_repeaters, replace=False))
    who = np.repeat(repeaters, rng.integers(1, 5, n_repeaters))
    when = acquired[who] + 1.0 + rng.random(len(who)) * (horizon - 1.0 - acquired[who])
    person = np.concatenate([np.arange(n), who])
    time = np.concatenate([acquired, when])
    return horizon, people, pd.DataFrame({"person": person, "time": time,
                                          "value": _gamma_gamma(rng, n, person, 50.0)})


def _short_history(rng):
    horizon = 92  # days 0..91: the first and last order dates are 91 days apart
    people, orders = _consumers(rng, 350, horizon, r=1.0, alpha=25.0, a=1.0, b=4.0, mean_value=60.0, cap=12,
                                growth=0.0)
    return horizon, people, orders


def _long_history(rng):
    horizon = 3_653  # ten years including two leap days
    people, orders = _consumers(rng, 300, horizon, r=0.8, alpha=250.0, a=1.0, b=3.0, mean_value=70.0, cap=30,
                                growth=1.0)
    return horizon, people, orders


def _one_day(rng):
    n = 250
    people = _people(rng, np.sort(rng.uniform(6 / 24, 22 / 24, n)))
    # One customer in five places two or three orders that day (a forgotten item, a gift).
    extra = np.repeat(np.arange(n), np.where(rng.random(n) < 0.2, rng.integers(1, 3, n), 0))
    when = np.minimum(people["acquired"].to_numpy()[extra] + rng.uniform(0.01, 0.1, len(extra)), 1.0 - 1e-6)
    person = np.concatenate([np.arange(n), extra])
    time = np.concatenate([people["acquired"].to_numpy(), when])
    return 1, people, pd.DataFrame({"person": person, "time": time, "value": _gamma_gamma(rng, n, person, 45.0)})


def _heavy_tail(rng):
    horizon, n = 730, 400
    # The population's timing is BG/NBD; its Gamma-Gamma values are replaced below by heavier-tailed ones.
    people, orders = _consumers(rng, n, horizon, r=0.8, alpha=110.0, a=1.0, b=3.0, mean_value=1.0, cap=20)
    person = orders["person"].to_numpy()
    repeat = np.arange(len(orders)) >= n  # _consumers lists the first orders first
    # Person-level log-mean, then log-normal values with a large sigma: a few orders are worth thousands.
    mu = rng.normal(np.log(35.0), 0.6, n)[person]
    value = rng.lognormal(mu, 1.6)
    u = rng.random(len(orders))
    token = repeat & (u < 0.2)  # repeat purchase days worth a cent (samples, free gifts paying a cent)
    small = repeat & (u >= 0.2) & (u < 0.25)  # or a few cents
    zero = (repeat & (u >= 0.25) & (u < 0.3)) | (~repeat & (u < 0.02))  # genuinely 0.00 (100 % discount codes)
    value = np.where(token, 0.01, np.where(small, rng.uniform(0.02, 0.99, len(orders)), value))
    value = np.where(zero, 0.0, np.maximum(value, 0.01))
    return horizon, people, orders.assign(value=value)


def _single_b2b(rng):
    horizon = 730
    retail = _consumers(rng, 320, horizon, r=1.0, alpha=150.0, a=1.0, b=3.0, mean_value=60.0)
    start = rng.uniform(0.0, 60.0)
    gaps = rng.exponential(8.0, 120)
    time = start + np.concatenate([[0.0], np.cumsum(gaps)])
    time = time[time < horizon]
    b2b_people = pd.DataFrame({"acquired": [start], "channel": ["email"], "product": ["electronics"]})
    value = rng.lognormal(np.log(900.0), 0.4, len(time))
    # Scale the account's orders so that it brings 40 % of all revenue, whatever the retail draws were.
    value *= (0.4 / 0.6) * retail[1]["value"].sum() / value.sum()
    b2b = (b2b_people, pd.DataFrame({"person": 0, "time": time, "value": value}))
    return horizon, *_combine(retail, b2b)


def _tiny(rng):
    horizon = 365
    people, orders = _consumers(rng, 30, horizon, r=1.5, alpha=60.0, a=1.0, b=4.0, mean_value=60.0, cap=15)
    return horizon, people, orders


_REGIMES = {"no_dropout": _no_dropout, "all_dropout": _all_dropout, "wholesalers": _wholesalers,
            "one_time": _one_time, "short_history": _short_history, "long_history": _long_history,
            "one_day": _one_day, "heavy_tail": _heavy_tail, "single_b2b": _single_b2b, "tiny": _tiny}
assert tuple(_REGIMES) == tuple(STORE_REGIMES)


# -- the orders table ----------------------------------------------------------------------------------------------

def _assemble(rng: np.random.Generator, horizon: int, people: pd.DataFrame, orders: pd.DataFrame,
              end: pd.Timestamp) -> pd.DataFrame:
    """Canonical orders from (person, time in days, value): ids, dates, channels and first products."""
    start = end - pd.Timedelta(days=horizon - 1)
    orders = orders.sort_values(["time", "person"], kind="stable", ignore_index=True)
    time = orders["time"].to_numpy(dtype=float).copy()
    # The history covers exactly [start, end]: the earliest order on the first day, the latest on the last day.
    time[0] = time[0] % 1.0
    time[-1] = (horizon - 1) + time[-1] % 1.0
    # Customer ids follow the order of first purchase, as a store's account numbers would.
    person = orders["person"].to_numpy()
    first_seen = pd.unique(person)
    rank = np.empty(len(people), dtype=np.int64)
    rank[first_seen] = np.arange(len(first_seen))
    customer = (10_001 + rank[person]).astype(str)
    is_first = ~pd.Series(person).duplicated().to_numpy()
    other = rng.choice(STORE_PRODUCTS, len(orders), p=_PRODUCT_WEIGHTS)
    keep = is_first | (rng.random(len(orders)) < _SAME_PRODUCT)
    product = np.where(keep, people["product"].to_numpy()[person], other)
    stamp = start + pd.to_timedelta(np.floor(time * 86_400).astype(np.int64), unit="s")
    return pd.DataFrame({
        "customer_id": pd.array(customer, dtype="str"),
        "order_id": pd.array((100_001 + np.arange(len(orders))).astype(str), dtype="str"),
        "order_date": pd.Series(stamp, dtype="datetime64[ns]"),
        "revenue": np.round(orders["value"].to_numpy(dtype=float), 2),
        "channel": pd.array(people["channel"].to_numpy()[person], dtype="str"),
        "product": pd.array(product, dtype="str"),
    })


def simulate_store(regime: str, *, seed: int = 0, as_of: str | pd.Timestamp | None = None) -> pd.DataFrame:
    """Simulate the orders of a store in one of the hard-case regimes.

    Parameters
    ----------
    regime : str
        A key of :data:`STORE_REGIMES`.
    seed : int
        Seed of the draws; a seed gives the same table every time (and on every machine).
    as_of : date-like, optional
        The store's last day, on which its latest order falls; the whole history moves with it. Default
        :data:`STORE_END` (2025-06-30), never today's date.

    Returns
    -------
    DataFrame
        One row per order, sorted by date: ``customer_id`` (str, "10001", "10002", … in order of first
        purchase), ``order_id`` (str), ``order_date`` (datetime64[ns], with the time of day), ``revenue`` (float,
        two decimals; 0.0 only for the heavy_tail regime's zero-spend orders), ``channel`` (one of
        :data:`STORE_CHANNELS`, the customer's acquisition channel) and ``product`` (one of
        :data:`STORE_PRODUCTS`, the order's first category).

    Examples
    --------
    >>> orders = simulate_store("tiny", seed=1)
    >>> orders["customer_id"].nunique(), orders["order_date"].max().date()
    (30, datetime.date(2025, 6, 30))
    """
    check_argument("regime", list(STORE_REGIMES), regime)
    end = STORE_END if as_of is None else pd.Timestamp(as_of).normalize()
    # The regime's position in the stream seed, so regimes do not share draws for one seed.
    rng = np.random.default_rng([int(seed), list(STORE_REGIMES).index(regime)])
    horizon, people, orders = _REGIMES[regime](rng)
    return _assemble(rng, horizon, people, orders, end)


def simulate_marketing_spend(orders: pd.DataFrame, *, seed: int = 0) -> pd.DataFrame:
    """Monthly marketing spend per channel for a store's orders, as :func:`clvlib.read_marketing_spend` reads it.

    Each channel's spend in a month is its acquisition cost per new customer times the customers it brought
    that month (customers are attributed to the channel of their first order), plus a fixed monthly amount for
    paid channels (campaigns run even in months that bring no one), with ±15 % noise.

    Parameters
    ----------
    orders : DataFrame
        Orders with ``customer_id``, ``order_date`` and ``channel`` (e.g. from :func:`simulate_store`).
    seed : int
        Seed of the noise.

    Returns
    -------
    DataFrame
        ``month`` (str, "YYYY-MM", as in the demo store's ``marketing_spend.csv``), ``channel`` (str) and
        ``spend`` (float, two decimals): one row per month from the first to the last order's month, and per
        channel of :data:`STORE_CHANNELS`.
    """
    rng = np.random.default_rng([int(seed), 0x5BE4D])
    dates = pd.to_datetime(orders["order_date"])
    first = orders.assign(order_date=dates).sort_values("order_date", kind="stable").drop_duplicates("customer_id")
    months = pd.period_range(dates.min(), dates.max(), freq="M")
    new = pd.crosstab(first["order_date"].dt.to_period("M"), first["channel"]).reindex(
        index=months, columns=list(STORE_CHANNELS), fill_value=0)
    spend = (new * pd.Series(_CAC) + pd.Series(_BASE_SPEND)) * rng.lognormal(0.0, 0.15, new.shape)
    table = spend.round(2).rename_axis(index="month", columns="channel").stack().rename("spend").reset_index()
    return pd.DataFrame({"month": pd.array(table["month"].dt.strftime("%Y-%m"), dtype="str"),
                         "channel": pd.array(table["channel"], dtype="str"),
                         "spend": table["spend"].to_numpy(dtype=float)})


# -- export layouts ------------------------------------------------------------------------------------------------

def store_email(customer_id) -> pd.Series | str:
    """The email address of a simulated customer, as the shop exports write it (normalised: lower case).

    Shopify and WooCommerce exports key customers by email, so :func:`clvlib.read_transactions` returns this as
    the ``customer_id`` of those layouts.

    Examples
    --------
    >>> store_email("10001")
    'customer10001@example.com'
    """
    if isinstance(customer_id, pd.Series):
        return "customer" + customer_id.astype("str") + "@example.com"
    return f"customer{customer_id}@example.com"


def _line_items(rng: np.random.Generator, orders: pd.DataFrame) -> pd.DataFrame:
    """Line items whose amounts add up to each order's revenue exactly, in cents.

    Every line but an order's last is ``quantity × unit price`` with a whole-cent price; the last line (quantity
    1) takes what is left, so UCI-style ``Quantity × UnitPrice`` sums to the order's revenue to the cent. A 0.00
    order has a single line priced 0.00.
    """
    cents = np.round(orders["revenue"].to_numpy() * 100).astype(np.int64)
    k = np.minimum(1 + rng.poisson(0.3 + np.minimum(cents / 15_000, 2.5)), 8)
    k = np.maximum(np.minimum(k, cents), 1)
    order = np.repeat(np.arange(len(orders)), k)
    starts = np.concatenate([[0], np.cumsum(k)[:-1]])
    pos = np.arange(len(order)) - starts[order]
    last = pos == k[order] - 1
    weight = rng.random(len(order)) + 0.2
    share = weight / np.add.reduceat(weight, starts)[order]
    line_cents = np.floor(share * np.maximum(cents - k, 0)[order]).astype(np.int64) + 1
    # Unit prices around 8.00 (log-normal): big orders become big quantities, as in a wholesaler's invoice.
    unit_target = np.maximum(np.round(rng.lognormal(np.log(800.0), 0.9, len(order))), 1).astype(np.int64)
    quantity = np.where(last, 1, np.clip(line_cents // unit_target, 1, 500))
    unit = np.where(last, 0, line_cents // quantity)
    amount = unit * quantity
    unit = np.where(last, cents[order] - np.add.reduceat(amount, starts)[order], unit)
    lines = pd.DataFrame({"order": order, "pos": pos, "quantity": quantity, "unit_cents": unit})
    # The first line's category is the order's product; the others are any category.
    other = rng.choice(STORE_PRODUCTS, len(order), p=_PRODUCT_WEIGHTS)
    lines["name"] = np.where(pos == 0, orders["product"].to_numpy()[order], other)
    # Stock codes distinct within an order (a per-order base plus 37 per position), so no two lines of an order
    # are identical rows, which the reader would count as duplicates.
    base = rng.integers(0, 9_000, len(orders))
    lines["sku"] = (20_000 + (base[order] + 37 * pos) % 9_000).astype(str)
    return lines


def _money(cents) -> np.ndarray:
    cents = np.asarray(cents, dtype=np.int64)
    sign = np.where(cents < 0, "-", "")
    cents = np.abs(cents)
    return np.char.add(np.char.add(np.char.add(sign, (cents // 100).astype(str)), "."),
                       np.char.zfill((cents % 100).astype(str), 2))


def _partial_refunds(rng: np.random.Generator, orders: pd.DataFrame, share: float = 0.05) -> np.ndarray:
    """Cents refunded on a few orders: the export's total is the net revenue plus this, so the net is unchanged."""
    cents = np.round(orders["revenue"].to_numpy() * 100).astype(np.int64)
    chosen = (rng.random(len(orders)) < share) & (cents >= 500)
    return np.where(chosen, np.floor(cents * rng.uniform(0.1, 0.6, len(orders))).astype(np.int64), 0)


def _mixed_case(rng: np.random.Generator, emails: pd.Series) -> np.ndarray:
    """Emails as customers type them: one in eight capitalised or padded, which the reader normalises."""
    text = emails.to_numpy(dtype=object)
    u = rng.random(len(text))
    capital = np.array([e.capitalize() for e in text], dtype=object)
    return np.where(u < 0.08, capital, np.where(u < 0.125, " " + text + " ", text))


def _shopify(rng: np.random.Generator, orders: pd.DataFrame) -> pd.DataFrame:
    lines = _line_items(rng, orders)
    refund = _partial_refunds(rng, orders)
    net = np.round(orders["revenue"].to_numpy() * 100).astype(np.int64)
    o = lines["order"].to_numpy()
    first = lines["pos"].to_numpy() == 0
    created = orders["order_date"].dt.strftime("%Y-%m-%d %H:%M:%S").to_numpy(dtype=object) + " -0400"
    total = _money(net + refund)

    def order_level(values) -> np.ndarray:
        # Shopify writes order-level fields on an order's first line only.
        return np.where(first, np.asarray(values, dtype=object)[o], "")

    return pd.DataFrame({
        "Name": "#" + orders["order_id"].to_numpy(dtype=object)[o],
        "Email": order_level(_mixed_case(rng, store_email(orders["customer_id"]))),
        "Financial Status": order_level(np.where(refund > 0, "partially_refunded", "paid")),
        "Paid at": order_level(created),
        "Fulfillment Status": order_level(np.full(len(orders), "fulfilled")),
        "Currency": order_level(np.full(len(orders), "USD")),
        "Subtotal": order_level(total),
        "Shipping": order_level(np.full(len(orders), "0.00")),
        "Taxes": order_level(np.full(len(orders), "0.00")),
        "Total": order_level(total),
        "Discount Code": "",
        "Created at": order_level(created),
        "Lineitem quantity": lines["quantity"].to_numpy(),
        "Lineitem name": lines["name"].to_numpy(),
        "Lineitem price": _money(lines["unit_cents"]),
        "Lineitem sku": lines["sku"].to_numpy(),
        "Cancelled at": "",
        "Payment Method": order_level(np.full(len(orders), "Shopify Payments")),
        "Refunded Amount": order_level(_money(refund)),
        "Source": order_level(orders["channel"].to_numpy(dtype=object)),
    })


def _woocommerce(rng: np.random.Generator, orders: pd.DataFrame) -> pd.DataFrame:
    lines = _line_items(rng, orders)
    refund = _partial_refunds(rng, orders)
    net = np.round(orders["revenue"].to_numpy() * 100).astype(np.int64)
    o = lines["order"].to_numpy()
    # The platform's numeric user id: the reader keys customers by email and falls back to it. One order in ten
    # is a guest checkout (user id 0) by a known customer, which the email still joins to the others.
    user_id = (orders["customer_id"].astype("int64") - 10_000).to_numpy()
    user_id = np.where(rng.random(len(orders)) < 0.1, 0, user_id)
    last_day = orders["order_date"].max().normalize()
    status = np.where(orders["order_date"].to_numpy() >= last_day - pd.Timedelta(days=3), "wc-processing",
                      "wc-completed")
    notes = np.where(rng.random(len(orders)) < 0.05, "Please gift wrap", "")
    # One row per line item with the order's fields repeated, as the usual order export plugins write it.
    frame = pd.DataFrame({
        "Order ID": orders["order_id"].to_numpy(dtype=object)[o],
        "Order Date": orders["order_date"].dt.strftime("%Y-%m-%d %H:%M").to_numpy(dtype=object)[o],
        "Order Status": status[o],
        "Order Currency": "USD",
        "Order Total": _money(net + refund)[o],
        "Order Refund Amount": _money(refund)[o],
        "Billing First Name": "Customer",
        "Billing Last Name": orders["customer_id"].to_numpy(dtype=object)[o],
        "Billing Email": _mixed_case(rng, store_email(orders["customer_id"]))[o],
        "Customer User ID": user_id[o],
        "Customer Note": notes[o],
        "Created Via": orders["channel"].to_numpy(dtype=object)[o],
        "SKU": lines["sku"].to_numpy(),
        "Product Name": lines["name"].to_numpy(),
        "Quantity": lines["quantity"].to_numpy(),
        "Item Cost": _money(lines["unit_cents"]),
    })
    # Three test orders, one per marker the reader knows: a note saying so, a test address, a customer named Test.
    base = frame.iloc[[0, 0, 0]].copy()
    base["Order ID"] = [f"T{i}" for i in range(1, 4)]
    base["Order Total"] = ["1.00", "250.00", "99.00"]
    base["Order Refund Amount"] = "0.00"
    base["Customer Note"] = ["TEST ORDER - do not ship", "", ""]
    base["Billing Email"] = [base["Billing Email"].iloc[0], "test+checkout@myshop.com", "owner@myshop.com"]
    base["Billing First Name"] = ["Customer", "Customer", "Test"]
    base["Billing Last Name"] = [base["Billing Last Name"].iloc[0], "Staff", "Test"]
    base["Customer User ID"] = [user_id[0], 1, 1]
    base["Quantity"] = 1
    return pd.concat([frame, base], ignore_index=True)


def _stripe(rng: np.random.Generator, orders: pd.DataFrame) -> pd.DataFrame:
    """Stripe's payments export (``unified_payments.csv``): one row per charge, in UTC, amounts in major units."""
    n = len(orders)
    refund = _partial_refunds(rng, orders)
    net = np.round(orders["revenue"].to_numpy() * 100).astype(np.int64)
    customer = orders["customer_id"].astype("str").to_numpy(dtype=object)
    # Stripe gives some people two customer objects (a second checkout as a new customer): same email, new id.
    second = rng.random(n) < 0.05
    cus = np.where(second, "cus_B" + customer, "cus_A" + customer)
    charges = pd.DataFrame({
        "id": "ch_" + orders["order_id"].astype("str").to_numpy(dtype=object),
        "Description": orders["product"].to_numpy(dtype=object),
        "Seller Message": "Payment complete.",
        "Created (UTC)": orders["order_date"].dt.strftime("%Y-%m-%d %H:%M:%S").to_numpy(dtype=object),
        "Amount": _money(net + refund),
        "Amount Refunded": _money(refund),
        "Currency": "usd",
        "Fee": _money(np.round((net + refund) * 0.029 + 30)),
        "Mode": "Live",
        "Status": "Paid",
        "Customer ID": cus,
        "Customer Email": _mixed_case(rng, store_email(orders["customer_id"])),
        "Captured": "true",
        "Card Brand": "Visa",
        "Disputed Amount": "",
        "Dispute Status": "",
    })
    # Declined attempts before a few payments, an authorisation never captured and two test-mode charges: rows
    # of the export that took no money.
    failed = charges[rng.random(n) < 0.04].assign(
        Status="Failed", Captured="false", **{"Seller Message": "Your card was declined.", "Amount Refunded": "0.00"})
    failed["id"] = "ch_F" + failed["id"].str[3:]
    extra = charges.iloc[[0, 0, 0]].copy()
    extra["id"] = ["ch_U1", "ch_T1", "ch_T2"]
    extra["Status"] = ["Uncaptured", "Paid", "Paid"]
    extra["Captured"] = ["false", "true", "true"]
    extra["Mode"] = ["Live", "Test", "Test"]
    extra["Amount Refunded"] = "0.00"
    frame = pd.concat([charges, failed, extra], ignore_index=True)
    # Newest first, as the Dashboard lists and exports them.
    return frame.sort_values("Created (UTC)", ascending=False, kind="stable", ignore_index=True)


def _uci_dates(when: pd.Series) -> pd.Series:
    """``12/1/2010 8:26``: the UCI file's month/day/year without leading zeros (built by hand: ``%-m`` is glibc's)."""
    w = when.dt
    return (w.month.astype("str") + "/" + w.day.astype("str") + "/" + w.year.astype("str") + " "
            + w.hour.astype("str") + ":" + w.strftime("%M"))


def _online_retail(rng: np.random.Generator, orders: pd.DataFrame) -> pd.DataFrame:
    lines = _line_items(rng, orders)
    o = lines["order"].to_numpy()
    when = orders["order_date"].to_numpy()[o]
    frame = pd.DataFrame({
        "InvoiceNo": orders["order_id"].to_numpy(dtype=object)[o],
        "StockCode": lines["sku"].to_numpy(),
        "Description": lines["name"].to_numpy(),
        "Quantity": lines["quantity"].to_numpy(),
        "_when": when,
        "_cents": lines["unit_cents"].to_numpy(),
        "CustomerID": orders["customer_id"].to_numpy(dtype=object)[o],
        "Country": "United Kingdom",
    })
    # A few returns: one unit of a line sent back later the same day on a "C" invoice. The sale line carries one
    # unit more, so the net is the order's revenue; the return is dated the sale's day and its stock code is
    # unique for the customer that day, so the reader attaches it to this very order.
    candidate = ~(lines["pos"].to_numpy() == lines.groupby("order")["pos"].transform("max").to_numpy())
    candidate &= frame["_cents"].to_numpy() > 0
    day = pd.Series(when).dt.normalize().to_numpy()
    unique = ~pd.DataFrame({"c": frame["CustomerID"], "s": frame["StockCode"], "d": day}).duplicated(keep=False)
    candidate &= unique.to_numpy()
    returned = candidate & (rng.random(len(frame)) < 0.03)
    frame.loc[returned, "Quantity"] += 1
    back = frame[returned].assign(
        InvoiceNo=["C" + str(900_001 + i) for i in range(int(returned.sum()))], Quantity=-1)
    seconds = (pd.Series(back["_when"]).dt.normalize() + pd.Timedelta(days=1) - back["_when"]).dt.total_seconds()
    back["_when"] = back["_when"] + pd.to_timedelta(np.floor(rng.random(len(back)) * (seconds - 60)), unit="s")
    frame = pd.concat([frame, back], ignore_index=True)
    return pd.DataFrame({
        "InvoiceNo": frame["InvoiceNo"],
        "StockCode": frame["StockCode"],
        "Description": frame["Description"],
        "Quantity": frame["Quantity"],
        # The UCI file's own format: month/day/year and hours without seconds (the time can only be later).
        "InvoiceDate": _uci_dates(frame["_when"]),
        "UnitPrice": _money(frame["_cents"]),
        "CustomerID": frame["CustomerID"],
        "Country": frame["Country"],
    })


def write_store(regime: str, folder: str | Path, *, layout: str = "generic", seed: int = 0) -> Path:
    """Write a simulated store as an export file that :func:`clvlib.read_transactions` reads, with its spend.

    Parameters
    ----------
    regime : str
        A key of :data:`STORE_REGIMES`.
    folder : str or Path
        Where to write (created if missing): the data file (name in :data:`STORE_LAYOUTS`) and
        ``marketing_spend.csv``.
    layout : {"generic", "shopify", "woocommerce", "online_retail"}
        ``generic``: CSV with the canonical columns (read with no preset). ``shopify``: orders export, one row
        per line item, order-level fields on the first row only, a few partial refunds (``Total`` − ``Refunded
        Amount`` is the revenue). ``woocommerce``: one row per line item with the order fields repeated, a few
        partial refunds. ``online_retail``: the UCI layout (``Quantity × UnitPrice`` lines, a few returns on
        "C" invoices). Shop exports key customers by email (:func:`store_email`); the UCI layout by
        ``CustomerID``, the generic ``customer_id``.
    seed : int
        Seed of the store (:func:`simulate_store`); the layout's own draws (line items, refunds) follow from it.

    Returns
    -------
    Path
        The data file. Read it with ``read_transactions(path, preset=None if layout == "generic" else layout)``:
        the revenue per customer equals :func:`simulate_store`'s to the cent.
    """
    check_argument("layout", list(STORE_LAYOUTS), layout)
    orders = simulate_store(regime, seed=seed)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / STORE_LAYOUTS[layout]
    rng = np.random.default_rng([int(seed), list(STORE_REGIMES).index(regime), 1 + list(STORE_LAYOUTS).index(layout)])
    if layout == "generic":
        frame = orders.assign(order_date=orders["order_date"].dt.strftime("%Y-%m-%d %H:%M:%S"),
                              revenue=_money(np.round(orders["revenue"].to_numpy() * 100)))
    else:
        frame = {"shopify": _shopify, "woocommerce": _woocommerce, "stripe": _stripe,
                 "online_retail": _online_retail}[layout](rng, orders)
    frame.to_csv(path, index=False, lineterminator="\n")
    simulate_marketing_spend(orders, seed=seed).to_csv(folder / "marketing_spend.csv", index=False,
                                                        lineterminator="\n")
    return path
