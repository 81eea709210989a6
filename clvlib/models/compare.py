"""Which purchase model should I trust? BG/NBD, MBG/NBD and Pareto/NBD side by side, on one calibration period.

:func:`compare_models` fits every model (and Gamma-Gamma for spend) on the calibration period of the orders and
puts in one table what each criterion says:

* **fit to the calibration data**: log-likelihood, AIC = 2k − 2 LL and BIC = k ln n − 2 LL (k parameters,
  n customers; lower is better; AIC and BIC compare models that are not nested, such as BG/NBD and MBG/NBD, which
  have the same number of parameters);
* **evidence of drop-out**: the likelihood-ratio test of each model against NBD (no drop-out), the limit that all
  three nest (BG/NBD and MBG/NBD as a → 0, Pareto/NBD as s/β → 0). It is the test every fit records in its
  diagnosis (``dropout_lr_``): the statistic 2 (LL_model − LL_NBD) is referred to ½χ²₀ + ½χ²₁, since the
  nested model lies on the edge of the parameter space, so p = ½ P(χ²₁ > statistic) (5 % critical value 2.71).
  The three models are not nested in one another, so they are not tested against each other;
* **prediction on the holdout period**: per-customer MAE and RMSE of repeat purchases, Spearman rank correlation,
  top-decile capture and the error in total purchases (:func:`~clvlib.holdout_scorecard`);
* **the gate** of :func:`~clvlib.predict_clv`: a sound fit (``diagnosis_.ok``), finite predictions and a holdout
  scorecard that beats the naive baselines. Among the models that pass, the lowest MAE is chosen; MAEs within 1 %
  are a tie, which goes to the simpler model (BG/NBD, then MBG/NBD, then Pareto/NBD). :func:`~clvlib.predict_clv`
  makes its decision with this same code.

The result also carries the tracking table: cumulative repeat purchases over calendar time, actual and each
model's expectation, for :func:`clvlib.plots.plot_model_tracking`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import erfc

from .._results import result_html
from .._validation import check_argument, check_time_unit, validate_columns
from ..errors import ConvergenceError, DataError
from .bgnbd import BetaGeo
from .checks import check_data_sufficiency
from .gamma_gamma import GammaGamma
from .mbgnbd import ModifiedBetaGeo
from .paretonbd import ParetoNBD
from .scorecard import HoldoutScorecard, holdout_scorecard, tracking_table

__all__ = ["compare_models", "ModelComparison", "PURCHASE_MODELS"]

#: The purchase models, simplest first: a tie on holdout error goes to the earlier one. BG/NBD and MBG/NBD have
#: closed-form likelihoods; Pareto/NBD's needs hypergeometric functions.
PURCHASE_MODELS: dict[str, type] = {"BG/NBD": BetaGeo, "MBG/NBD": ModifiedBetaGeo, "Pareto/NBD": ParetoNBD}
_TIE = 0.01  # holdout MAEs within 1 % of each other are a tie
_MIN_CALIBRATION_REPEATERS = 10  # fewer repeat buyers before calibration_end cannot be scored meaningfully
NBD_ROW = "NBD (no drop-out)"
BASELINES = ("historical rate", "store average")
HOLDOUT_COLUMNS = ["mae", "rmse", "spearman", "top_decile_capture", "purchases_error_pct"]
LIKELIHOOD_COLUMNS = ["n_params", "log_likelihood", "aic", "bic", "lr_vs_nbd", "lr_p_value"]
GATE_COLUMNS = ["sound_fit", "finite_predictions", "beats_baselines", "passed", "chosen"]


def _diagnosis(model) -> dict:
    diagnosis = getattr(model, "diagnosis_", None)
    if diagnosis is None:
        return {"ok": True, "summary": "No diagnosis recorded."}
    return {**diagnosis.to_dict(), "ok": bool(diagnosis.ok), "summary": diagnosis.summary}


def _fit(model_class, customers: pd.DataFrame):
    """A fitted model and its diagnosis, or None and the reason it could not be fitted."""
    try:
        model = model_class().fit(customers)
    except (DataError, ConvergenceError) as error:
        return None, {"ok": False, "summary": f"The fit failed: {error}"}
    except (ArithmeticError, np.linalg.LinAlgError) as error:  # a numerical breakdown is an unsound fit, not a crash
        return None, {"ok": False, "summary": f"The fit broke down numerically ({type(error).__name__}: {error})."}
    return model, _diagnosis(model)


def _finite(*arrays) -> bool:
    return all(np.all(np.isfinite(np.asarray(a, dtype=np.float64))) for a in arrays)


def _calibration(orders, cal_end, as_of_date, first_day, time_unit):
    """The calibration/holdout table, or None and why a holdout test is not possible."""
    from ..summary import calibration_holdout

    if not first_day < cal_end < as_of_date:
        return None, (f"The calibration end {cal_end:%Y-%m-%d} is not inside the history ({first_day:%Y-%m-%d} to "
                      f"{as_of_date:%Y-%m-%d}), so no model can be tested; historical CLV is used.")
    cal = calibration_holdout(orders, calibration_end=cal_end, observation_end=as_of_date, time_unit=time_unit)
    repeaters = int((cal["frequency"] > 0).sum())
    if repeaters < _MIN_CALIBRATION_REPEATERS:
        return None, (f"Only {repeaters} customers bought again before the calibration end ({cal_end:%Y-%m-%d}; at "
                      f"least {_MIN_CALIBRATION_REPEATERS} are needed to test a model on the holdout period), so "
                      "historical CLV is used.")
    return cal, ""


def _default_calibration_end(first_day: pd.Timestamp, as_of_date: pd.Timestamp) -> pd.Timestamp:
    """``as_of`` minus a quarter of the history, at midnight."""
    return (as_of_date - (as_of_date - first_day) / 4).normalize()


@dataclass
class _Assessment:
    """What scoring the candidates on one calibration table gives; the pipeline and :func:`compare_models` share it."""

    names: list[str]
    models: dict[str, Any]
    fits: dict[str, dict]
    scorecards: dict[str, HoldoutScorecard]
    passed: dict[str, bool]
    finite: dict[str, bool]
    chosen: str | None
    n_customers: int


def _assess(cal: pd.DataFrame, names: Sequence[str], *, score: Callable = holdout_scorecard) -> _Assessment:
    """Fit Gamma-Gamma and each purchase model on ``cal``, gate them, and choose (the rule of the module docstring).

    A model is scored only when its fit and the spend model's are sound; ``score`` is the scorecard function
    (:func:`~clvlib.holdout_scorecard`; the pipeline passes its own reference to it).
    """
    spend, spend_fit = _fit(GammaGamma, cal)
    models: dict[str, Any] = {"Gamma-Gamma": spend}
    fits: dict[str, dict] = {"Gamma-Gamma": spend_fit}
    scorecards: dict[str, HoldoutScorecard] = {}
    passed: dict[str, bool] = {}
    finite: dict[str, bool] = {}
    for name in names:
        model, fit = _fit(PURCHASE_MODELS[name], cal)
        fits[name], models[name], passed[name] = fit, model, False
        if model is None or spend is None or not fit["ok"] or not spend_fit["ok"]:
            continue
        card = score(model, spend, cal)
        finite[name] = _finite(card.per_customer["model_purchases"], card.per_customer["model_revenue"])
        if not finite[name]:
            fits[name] = {**fit, "ok": False, "summary": fit["summary"] + " Some predictions were not finite."}
            continue
        scorecards[name] = card
        passed[name] = card.beats_baselines
    return _Assessment(list(names), models, fits, scorecards, passed, finite, _choose(scorecards, passed, names),
                       len(cal))


def _mae(card: HoldoutScorecard) -> float:
    return float(card.metrics.loc["model", "mae"])


def _choose(scorecards: dict[str, HoldoutScorecard], passed: dict[str, bool], names: Sequence[str]) -> str | None:
    """The simplest passing model whose holdout MAE is within the tie margin of the best passing one."""
    contenders = [name for name in PURCHASE_MODELS if name in names and passed.get(name)]
    if not contenders:
        return None
    best = min(_mae(scorecards[name]) for name in contenders)
    return next(name for name in contenders if _mae(scorecards[name]) <= best * (1 + _TIE))


def _tied(a: HoldoutScorecard, b: HoldoutScorecard) -> bool:
    mae_a, mae_b = _mae(a), _mae(b)
    return abs(mae_a - mae_b) <= _TIE * min(mae_a, mae_b)


def lr_p_value(statistic: float) -> float:
    """p-value of a likelihood-ratio statistic for a parameter on the edge of its range: ½ P(χ²₁ > statistic).

    The null distribution is ½χ²₀ + ½χ²₁ (Self & Liang 1987), so p = 1 at a statistic of 0 and 0.05 at 2.71.
    ½ P(χ²₁ > x) = ½ erfc(√(x/2)).

    >>> round(lr_p_value(2.7055), 4)
    0.05
    """
    if not np.isfinite(statistic):
        return float("nan")
    return 1.0 if statistic <= 0 else float(0.5 * erfc(np.sqrt(statistic / 2)))


def _likelihood_rows(assessment: _Assessment) -> dict[str, dict]:
    n = assessment.n_customers
    rows, nbd_ll = {}, []
    for name in assessment.names:
        model = assessment.models.get(name)
        k = len(PURCHASE_MODELS[name]._param_names)
        ll = float(model.log_likelihood_) if model is not None else np.nan
        statistic = float(getattr(model, "dropout_lr_", np.nan)) if model is not None else np.nan
        if np.isfinite(statistic):
            nbd_ll.append(ll - statistic / 2)
            statistic = max(statistic, 0.0)  # a hair below 0 is the optimiser's tolerance, not a worse fit
        rows[name] = {"n_params": k, "log_likelihood": ll, "aic": 2 * k - 2 * ll, "bic": k * np.log(n) - 2 * ll,
                      "lr_vs_nbd": statistic, "lr_p_value": lr_p_value(statistic)}
    if nbd_ll:
        ll = max(nbd_ll)  # the same NBD fit, reached from each model's start: the best optimum found
        rows[NBD_ROW] = {"n_params": 2, "log_likelihood": ll, "aic": 4 - 2 * ll, "bic": 2 * np.log(n) - 2 * ll}
    return rows


def _table(assessment: _Assessment, *, nbd_row: bool = True) -> pd.DataFrame:
    """One row per candidate (likelihood, holdout and gate), the NBD reference row and the two naive baselines."""
    likelihood = _likelihood_rows(assessment)
    rows: dict[str, dict] = {}
    for name in assessment.names:
        card = assessment.scorecards.get(name)
        row = dict(likelihood[name])
        if card is not None:
            row.update(card.metrics.loc["model"].to_dict(),
                       purchases_error_pct=card.totals.loc["model", "purchases_error_pct"])
        row.update(sound_fit=assessment.fits[name]["ok"], finite_predictions=assessment.finite.get(name, np.nan),
                   beats_baselines=card.beats_baselines if card is not None else False,
                   passed=assessment.passed.get(name, False), chosen=name == assessment.chosen)
        rows[name] = row
    if nbd_row and NBD_ROW in likelihood:
        rows[NBD_ROW] = likelihood[NBD_ROW]
    if assessment.scorecards:
        card = next(iter(assessment.scorecards.values()))
        for baseline in BASELINES:
            rows[f"{baseline} (baseline)"] = {**card.metrics.loc[baseline].to_dict(),
                                              "purchases_error_pct": card.totals.loc[baseline, "purchases_error_pct"]}
    table = pd.DataFrame.from_dict(rows, orient="index").reindex(
        columns=LIKELIHOOD_COLUMNS + HOLDOUT_COLUMNS + GATE_COLUMNS)
    table["n_params"] = table["n_params"].astype("Int64")
    table.index.name = "method"
    return table


@dataclass(repr=False)
class ModelComparison:
    """Result of :func:`compare_models`.

    Attributes
    ----------
    table : DataFrame indexed by ``method``: one row per model, then "NBD (no drop-out)" (likelihood columns only)
        and the two naive baselines (holdout columns only). Columns: ``n_params``, ``log_likelihood``, ``aic``,
        ``bic`` (calibration fit; lower AIC/BIC is better), ``lr_vs_nbd``, ``lr_p_value`` (drop-out evidence),
        ``mae``, ``rmse``, ``spearman``, ``top_decile_capture``, ``purchases_error_pct`` (holdout), ``sound_fit``,
        ``finite_predictions``, ``beats_baselines``, ``passed`` (the gate) and ``chosen``.
    verdict : str
        Which model the rule picks and why, what AIC says, and the drop-out evidence, in plain sentences.
    tracking : DataFrame indexed by ``date``: cumulative repeat purchases of the calibration cohort, ``actual`` and
        one column per fitted model (``bg_nbd``, ``mbg_nbd``, ``pareto_nbd``); ``attrs`` has ``models`` (column →
        model name), ``calibration_end``, ``time_unit`` and ``freq``.
    choice : str or None
        The model :func:`~clvlib.predict_clv`'s rule chooses, None when none passes the gate or the data are not
        sufficient for a model (:func:`~clvlib.check_data_sufficiency`, which the pipeline runs first). The
        pipeline then refits the choice on all the data and uses it if that fit is sound too.
    scorecards, models, diagnoses, calibration, settings : the holdout scorecards, the calibration fits (with
        "Gamma-Gamma"), their diagnoses, the calibration/holdout table and the arguments used.
    """

    table: pd.DataFrame
    verdict: str
    tracking: pd.DataFrame
    choice: str | None = None
    scorecards: dict[str, HoldoutScorecard] = field(default_factory=dict)
    models: dict[str, Any] = field(default_factory=dict)
    diagnoses: dict[str, dict] = field(default_factory=dict)
    calibration: pd.DataFrame | None = None
    settings: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.verdict

    def __repr__(self) -> str:
        return f"<clvlib.ModelComparison: {len(self.settings.get('models', []))} models, choice {self.choice}>"

    def _repr_html_(self) -> str:
        """The verdict above the table, numbers rounded for reading (the table itself keeps full precision)."""
        shown = self.table.astype({"n_params": "float64"}).round(
            {"log_likelihood": 1, "aic": 1, "bic": 1, "lr_vs_nbd": 2, "mae": 3, "rmse": 3, "spearman": 3,
             "top_decile_capture": 3, "purchases_error_pct": 1})
        shown["n_params"] = shown["n_params"].map(lambda k: "–" if np.isnan(k) else f"{k:.0f}")
        shown["lr_p_value"] = shown["lr_p_value"].map(lambda p: "–" if np.isnan(p) else "< 0.001" if p < 0.001
                                                      else f"{p:.3f}")
        return result_html(self.verdict, shown, title="Model comparison")


def _key(name: str) -> str:
    """A model name as a column name: "BG/NBD" → "bg_nbd"."""
    return name.lower().replace("/", "_")


def _tracking(orders: pd.DataFrame, models: dict[str, Any], cal_end: pd.Timestamp, freq: str) -> pd.DataFrame:
    columns, names = {}, {}
    table = None
    for name, model in models.items():
        with np.errstate(all="ignore"):
            one = tracking_table(orders, model, calibration_end=cal_end, freq=freq)
        if table is None:
            table = one
            columns["actual"] = one["actual_cumulative"]
        if np.isfinite(one["expected_cumulative"].to_numpy()).all():
            columns[_key(name)] = one["expected_cumulative"]
            names[_key(name)] = name
    if table is None:
        return pd.DataFrame(index=pd.DatetimeIndex([], name="date"), columns=["actual"], dtype=float)
    result = pd.DataFrame(columns, index=table.index)
    result.attrs.update(table.attrs, models=names)
    return result


def _verdict(table: pd.DataFrame, assessment: _Assessment, sufficiency) -> str:
    names = assessment.names
    scored = [n for n in names if n in assessment.scorecards]
    parts = []
    if not sufficiency.passed:
        parts.append(sufficiency.summary.replace(" Use historical CLV", " So the report uses historical CLV")
                     + " The comparison below is for information only.")
    elif assessment.chosen is not None:
        chosen = assessment.chosen
        best = min((n for n in names if assessment.passed.get(n)), key=lambda n: _mae(assessment.scorecards[n]))
        maes = "; ".join(f"{n} {_mae(assessment.scorecards[n]):.3f}" for n in scored)
        if best == chosen:
            parts.append(f"{chosen} predicts the holdout period best among the models that pass the gate (MAE per "
                         f"customer: {maes}), so it is the one to use.")
        else:
            parts.append(f"{best} predicts the holdout period best (MAE per customer: {maes}), but {chosen} is within "
                         "1 % of it, a tie, which goes to the simpler model: use " + chosen + ".")
    else:
        failed = [n for n in names if not assessment.passed.get(n)]
        parts.append(f"No model passes the gate ({', '.join(failed)}; see the columns sound_fit and beats_baselines), "
                     "so historical CLV is the safer figure.")
    fitted = table.loc[[n for n in names if np.isfinite(table.loc[n, "aic"])]]
    if len(fitted) > 1:
        order = fitted["aic"].sort_values()
        gap = order.iloc[1] - order.iloc[0]
        parts.append(f"On the calibration data, AIC prefers {order.index[0]} ({gap:.1f} below {order.index[1]}"
                     + ("; a difference under 2 is no real difference" if gap < 2 else "")
                     + "); AIC and the holdout can disagree, and for prediction the holdout decides.")
    p = table.loc[[n for n in names if np.isfinite(table.loc[n, "lr_p_value"])], "lr_p_value"]
    if len(p):
        if (p < 0.05).all():
            parts.append("Every model finds clear evidence of customers dropping out (likelihood-ratio test against "
                         f"NBD, p {'< 0.001' if p.max() < 0.001 else f'≤ {p.max():.3f}'}).")
        elif (p >= 0.05).all():
            parts.append("No model finds evidence of customers dropping out (likelihood-ratio test against NBD, "
                         f"p ≥ {p.min():.2f}): P(alive) reflects the models' assumptions, not the data.")
        else:
            weak = ", ".join(p.index[p >= 0.05])
            parts.append(f"The evidence of drop-out is weak for {weak} (likelihood-ratio test against NBD, "
                         "p ≥ 0.05).")
    return " ".join(parts)


def compare_models(
    orders: pd.DataFrame,
    *,
    calibration_end=None,
    as_of=None,
    time_unit: str = "W",
    models: Sequence[str] = ("BG/NBD", "MBG/NBD", "Pareto/NBD"),
) -> ModelComparison:
    """Fit each purchase model on the calibration period and compare fit, drop-out evidence and holdout accuracy.

    Parameters
    ----------
    orders : DataFrame
        Canonical orders (:func:`clvlib.read_transactions`) with ``customer_id``, ``order_date`` and ``revenue``.
    calibration_end : date-like, optional
        End of the calibration period; by default ``as_of`` minus a quarter of the history (as
        :func:`~clvlib.predict_clv`).
    as_of : date-like, optional
        End of the holdout period; the last order date by default.
    time_unit : {"D", "W", "M"}, default "W"
        Time unit of the models.
    models : sequence of str
        Which of "BG/NBD", "MBG/NBD", "Pareto/NBD" to compare (ties go to the simpler whatever the order given).

    Returns
    -------
    ModelComparison
        ``table``, ``verdict`` and ``tracking`` (see :class:`ModelComparison`). When the history cannot be split
        into a calibration and a holdout period with enough repeat buyers, the tables are empty and the verdict
        says why.

    Examples
    --------
    >>> import clvlib
    >>> comparison = clvlib.compare_models(clvlib.load_orders(), models=("BG/NBD", "MBG/NBD"))
    >>> comparison.choice
    'BG/NBD'
    >>> int(comparison.table.loc["BG/NBD", "n_params"]), bool(comparison.table.loc["BG/NBD", "passed"])
    (4, True)
    """
    from ..summary import customer_summary

    check_time_unit(time_unit)
    names = list(dict.fromkeys(models))
    for name in names:
        check_argument("models", list(PURCHASE_MODELS), name)
    if not names:
        raise ValueError(f"`models` must name at least one of {list(PURCHASE_MODELS)}, but {models!r} was passed.")
    validate_columns(orders, ["customer_id", "order_date", "revenue"], source="orders", what="orders table")
    known = orders["order_date"][orders["customer_id"].notna()]
    settings = {"as_of": None, "calibration_end": None, "time_unit": time_unit, "models": names}
    if known.empty:
        cal, why = None, "no order has a customer id, so there are no customers to model."
    else:
        as_of_date = (pd.Timestamp(as_of) if as_of is not None else known.max()).normalize()
        orders = orders[orders["order_date"].dt.normalize() <= as_of_date]
        first_day = orders["order_date"].min().normalize()
        cal_end = (pd.Timestamp(calibration_end).normalize() if calibration_end is not None
                   else _default_calibration_end(first_day, as_of_date))
        settings.update(as_of=as_of_date.date().isoformat(), calibration_end=cal_end.date().isoformat())
        cal, why = _calibration(orders, cal_end, as_of_date, first_day, time_unit)
    if cal is None:
        empty = pd.DataFrame(columns=LIKELIHOOD_COLUMNS + HOLDOUT_COLUMNS + GATE_COLUMNS,
                             index=pd.Index([], name="method"))
        verdict = why.replace("; historical CLV is used.", ".").replace(", so historical CLV is used.", ".")
        return ModelComparison(empty, "No comparison is possible: " + verdict, _tracking(orders, {}, None, "W"),
                               settings=settings)
    assessment = _assess(cal, names)
    # predict_clv first checks that the data can support a model at all; the comparison states the same decision.
    customers = customer_summary(orders, as_of=as_of_date, time_unit=time_unit, warn=False)
    sufficiency = check_data_sufficiency(customers, time_unit=time_unit)
    if not sufficiency.passed:
        assessment.chosen = None
    table = _table(assessment)
    fitted = {name: assessment.models[name] for name in names if assessment.models[name] is not None}
    return ModelComparison(
        table=table, verdict=_verdict(table, assessment, sufficiency),
        tracking=_tracking(orders, fitted, cal_end, "W"), choice=assessment.chosen,
        scorecards=assessment.scorecards, models=assessment.models, diagnoses=assessment.fits, calibration=cal,
        settings=settings,
    )
