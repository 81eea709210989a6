"""Day-1 CLV: what a customer is worth on the day they are acquired, per acquisition channel or first product.

A just-acquired customer has made one order (at t = 0) and nothing else is known about them. The purchase model
gives their expected repeat purchases E[X(t)] over the next t time units (the unconditional expectation,
:meth:`~clvlib.models._base.PurchaseModel.expected_purchases_new_customer`), and Gamma-Gamma the expected value of
each, its population mean pγ/(q − 1) (spend is independent of purchasing in the model, so the two multiply):

    day-1 CLV = margin · (first order value + pγ/(q − 1) · ∫₀ᴴ E[X]′(t) δ(t) dt),  δ(t) = (1 + rate)^(−t/year)

The purchase *rate* E[X]′(t) is integrated against a continuous discount factor δ (money arrives when the purchase
is made, not at a month end as in :func:`~clvlib.predictive_clv`; the two differ by about half a month of
discounting). By parts, ∫₀ᴴ E[X]′ δ dt = E[X(H)] δ(H) + κ ∫₀ᴴ E[X(t)] δ(t) dt with κ = ln(1 + rate) per year;
the integrand is smooth and vanishes at 0, so Gauss-Legendre quadrature (16 nodes per month of the horizon) gives the
integral to float precision. The first order's value is the group's observed mean first-order revenue.

Per group, the purchase and spend models are fitted on the group's own customers when they pass
:func:`~clvlib.check_data_sufficiency` and the fits are sound; otherwise the store's pooled fits stand in, and the
``basis`` column says which and why. (Per-group fits, not covariates: one model with the channel as a covariate
would share strength between channels, and is the natural successor.)

The **payback month** comes from the model's new-customer curve: the first whole month m after the first order
(0 = the first order itself) at which the expected cumulative margin, margin · (first order value + pγ/(q − 1) ·
E[X(m months)]), undiscounted as in :func:`~clvlib.cac_payback`, reaches CAC.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._validation import check_argument, check_time_unit
from ..config import DAYS_PER_MONTH, DAYS_PER_UNIT
from ..errors import DataError
from .checks import check_data_sufficiency

__all__ = ["day1_clv", "new_customer_value", "new_customer_curve", "describe_day1_clv"]

_NODES, _WEIGHTS = np.polynomial.legendre.leggauss(16)  # per month of the horizon
_COLUMNS = ["customers", "sufficient", "basis", "spend_basis", "first_order_value", "expected_purchases",
            "discounted_purchases", "expected_spend", "margin", "day1_clv", "cac", "max_affordable_cac", "ltv_cac",
            "payback_months", "note"]


def _unit_per_month(purchase_model) -> float:
    purchase_model._check_fitted()
    unit = purchase_model.time_unit_
    if unit is None:
        raise DataError(f"The {type(purchase_model).__name__} was fitted without a time unit, so a horizon in months "
                        "cannot be converted: fit it with `time_unit=`.")
    return DAYS_PER_MONTH / DAYS_PER_UNIT[unit]


def _discounted_purchases(purchase_model, horizon_months: float, annual_discount_rate: float) -> tuple[float, float]:
    """E[X(H)] and ∫₀ᴴ E[X]′(t) δ(t) dt for a new customer (module docstring), H in months."""
    unit_per_month = _unit_per_month(purchase_model)
    horizon = horizon_months * unit_per_month
    expected = float(purchase_model.expected_purchases_new_customer(t=horizon))
    kappa = np.log1p(annual_discount_rate) / (12 * unit_per_month)  # per time unit
    if kappa == 0.0:
        return expected, expected
    edges = np.linspace(0.0, horizon, max(1, int(np.ceil(horizon_months))) + 1)
    half, mid = np.diff(edges)[:, None] / 2, (edges[:-1] + edges[1:])[:, None] / 2
    t = (mid + half * _NODES).ravel()
    weights = (half * _WEIGHTS).ravel()
    e = np.asarray(purchase_model.expected_purchases_new_customer(t=t), dtype=np.float64)
    integral = float(weights @ (e * np.exp(-kappa * t)))
    return expected, expected * float(np.exp(-kappa * horizon)) + kappa * integral


def _check_inputs(horizon_months, annual_discount_rate, margin) -> None:
    if not horizon_months > 0:
        raise ValueError(f"`horizon_months` must be positive, but {horizon_months!r} was passed.")
    if not annual_discount_rate > -1:
        raise ValueError(f"`annual_discount_rate` must be above -1, but {annual_discount_rate!r} was passed.")
    if margin is not None and not 0 < margin <= 1:
        raise ValueError(f"`margin` must be in (0, 1], but {margin!r} was passed.")


def new_customer_value(
    purchase_model, spend_model, *, horizon_months: float = 12, annual_discount_rate: float = 0.10,
    margin: float = 1.0, first_order_value: float = 0.0,
) -> pd.Series:
    """Day-1 CLV of one just-acquired customer from a fitted purchase model and a fitted Gamma-Gamma model.

    Parameters
    ----------
    purchase_model : BetaGeo, ParetoNBD or ModifiedBetaGeo
        Fitted, with its time unit (``time_unit_``).
    spend_model : GammaGamma
        Fitted; its population mean pγ/(q − 1) is the expected value of each repeat purchase.
    horizon_months : float, default 12
        Months after the first order that count, converted to the model's time unit (a month is 30.4375 days).
    annual_discount_rate : float, default 0.10
        Yearly rate of the continuous discount factor (module docstring).
    margin : float, default 1.0
        Share of revenue kept, in (0, 1]; 1 gives revenue.
    first_order_value : float, default 0.0
        Revenue of the acquisition order (undiscounted: it is made on day 1).

    Returns
    -------
    Series with ``first_order_value``, ``expected_purchases`` (repeat purchases in the horizon, undiscounted),
    ``discounted_purchases``, ``expected_spend`` (per repeat purchase), ``margin`` and ``day1_clv`` =
    margin · (first_order_value + expected_spend · discounted_purchases).

    Examples
    --------
    >>> from clvlib.models import BetaGeo, GammaGamma
    >>> bg, gg = BetaGeo(), GammaGamma()
    >>> bg.params_ = pd.Series([0.243, 4.414, 0.793, 2.426], index=["r", "alpha", "a", "b"]); bg.time_unit_ = "W"
    >>> gg.params_ = pd.Series([6.25, 3.74, 15.44], index=["p", "q", "v"])
    >>> value = new_customer_value(bg, gg, annual_discount_rate=0.0, first_order_value=30.0)
    >>> value[["expected_purchases", "expected_spend", "day1_clv"]].round(2).tolist()
    [1.45, 35.22, 81.04]
    """
    _check_inputs(horizon_months, annual_discount_rate, margin)
    spend_model._check_fitted()
    expected, discounted = _discounted_purchases(purchase_model, horizon_months, annual_discount_rate)
    spend = spend_model.population_mean_spend()
    return pd.Series({
        "first_order_value": float(first_order_value), "expected_purchases": expected,
        "discounted_purchases": discounted, "expected_spend": spend, "margin": float(margin),
        "day1_clv": float(margin) * (float(first_order_value) + spend * discounted),
    })


def new_customer_curve(
    purchase_model, spend_model, *, months: int = 60, margin: float = 1.0, first_order_value: float = 0.0,
) -> pd.DataFrame:
    """The expected cumulative value of a just-acquired customer, month by month after the first order.

    Returns
    -------
    DataFrame with ``months_since_first_order`` (0 … ``months``, whole months of 30.4375 days after the first
    order), ``expected_purchases`` (repeat purchases by then) and ``cumulative_value`` = margin · (first order
    value + pγ/(q − 1) · expected purchases), undiscounted, as a payback curve is (money).
    """
    _check_inputs(1, 0.0, margin)
    spend_model._check_fitted()
    unit_per_month = _unit_per_month(purchase_model)
    m = np.arange(int(months) + 1)
    expected = np.asarray(purchase_model.expected_purchases_new_customer(t=m * unit_per_month), dtype=np.float64)
    value = float(margin) * (float(first_order_value) + spend_model.population_mean_spend() * expected)
    return pd.DataFrame({"months_since_first_order": m, "expected_purchases": expected, "cumulative_value": value})


def _payback_month(curve: pd.DataFrame, cac: float) -> float:
    reached = curve.loc[curve["cumulative_value"] >= cac, "months_since_first_order"]
    return float(reached.iloc[0]) if len(reached) else np.nan


def _short_reasons(report) -> str:
    """The failed sufficiency checks in a few words each."""
    words = {
        "customers": lambda v, t: f"only {v:,.0f} customers (at least {t:,.0f} needed)",
        "repeat buyers": lambda v, t: f"only {v:,.0f} repeat buyers (at least {t:,.0f} needed)",
        "repeat share": lambda v, t: f"only {100 * v:.1f} % repeat buyers (at least {100 * t:.0f} % needed)",
        "history": lambda v, t: f"only {v:,.0f} days of history (at least {t:,.0f} needed)",
        "recent orders": lambda v, t: f"last order {v:,.0f} days before as_of (at most {t:,.0f} allowed)",
    }
    failed = report.table[report.table["passed"].eq(False)]
    return "; ".join(words[check](row["value"], row["threshold"]) for check, row in failed.iterrows())


def _group_fits(customers: pd.DataFrame, model_class, time_unit: str):
    """The group's own (purchase, spend) fits where sound, with the basis of each in words."""
    from .gamma_gamma import GammaGamma
    from .pipeline import _fit

    report = check_data_sufficiency(customers, time_unit=time_unit)
    if not report.passed:
        reason = f"pooled fit: {_short_reasons(report)}"
        return False, None, reason, None, reason
    name = model_class._model_name or model_class.__name__
    purchase, fit = _fit(model_class, customers)
    basis = "own fit" if purchase is not None and fit["ok"] else f"pooled fit: the group's {name} fit is not sound"
    spend, spend_fit = _fit(GammaGamma, customers)
    spend_basis = ("own fit" if spend is not None and spend_fit["ok"]
                   else "pooled fit: the group's Gamma-Gamma fit is not sound")
    own_purchase = purchase if basis == "own fit" else None
    own_spend = spend if spend_basis == "own fit" else None
    return True, own_purchase, basis, own_spend, spend_basis


def _skipped(reason: str) -> pd.DataFrame:
    table = pd.DataFrame(columns=_COLUMNS)
    table.attrs["skipped"] = reason
    return table


def day1_clv(
    orders: pd.DataFrame,
    *,
    by: str = "channel",
    model=None,
    marketing_spend: pd.DataFrame | None = None,
    as_of=None,
    horizon_months: float = 12,
    margin: float | None = None,
    annual_discount_rate: float = 0.10,
    time_unit: str = "W",
    target_ratio: float = 3.0,
    max_payback_months: int = 60,
) -> pd.DataFrame:
    """Day-1 CLV per acquisition channel (or first product), beside the channel's CAC, the most a new customer may
    cost at a target LTV:CAC, and the month the expected margin pays CAC back.

    Parameters
    ----------
    orders : DataFrame
        Canonical orders with a ``channel`` (or ``product``) column: each customer's group is that of their first
        order (:func:`clvlib.first_order_attributes`). Customers without one are left out.
    by : {"channel", "product"}
        Acquisition channel or first product.
    model : CLVPrediction, optional
        The store's CLV decision (:func:`clvlib.predict_clv`), whose purchase model (BG/NBD or Pareto/NBD) is fitted
        per group and whose fits on all customers are the pooled fallback; its ``as_of`` and time unit are used.
        None runs :func:`clvlib.predict_clv` with these arguments (without intervals). When it decides for
        historical CLV, there is no model and the table is skipped.
    marketing_spend : DataFrame, optional
        ``month``, ``channel``, ``spend``; gives CAC (:func:`clvlib.cac_by_channel`, as of ``as_of``) by channel.
    as_of : date-like, optional
        End of the observation; the last order date by default.
    horizon_months, annual_discount_rate : float
        As in :func:`new_customer_value`.
    margin : float, optional
        Gross margin rate in (0, 1]; None takes each group's rate from its customers' order costs (all their
        orders, the mix they go on to buy), or 1 (revenue) without costs.
    time_unit : {"D", "W", "M"}
        Time unit of the fits.
    target_ratio : float, default 3.0
        The LTV:CAC a channel should reach: ``max_affordable_cac`` = day-1 CLV / target_ratio.
    max_payback_months : int, default 60
        Longest payback looked for on the model's curve.

    Returns
    -------
    DataFrame indexed by the group with ``customers``, ``sufficient`` (the group passes
    :func:`~clvlib.check_data_sufficiency`), ``basis`` ("own fit", or "pooled fit: <why>") and ``spend_basis``
    (the same for Gamma-Gamma), ``first_order_value`` (mean first-order revenue), ``expected_purchases`` (repeat
    purchases in the horizon), ``discounted_purchases``, ``expected_spend`` (per repeat purchase), ``margin``,
    ``day1_clv``, ``cac``, ``max_affordable_cac``, ``ltv_cac``, ``payback_months`` and ``note`` (why a value is
    absent; empty when none is). Money in the orders' currency. ``attrs``: ``label``, ``model``, ``as_of``,
    ``time_unit``, ``horizon_months``, ``annual_discount_rate``, ``target_ratio`` and ``pooled`` (the pooled
    fits' values for a new customer of the whole store). A table the data cannot support is empty, with
    ``attrs["skipped"]`` saying why.
    """
    from ..cohorts import cac_by_channel, first_order_attributes
    from ..profit import margin_rate
    from ..summary import customer_summary
    from .pipeline import CLVPrediction, _label, predict_clv

    check_argument("by", ["channel", "product"], by)
    check_time_unit(time_unit)
    _check_inputs(horizon_months, annual_discount_rate, margin)
    if not target_ratio > 0:
        raise ValueError(f"`target_ratio` must be positive, but {target_ratio!r} was passed.")
    if by not in orders.columns:
        return _skipped(f"Skipped: day-1 CLV by {by} needs a `{by}` column in the orders.")
    if model is None:
        model = predict_clv(orders, as_of=as_of, horizon_months=horizon_months, margin=margin, time_unit=time_unit,
                            annual_discount_rate=annual_discount_rate, intervals=False)
    elif not isinstance(model, CLVPrediction):
        raise TypeError(f"`model` must be None or a CLVPrediction (clvlib.predict_clv), but "
                        f"{type(model).__name__!r} was passed.")
    if not model.uses_model:
        return _skipped(f"Skipped: day-1 CLV needs a purchase model, and none is used. {model.reason}")
    if as_of is not None and model.settings["as_of"] != pd.Timestamp(as_of).date().isoformat():
        raise ValueError(f"`as_of` ({pd.Timestamp(as_of).date()}) differs from the prediction's "
                         f"({model.settings['as_of']}): pass the same date, or leave `as_of` out.")
    as_of, time_unit = model.settings["as_of"], model.purchase_model.time_unit_
    pooled_purchase, pooled_spend = model.purchase_model, model.spend_model

    facts = first_order_attributes(orders, as_of=as_of)
    customers = customer_summary(orders, as_of=as_of, time_unit=time_unit, warn=False)
    group = facts[by].reindex(customers.index)
    known = orders[orders["customer_id"].notna() & (orders["order_date"] <= pd.Timestamp(as_of))]
    cac = pd.Series(dtype=np.float64)
    if marketing_spend is not None and by == "channel":
        cac = cac_by_channel(marketing_spend, facts, as_of=as_of)["cac"]

    rows, curves = {}, {}
    for name in sorted(group.dropna().unique()):
        members = customers[group.eq(name).to_numpy()]
        sufficient, purchase, basis, spend, spend_basis = _group_fits(members, type(pooled_purchase), time_unit)
        purchase = pooled_purchase if purchase is None else purchase
        spend = pooled_spend if spend is None else spend
        group_margin = margin if margin is not None else margin_rate(known[known["customer_id"].isin(members.index)])
        if not 0 < group_margin <= 1:  # costs above revenue: no usable rate
            group_margin = 1.0
        first = float(facts.loc[members.index, "first_order_revenue"].mean())
        value = new_customer_value(purchase, spend, horizon_months=horizon_months, margin=group_margin,
                                   annual_discount_rate=annual_discount_rate, first_order_value=first)
        if not np.isfinite(value.to_numpy(dtype=np.float64)).all() and basis == "own fit":
            basis = "pooled fit: the group's fit gives predictions that are not finite"
            value = new_customer_value(pooled_purchase, spend, horizon_months=horizon_months, margin=group_margin,
                                       annual_discount_rate=annual_discount_rate, first_order_value=first)
            purchase = pooled_purchase
        curves[name] = new_customer_curve(purchase, spend, months=max_payback_months, margin=group_margin,
                                          first_order_value=first)
        rows[name] = {"customers": len(members), "sufficient": sufficient, "basis": basis,
                      "spend_basis": spend_basis, **value.to_dict()}
    table = pd.DataFrame.from_dict(rows, orient="index").reindex(columns=_COLUMNS[:10])
    table.index.name = by
    table["cac"] = cac.reindex(table.index).astype(np.float64)
    table["max_affordable_cac"] = table["day1_clv"] / target_ratio
    table["ltv_cac"] = (table["day1_clv"] / table["cac"]).where(table["cac"] > 0)
    table["payback_months"] = [_payback_month(curves[g], c) if np.isfinite(c) else np.nan
                               for g, c in table["cac"].items()]
    table["note"] = [_note(row, by, marketing_spend is not None, max_payback_months) for _, row in table.iterrows()]
    table = table.astype({"customers": np.int64, "sufficient": bool})

    pooled = new_customer_value(pooled_purchase, pooled_spend, horizon_months=horizon_months,
                                annual_discount_rate=annual_discount_rate, margin=model.settings["margin"],
                                first_order_value=float(facts["first_order_revenue"].mean()))
    label = _label(horizon_months, model.settings["margin"] if margin is None else margin, model.model,
                   annual_discount_rate).replace("CLV", "day-1 CLV", 1)
    table.attrs.update(label=label, model=model.model, as_of=as_of, time_unit=time_unit,
                       horizon_months=horizon_months, annual_discount_rate=annual_discount_rate,
                       target_ratio=target_ratio, pooled=pooled.to_dict())
    return table


def _note(row: pd.Series, by: str, has_spend: bool, max_payback_months: int) -> str:
    """Why a value of the row is absent, in words ("" when none is)."""
    if not np.isfinite(row["day1_clv"]):
        return "The model's predictions for this group are not finite numbers, so it has no day-1 CLV."
    if by != "channel":
        return "No CAC: marketing spend is recorded per channel, not per first product."
    if not has_spend:
        return "No CAC: no marketing spend was given."
    if not np.isfinite(row["cac"]):
        return "No CAC: the spend table has no spend for this channel in the months its customers were acquired."
    notes = []
    if row["cac"] == 0:
        notes.append("CAC is 0 (no spend on this channel), so LTV:CAC is not defined.")
    if not np.isfinite(row["payback_months"]):
        notes.append(f"The expected margin does not reach CAC within {max_payback_months} months.")
    return " ".join(notes)


def describe_day1_clv(table: pd.DataFrame, *, currency: str = "USD") -> str:
    """The groups whose new customers are worth the most and the least on day 1, and those bought above what they
    may cost (Markdown, names escaped).

    Examples
    --------
    >>> table = pd.DataFrame({"day1_clv": [90.0, 30.0], "cac": [20.0, 15.0], "max_affordable_cac": [30.0, 10.0],
    ...                       "payback_months": [2.0, 9.0], "basis": ["own fit", "pooled fit: only 80 customers"]},
    ...                      index=pd.Index(["email", "ads"], name="channel"))
    >>> print(describe_day1_clv(table))
    A new **email** customer is worth **\\$90** on day 1, a new **ads** customer **\\$30**. Acquired above the most
    they may cost (day-1 CLV / 3): ads (CAC \\$15, at most \\$10). Payback: email 2 months, ads 9 months. The
    store's pooled fit stands in for 1 of 2 channels (too little data, or no sound fit, of their own).
    """
    from ..formatting import escape_markdown, markdown_money

    if table.attrs.get("skipped"):
        return table.attrs["skipped"]
    values = table["day1_clv"].dropna().sort_values(ascending=False, kind="stable")
    if values.empty:
        return "No group has a day-1 CLV."
    best, worst = values.index[0], values.index[-1]
    what = table.index.name or "group"
    text = [f"A new **{escape_markdown(best)}** customer is worth **{markdown_money(values.iloc[0], currency)}** on "
            "day 1" + (f", a new **{escape_markdown(worst)}** customer **{markdown_money(values.iloc[-1], currency)}**."
                       if len(values) > 1 else ".")]
    if "cac" in table.columns and table["cac"].notna().any():
        ratio = table.attrs.get("target_ratio", table["day1_clv"].div(table["max_affordable_cac"]).median())
        over = table[table["cac"] > table["max_affordable_cac"]]
        listed = ", ".join(f"{escape_markdown(g)} (CAC {markdown_money(r['cac'], currency)}, at most "
                           f"{markdown_money(r['max_affordable_cac'], currency)})" for g, r in over.iterrows())
        text.append(f"Acquired above the most they may cost (day-1 CLV / {ratio:g}): {listed or 'none'}.")
        payback = table["payback_months"].dropna()
        if len(payback):
            text.append("Payback: " + ", ".join(
                f"{escape_markdown(g)} " + ("on the first order" if m == 0 else f"{m:.0f} month{'' if m == 1 else 's'}")
                for g, m in payback.items()) + ".")
    pooled = int(table["basis"].str.startswith("pooled").sum()) if "basis" in table.columns else 0
    if pooled:
        text.append(f"The store's pooled fit stands in for {pooled} of {len(table)} {what}s (too little data, or no "
                    "sound fit, of their own).")
    return " ".join(text)
