"""The one CLV pipeline: check the data, fit and score candidate models, decide, predict — once, for every page.

A report shows one CLV. :func:`predict_clv` takes the orders, and in this order:

1. builds the customer table at ``as_of`` and runs :func:`~clvlib.check_data_sufficiency`;
2. splits the history at ``calibration_end`` and fits each candidate purchase model (BG/NBD, MBG/NBD,
   Pareto/NBD) with Gamma-Gamma on the calibration period;
3. gates each candidate: its fit must be sound (``diagnosis_.ok``: converged, identified, not at a boundary), its
   predictions finite, and it must beat the naive baselines on the holdout (:func:`~clvlib.holdout_scorecard`'s
   ``beats_baselines``, the decision its verdict states);
4. **decides**: among the candidates that pass, the lowest per-customer holdout error (MAE) wins; errors within
   1 % of each other are a tie, which goes to the simpler model (BG/NBD, then MBG/NBD, then Pareto/NBD: the same
   number of parameters, but the first two have likelihoods without hypergeometric functions, and BG/NBD is the
   standard). When none passes — or the data are not sufficient — the decision is **historical CLV**, and the
   reason says why. Steps 2–4 are :func:`~clvlib.compare_models`'s code, so the comparison a page shows (with
   log-likelihood, AIC, BIC and the drop-out test beside the holdout measures) is the one the decision used;
5. refits the winner and Gamma-Gamma on all customers, checks those fits too, and predicts each customer's CLV
   over the horizon (:func:`~clvlib.predictive_clv`), with intervals when they can be computed.

The result carries the per-customer table, the decision, its reason, the fits' diagnoses and a label that every
page prints beside the figure ("12-month gross-margin CLV, BG/NBD, discounted 10 %/year"). Pages and the report
index call this function with the same arguments and therefore show the same numbers.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from .._results import result_html
from .._validation import check_time_unit, customer_indexed
from .checks import SufficiencyReport, check_data_sufficiency
from .compare import _TIE  # noqa: F401  (the tie margin, read here by tests)
from .compare import (LIKELIHOOD_COLUMNS, PURCHASE_MODELS, _assess, _calibration, _default_calibration_end, _fit,
                      _table, _tied)
from .gamma_gamma import GammaGamma
from .predict import predictive_clv
from .scorecard import HoldoutScorecard, holdout_scorecard
from ..formatting import format_pct

__all__ = ["predict_clv", "CLVPrediction", "CANDIDATE_MODELS"]

# Candidate purchase models, simplest first: a tie on holdout error goes to the earlier one.
CANDIDATE_MODELS: dict[str, type] = PURCHASE_MODELS


@dataclass
class CLVPrediction:
    """Result of :func:`predict_clv`: the decision, the reason, and one CLV per customer.

    Attributes
    ----------
    table : DataFrame
        One row per customer: ``historical_clv`` always; with a model also ``p_alive``,
        ``expected_purchases_{H}m``, ``expected_spend``, ``predicted_clv_{H}m``, ``total_clv_{H}m`` (and their
        ``_lower``/``_upper`` bounds when intervals were computed).
    decision : {"model", "historical"}
    model : str or None
        The purchase model used ("BG/NBD", "MBG/NBD", "Pareto/NBD"), None for historical CLV.
    reason : str
        Why, in plain sentences (also :attr:`verdict`).
    label : str
        What the CLV figure is, e.g. "12-month gross-margin CLV, BG/NBD, discounted 10 %/year".
    value_column : str
        The column of ``table`` that :attr:`label` describes and the headline averages: ``predicted_clv_{H}m`` with
        a model, ``historical_clv`` without. (:attr:`ltv_column` adds what customers have already brought.)
    headline : dict
        ``customers``, ``clv_per_customer`` (mean predicted CLV over the horizon with a model, mean historical CLV
        without), ``clv_total``, ``historical_total``, ``predicted_total`` (None without a model) and ``label``.
    comparison : DataFrame
        One row per candidate and naive baseline: holdout MAE, RMSE, Spearman, top-decile capture, total purchase
        error, whether the fit was sound, whether it beat the baselines, whether it passed the gate, and which one
        was chosen; then the calibration fit (``n_params``, ``log_likelihood``, ``aic``, ``bic``), the drop-out
        test against NBD (``lr_vs_nbd``, ``lr_p_value``) and ``finite_predictions``
        (:func:`~clvlib.compare_models`' table, in this column order).
    sufficiency : SufficiencyReport
    scorecards : dict of HoldoutScorecard, per candidate that was scored
    diagnoses : dict of dict, the fit diagnoses (calibration fits, and the final fits as "<name> (all data)")
    purchase_model, spend_model : the final fits on all customers, or None
    settings : dict of the arguments that shape the figure (as_of, horizon, margin and its source, ...)
    notes : list of str, further facts a page should state (intervals unavailable, margin source, ...)
    """

    table: pd.DataFrame
    decision: str
    model: str | None
    reason: str
    label: str
    value_column: str
    headline: dict[str, Any]
    comparison: pd.DataFrame
    sufficiency: SufficiencyReport
    scorecards: dict[str, HoldoutScorecard] = field(default_factory=dict)
    diagnoses: dict[str, dict] = field(default_factory=dict)
    purchase_model: Any = None
    spend_model: Any = None
    calibration: pd.DataFrame | None = None
    calibration_models: dict[str, Any] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def verdict(self) -> str:
        """The decision in words: which CLV the pages use, and why."""
        return self.reason

    @property
    def uses_model(self) -> bool:
        return self.decision == "model"

    @property
    def ltv_column(self) -> str:
        """CLV to date plus the horizon (``total_clv_{H}m``) with a model, ``historical_clv`` without: the LTV of
        LTV:CAC, and the order of the top-customer list."""
        return f"total_clv_{self.settings['horizon_months']:g}m" if self.uses_model else "historical_clv"

    @property
    def ltv_label(self) -> str:
        """What :attr:`ltv_column` is, in words."""
        return f"CLV to date + {self.label}" if self.uses_model else self.label

    @property
    def shown_candidate(self) -> str | None:
        """The model whose holdout test a page shows: the one used, else the scored candidate with the lowest MAE."""
        if self.model is not None:
            return self.model
        if not self.scorecards:
            return None
        return min(self.scorecards, key=lambda name: self.scorecards[name].metrics.loc["model", "mae"])

    def fit_diagnoses(self) -> pd.DataFrame:
        """One row per fit (calibration fits, then "<model> (all data)"): ``ok`` and a plain ``summary``."""
        table = pd.DataFrame.from_dict(self.diagnoses, orient="index").reindex(columns=["ok", "summary"])
        table.index.name = "fit"
        return table

    def parameters(self) -> pd.DataFrame:
        """Parameter tables of the fits behind the figure (all data when a model is used, else calibration)."""
        fits = ({self.model: self.purchase_model, "Gamma-Gamma": self.spend_model} if self.uses_model
                else self.calibration_models)
        tables = {name: model.summary() for name, model in fits.items() if model is not None}
        if not tables:
            return pd.DataFrame(columns=["coef", "se", "lower_95", "upper_95"])
        return pd.concat(tables, names=["model"])

    def top_customers(self, *, n: int = 10) -> pd.DataFrame:
        """The ``n`` customers with the highest CLV (:attr:`value_column`), with the columns that explain it."""
        h = f"{self.settings['horizon_months']:g}m"
        wanted = ["historical_clv", f"predicted_clv_{h}", f"predicted_clv_{h}_lower", f"predicted_clv_{h}_upper",
                  f"total_clv_{h}", "p_alive", f"expected_purchases_{h}"]
        return self.table.nlargest(n, self.ltv_column)[[c for c in wanted if c in self.table.columns]]

    def describe(self, *, currency: str = "USD") -> str:
        """The headline as one Markdown paragraph (money escaped for Markdown), the same words on every page."""
        from ..formatting import escape_markdown, format_pct, markdown_money

        def money(value: float) -> str:  # "\\$12": two amounts are not a formula; the currency code escaped too
            return markdown_money(value, currency)

        label = escape_markdown(self.label)

        h, n = f"{self.settings['horizon_months']:g}m", len(self.table)
        if not self.uses_model:
            return (f"**{label}**: the {n:,} customers have brought **{money(self.headline['historical_total'])}"
                    f"** so far, **{money(self.headline['clv_per_customer'])}** per customer. No prediction is "
                    "made (see the decision above).")
        text = (f"**{label}**: over the next **{self.settings['horizon_months']:g} months** the {n:,} customers "
                f"are expected to bring **{money(self.headline['predicted_total'])}** "
                f"(**{money(self.headline['clv_per_customer'])}** per customer)")
        if f"predicted_clv_{h}_lower" in self.table.columns:
            lower, upper = self.table.attrs["totals"]["rows"][0][f"predicted_clv_{h}_lower"], \
                self.table.attrs["totals"]["rows"][0][f"predicted_clv_{h}_upper"]
            text += f", {format_pct(self.table.attrs['level'])} interval {money(lower)} – {money(upper)}"
        return (text + f", on top of the **{money(self.headline['historical_total'])}** they have already brought; "
                f"**{format_pct((self.table['p_alive'] > 0.5).mean())}** of them are more likely than not still "
                "active.")

    def __str__(self) -> str:
        return f"{self.label}: {self.reason}"

    def _repr_html_(self) -> str:
        notes = "".join(f"<li>{html.escape(n)}</li>" for n in self.notes)
        return (result_html(self.verdict, self.table.nlargest(10, self.ltv_column), title=self.label, max_rows=10)
                + "<p><em>The 10 customers with the highest CLV; the whole table is <code>.table</code>.</em></p>"
                + (f"<ul>{notes}</ul>" if notes else ""))


def _margin(orders: pd.DataFrame | None, margin: float | None) -> tuple[float, str, list[str]]:
    from ..profit import margin_rate

    if margin is not None:
        return margin_rate(pd.DataFrame(), margin=margin), "given", []
    if orders is None or not {"gross_margin", "cost"} & set(orders.columns):
        return 1.0, "no cost in the data", []
    rate = margin_rate(orders)
    if not 0 < rate <= 1:
        return 1.0, "no usable cost in the data", [
            f"The orders' costs give a gross margin rate of {format_pct(rate, decimals=1)}, outside (0 %, 100 %]: CLV is in revenue."]
    return rate, "from the order costs", []


def _label(horizon_months: float, margin: float, model: str | None, annual_discount_rate: float) -> str:
    kind = "gross-margin" if margin < 1 else "revenue"
    if model is None:
        return f"Historical {kind} CLV to date (no model)"
    return f"{horizon_months:g}-month {kind} CLV, {model}, discounted {annual_discount_rate:.0%}/year".replace(
        "%/", " %/")


_PIPELINE_COLUMNS = ["mae", "rmse", "spearman", "top_decile_capture", "purchases_error_pct", "sound_fit",
                     "beats_baselines", "passed", "chosen", *LIKELIHOOD_COLUMNS, "finite_predictions"]


def _comparison(assessment, chosen: str | None) -> pd.DataFrame:
    """:func:`~clvlib.compare_models`' table without the NBD reference row, the published columns first.

    ``chosen`` is the final decision: a candidate that passed on the holdout but whose fit on all the data is not
    sound is not chosen."""
    if assessment is None:
        return pd.DataFrame(columns=_PIPELINE_COLUMNS, index=pd.Index([], name="method"))
    table = _table(assessment, nbd_row=False)[_PIPELINE_COLUMNS]
    table.loc[list(assessment.names), "chosen"] = [name == chosen for name in assessment.names]
    return table


def predict_clv(
    orders: pd.DataFrame,
    *,
    as_of=None,
    horizon_months: float = 12,
    margin: float | None = None,
    time_unit: str = "W",
    annual_discount_rate: float = 0.10,
    calibration_end=None,
    intervals: bool = True,
    n_draws: int = 200,
    level: float = 0.9,
    seed: int = 0,
) -> CLVPrediction:
    """Decide between predictive and historical CLV, with the reason, and give every customer one CLV.

    Parameters
    ----------
    orders : DataFrame
        Canonical orders (:func:`clvlib.read_transactions`). A customer table (:func:`clvlib.customer_summary`,
        indexed by customer id or with a ``customer_id`` column) is accepted too, but then no holdout can be cut:
        the decision rests on the sufficiency check and the fit diagnoses alone, and says so.
    as_of : date-like, optional
        End of the observation; the last order date by default.
    horizon_months : float, default 12
        How far ahead predicted CLV looks.
    margin : float, optional
        Gross margin rate in (0, 1]; None takes it from the orders' costs when they have them, else 1 (revenue).
    time_unit : {"D", "W", "M"}, default "W"
        Time unit of the models.
    annual_discount_rate : float, default 0.10
        Yearly rate at which future margin is discounted (monthly, end of month).
    calibration_end : date-like, optional
        End of the calibration period; by default ``as_of`` minus a quarter of the history.
    intervals, n_draws, level, seed
        Parameter-uncertainty intervals of :func:`clvlib.predictive_clv` (deterministic for a seed).

    Returns
    -------
    CLVPrediction

    Examples
    --------
    >>> import clvlib
    >>> result = clvlib.predict_clv(clvlib.load_orders(), intervals=False)
    >>> result.decision, result.model
    ('model', 'BG/NBD')
    >>> result.label
    '12-month gross-margin CLV, BG/NBD, discounted 10 %/year'
    """
    from ..clv import historical_clv
    from ..summary import customer_summary

    check_time_unit(time_unit)
    if horizon_months <= 0:
        raise ValueError(f"`horizon_months` must be positive, but {horizon_months!r} was passed.")
    given_customers = "frequency" in orders.columns and "order_date" not in orders.columns
    if given_customers:
        customers, order_table = customer_indexed(orders), None
        as_of_date = pd.Timestamp(customers.attrs.get("as_of")) if customers.attrs.get("as_of") else None
    else:
        order_table = orders
        customers = customer_summary(orders, as_of=as_of, time_unit=time_unit, warn=False)
        as_of_date = pd.Timestamp(customers.attrs["as_of"])
    margin_used, margin_source, notes = _margin(order_table, margin)
    history = historical_clv(customers, margin=margin_used)
    sufficiency = check_data_sufficiency(customers, time_unit=time_unit)
    settings = {"as_of": None if as_of_date is None else as_of_date.date().isoformat(),
                "horizon_months": horizon_months, "margin": margin_used, "margin_source": margin_source,
                "time_unit": time_unit, "annual_discount_rate": annual_discount_rate, "calibration_end": None}

    scorecards: dict[str, HoldoutScorecard] = {}
    fits: dict[str, dict] = {}
    passed: dict[str, bool] = {}
    cal = None
    reasons: list[str] = []
    chosen = None
    calibration_models: dict[str, Any] = {}
    assessment = None
    if not sufficiency.passed:
        reasons.append(sufficiency.summary)
    elif order_table is None:
        reasons.append("Only a customer table was given, so no model could be scored on a holdout period; "
                       "historical CLV is used. Pass the orders to let the pipeline test the models.")
    else:
        first_day = order_table["order_date"].min().normalize()
        cal_end = (pd.Timestamp(calibration_end) if calibration_end is not None
                   else _default_calibration_end(first_day, as_of_date))
        settings["calibration_end"] = cal_end.date().isoformat()
        cal, why = _calibration(order_table, cal_end, as_of_date, first_day, time_unit)
        if cal is None:
            reasons.append(why)
        else:
            # compare_models' fits, gate and rule; the scorecard function is looked up here, at call time.
            assessment = _assess(cal, list(CANDIDATE_MODELS), score=holdout_scorecard)
            fits, calibration_models = dict(assessment.fits), assessment.models
            scorecards, passed, chosen = assessment.scorecards, assessment.passed, assessment.chosen
            if chosen is None:
                reasons.append(_no_model_reason(fits, scorecards))

    purchase_model = spend_model = None
    table = history[["historical_clv"]].copy()
    if chosen is not None:
        purchase_model, fit_all = _fit(CANDIDATE_MODELS[chosen], customers)
        spend_model, spend_all = _fit(GammaGamma, customers)
        fits[f"{chosen} (all data)"], fits["Gamma-Gamma (all data)"] = fit_all, spend_all
        if purchase_model is None or spend_model is None or not (fit_all["ok"] and spend_all["ok"]):
            bad = fit_all if not fit_all["ok"] else spend_all
            reasons.append(f"{chosen} passed the holdout test, but its fit on all the data is not sound: "
                           f"{bad['summary']} Historical CLV is used instead.")
            chosen, purchase_model, spend_model = None, None, None
        else:
            clv = predictive_clv(purchase_model, spend_model, customers, horizon_months=horizon_months,
                                 annual_discount_rate=annual_discount_rate, margin=margin_used,
                                 intervals=intervals, n_draws=n_draws, level=level, seed=seed)
            table = clv
            if intervals and clv.attrs.get("interval_note"):
                notes.append(clv.attrs["interval_note"])
            card = scorecards[chosen]
            others = [n for n in scorecards if n != chosen]
            tied = [o for o in others if passed.get(o) and _tied(card, scorecards[o])]
            reasons.append(
                f"{chosen} is used: its fit is sound and it beats the naive baselines on the holdout period "
                f"(MAE {card.metrics.loc['model', 'mae']:.3f} repeat purchases per customer"
                + "".join(f"; {o} {scorecards[o].metrics.loc['model', 'mae']:.3f}" for o in others)
                + ")." + (" The errors are within 1 % of each other, a tie, which goes to the simpler model."
                          if tied else "")
            )

    h = f"{horizon_months:g}m"
    label = _label(horizon_months, margin_used, chosen, annual_discount_rate)
    value_column = f"predicted_clv_{h}" if chosen else "historical_clv"
    predicted = table[f"predicted_clv_{h}"] if chosen else None
    headline = {
        "customers": int(len(table)),
        "label": label,
        "historical_total": float(table["historical_clv"].sum()),
        "predicted_total": None if predicted is None else float(predicted.sum()),
        "clv_per_customer": (float(predicted.mean()) if predicted is not None
                             else float(table["historical_clv"].mean()) if len(table) else None),
    }
    headline["clv_total"] = headline["predicted_total"] if chosen else headline["historical_total"]
    table.attrs.update(decision="model" if chosen else "historical", model=chosen, label=label,
                       value_column=value_column)
    return CLVPrediction(
        table=table, decision="model" if chosen else "historical", model=chosen, reason=" ".join(reasons),
        label=label, value_column=value_column, headline=headline,
        comparison=_comparison(assessment, chosen),
        sufficiency=sufficiency, scorecards=scorecards, diagnoses=fits, purchase_model=purchase_model,
        spend_model=spend_model, calibration=cal, calibration_models=calibration_models, settings=settings,
        notes=notes,
    )


def _no_model_reason(fits: dict[str, dict], scorecards: dict[str, HoldoutScorecard]) -> str:
    parts = []
    if not fits.get("Gamma-Gamma", {}).get("ok", True):
        parts.append(f"the spend model (Gamma-Gamma) is not sound: {fits['Gamma-Gamma']['summary']}")
    for name in CANDIDATE_MODELS:
        if name in scorecards:
            parts.append(f"{name} does not beat the naive baselines on the holdout period")
        elif name in fits and not fits[name]["ok"]:
            parts.append(f"{name}'s fit is not sound ({fits[name]['summary'].rstrip('.')})")
    return ("No model is used: " + "; ".join(parts) + ". Historical CLV (what customers have brought so far) is "
            "shown instead.")

