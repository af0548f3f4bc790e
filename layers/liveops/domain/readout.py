"""Experiment readouts from the `experiment_daily` sufficient statistics (docs/rollups.md).

Pure Python (``math`` only): the Student-t and chi-square distributions are implemented here, so the
module loads without scipy or numpy. Accuracy is checked against scipy in tests/unit/test_readout.py.

Data
----
Each row of `experiment_daily` holds, per day, experiment, variant and metric, over the users
active that day: ``n = units``, ``Sx = Σx``, ``Sxx = Σx²``, ``Sy = Σy``, ``Syy = Σy²``, ``Sxy = Σxy``,
where every user contributes one pair ``(x, y)``: a KPI → (numerator, denominator); ``m.sum`` →
(sum, 1); ``m.count`` → (count, 1); ``m.avg`` → (sum, count); ``events.count`` → (events, 1). Users
with ``y = 0`` are left out. Rows are summed over the days of a range (:func:`from_rows`), so
**the unit of analysis is the user-day**: a user active on d days contributes d pairs. The tests
here treat user-days as independent; the days of one user are positively correlated, so on
multi-day ranges the standard errors are somewhat optimistic (a one-day range is exact).

Every metric is a ratio of means ``R = Sx / Sy`` (= x̄ / ȳ). A metric whose ``y`` is identically 1
(``Sy = Syy = n``, kind ``"mean"``) is a plain mean ``R = x̄``; the others are kind ``"ratio"``.

Formulas (variant v, control c, ``n ≥ 2``; CI level ``1 - alpha``)
------------------------------------------------------------------
* Variance of R (delta method on the linearised values ``z = (x - R·y) / ȳ``, whose mean is 0)::

      V = Σ(x - R·y)² / ((n - 1) · n · ȳ²) = n · (Sxx - 2R·Sxy + R²·Syy) / ((n - 1) · Sy²)

  For a plain mean (y ≡ 1) this is exactly ``s²/n`` with the sample variance ``s²`` (ddof 1).
  ``std_error = √V``. A sum of squares below 1e-10 times its terms (``Sxx + 2|R·Sxy| + R²·Syy``) is
  taken as 0: rounding in the summed statistics would otherwise make a constant metric look
  "significant".
* Absolute lift ``Δ = R_v - R_c``, ``SE = √(V_v + V_c)``, ``t = Δ / SE``, Welch-Satterthwaite
  degrees of freedom ``df = (V_v + V_c)² / (V_v²/(n_v - 1) + V_c²/(n_c - 1))``, two-sided
  ``p = 2·P(T_df > |t|)``, ``CI = Δ ± t_{1-alpha/2, df} · SE``. For plain means this is Welch's t-test
  (scipy ``ttest_ind(equal_var=False)``); for ratios it is Welch's test on the delta-method pseudo
  values ``R + z`` — the delta method with a t reference instead of a normal one (identical for
  large samples, slightly conservative for small ones).
* Relative lift ``L = (R_v - R_c) / |R_c|`` (= ``R_v/R_c - 1`` when ``R_c > 0``), delta method::

      SE_L = √(V_v / R_c² + R_v² · V_c / R_c⁴),   CI = L ± t_{1-alpha/2, df} · SE_L

  with the df of the absolute test. Null when ``R_c = 0``. The p-value is the absolute test's; the
  relative CI is a delta-method approximation and can, rarely, disagree with it at the boundary.
* Multiple comparisons: the raw p-values of every tested (metric, variant) comparison of the
  readout form one Benjamini-Hochberg family (``m`` = number of tested comparisons; gated or
  untestable ones are not counted): ``p_adj(i) = min_{j ≥ i} min(1, m·p(j)/j)`` over the p-values
  in ascending order; ``significant = p_adjusted ≤ alpha``. CIs are per comparison (not adjusted).
* Gating: a comparison with fewer than `min_sample` units (of that metric) on either side is
  ``gated``: means, standard errors and point lifts are shown; t, df, CIs, p-values and the
  significance flag are null, and it is not in the BH family.
* Sample-ratio mismatch: Pearson's chi-square goodness of fit of the exposures per variant against
  ``expected_weights`` (normalised): ``χ² = Σ (o - e)² / e``, ``df = k - 1`` over the k variants
  with a positive weight, ``p = P(χ²_df > χ²)``; ``srm_warning = p < 0.001``. A variant with
  exposures but no (or zero) expected weight is a mismatch by definition (p = 0).
  Exposures default to the largest ``units`` of the variant across the metrics (a metric with
  y ≡ 1 counts every active assigned user-day; KPIs leave out users with a zero denominator), or
  are passed in `exposures` (e.g. distinct assigned users, which suits the chi-square test better:
  user-days are over-dispersed, so on long ranges the SRM check on user-days warns more readily).

Degenerate inputs never raise: zero units, ``Sy = 0`` (mean undefined), fewer than 2 units (no
variance), zero variance on both sides (no test) give null fields with a ``note``; every float in
the result is finite or None (JSON-ready).

Numerics: the t distribution via the regularized incomplete beta function (continued fraction,
modified Lentz, log-beta with Stirling corrections for large arguments) below 1e4 degrees of
freedom and Hill's normalising transformation (ACM algorithm 395) from there on; the quantile by
safeguarded Newton iteration on log t, on the centre probability near the median and on the tail
probability beyond; the chi-square survival function via the regularized upper incomplete gamma
function (series / continued fraction). Relative errors stay below 1e-10 (mostly ~1e-14), checked
against scipy (and mpmath where scipy itself is inexact).
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

SRM_THRESHOLD = 0.001
ZERO_VARIANCE_RTOL = 1e-10
# spreadsheet programs run a cell starting with one of these as a formula (same rule as the metrics CSV)
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

_EPS = 1e-16
_TINY = 1e-300
_MAX_ITER = 200_000
_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)
_SQRT2 = math.sqrt(2.0)
# from this many degrees of freedom on, the t tail comes from Hill's normalising transformation: the
# incomplete beta continued fraction loses accuracy as df grows (x = df/(df+t²) nears 1)
HILL_DF = 1e4


# ---------------------------------------------------------------------------- special functions


def _exp(v: float) -> float:
    """exp without OverflowError (math.exp raises above ~709.78)."""
    if v > 709.0:
        return math.inf
    return math.exp(v)


def _lgammacor(x: float) -> float:
    """log Γ(x) - ((x - ½)·log x - x + ½·log 2π) for x ≥ 10 (Stirling series)."""
    x2 = 1.0 / (x * x)
    coeffs = (
        1.0 / 12.0,
        -1.0 / 360.0,
        1.0 / 1260.0,
        -1.0 / 1680.0,
        1.0 / 1188.0,
        -691.0 / 360360.0,
        1.0 / 156.0,
        -3617.0 / 122400.0,
    )
    total = 0.0
    for c in reversed(coeffs):
        total = total * x2 + c
    return total / x


def _lbeta(a: float, b: float) -> float:
    """log B(a, b) without the cancellation of lgamma(a) + lgamma(b) - lgamma(a + b) for large a, b."""
    p, q = min(a, b), max(a, b)
    if p >= 10.0:
        corr = _lgammacor(p) + _lgammacor(q) - _lgammacor(p + q)
        return (
            -0.5 * math.log(q)
            + _LOG_SQRT_2PI
            + corr
            + (p - 0.5) * math.log(p / (p + q))
            + q * math.log1p(-p / (p + q))
        )
    if q >= 10.0:
        corr = _lgammacor(q) - _lgammacor(p + q)
        return math.lgamma(p) + corr + p - p * math.log(p + q) + (q - 0.5) * math.log1p(-p / (p + q))
    return math.lgamma(p) + math.lgamma(q) - math.lgamma(p + q)


def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction of I_x(a, b) (modified Lentz); converges for x < (a+1)/(a+b+2)."""
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c = 1.0
    d = 1.0 - qab * x / qap
    if abs(d) < _TINY:
        d = _TINY
    d = 1.0 / d
    h = d
    for m in range(1, _MAX_ITER):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = _TINY if abs(d) < _TINY else d
        c = 1.0 + aa / c
        c = _TINY if abs(c) < _TINY else c
        d = 1.0 / d
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = _TINY if abs(d) < _TINY else d
        c = 1.0 + aa / c
        c = _TINY if abs(c) < _TINY else c
        d = 1.0 / d
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < _EPS:
            break
    return h


def regularized_beta(a: float, b: float, x: float, y: float | None = None) -> float:
    """I_x(a, b), the regularized incomplete beta function; `y` = 1 - x when known more precisely."""
    if y is None:
        y = 1.0 - x
    if not (a > 0 and b > 0) or math.isnan(x):
        return math.nan
    if x <= 0.0:
        return 0.0
    if y <= 0.0:
        return 1.0
    log_front = a * (math.log(x) if x <= 0.5 else math.log1p(-y))
    log_front += b * (math.log(y) if y <= 0.5 else math.log1p(-x)) - _lbeta(a, b)
    front = _exp(log_front)
    if x < (a + 1.0) / (a + b + 2.0):
        return min(1.0, front * _betacf(a, b, x) / a)
    return max(0.0, 1.0 - front * _betacf(b, a, y) / b)


def _hill_z(t: float, df: float) -> float:
    """Normal deviate z ≥ 0 with P(|T_df| > |t|) = P(|Z| > z) (Hill 1970, ACM algorithm 395), df ≥ 1e4."""
    a = df - 0.5
    b = 48.0 * a * a
    y = a * math.log1p(t * t / df)
    return (((((-0.4 * y - 3.3) * y - 24.0) * y - 85.5) / (0.8 * y * y + 100.0 + b) + y + 3.0) / b + 1.0) * (
        math.sqrt(y)
    )


def _t_tail(t: float, df: float) -> float:
    """P(T > |t|), accurate relative to itself in the far tail."""
    if math.isinf(df):
        return 0.5 * math.erfc(abs(t) / _SQRT2)
    if df >= HILL_DF:
        return 0.5 * math.erfc(_hill_z(t, df) / _SQRT2)
    t2 = t * t
    if t2 > 1e300:
        # x = df/(df+t²) < 1e-290: I_x(a, 1/2) = x^a / (a·B(a, 1/2)) · (1 + O(x)), in logs (t² overflows)
        a = 0.5 * df
        return 0.5 * _exp(a * (math.log(df) - 2.0 * math.log(abs(t))) - math.log(a) - _lbeta(a, 0.5))
    x = df / (df + t2) if t2 < df else (df / t2) / (1.0 + df / t2)
    y = t2 / (df + t2) if t2 < df else 1.0 / (1.0 + df / t2)
    # P(|T| > |t|) = I_x(df/2, 1/2)
    return 0.5 * regularized_beta(0.5 * df, 0.5, x, y)


def _t_center(t: float, df: float) -> float:
    """P(0 < T < |t|), accurate relative to itself near t = 0."""
    if math.isinf(df):
        return 0.5 * math.erf(abs(t) / _SQRT2)
    if df >= HILL_DF:
        return 0.5 * math.erf(_hill_z(t, df) / _SQRT2)
    t2 = t * t
    if t2 > 1e300:
        return 0.5 - _t_tail(t, df)
    x = df / (df + t2) if t2 < df else (df / t2) / (1.0 + df / t2)
    y = t2 / (df + t2) if t2 < df else 1.0 / (1.0 + df / t2)
    # P(|T| < |t|) = I_y(1/2, df/2)
    return 0.5 * regularized_beta(0.5, 0.5 * df, y, x)


def t_sf(t: float, df: float) -> float:
    """P(T > t) for Student's t with `df` > 0 degrees of freedom (df = inf: standard normal)."""
    if math.isnan(t) or not df > 0:
        return math.nan
    if math.isinf(t):
        return 0.0 if t > 0 else 1.0
    tail = _t_tail(t, df)
    return tail if t > 0 else 1.0 - tail


def t_cdf(t: float, df: float) -> float:
    """P(T ≤ t) for Student's t with `df` degrees of freedom."""
    return t_sf(-t, df)


def _t_logpdf(t: float, df: float) -> float:
    if math.isinf(df):
        return -0.5 * t * t - _LOG_SQRT_2PI
    return -0.5 * math.log(df) - _lbeta(0.5 * df, 0.5) - 0.5 * (df + 1.0) * math.log1p(t * t / df)


def t_ppf(p: float, df: float) -> float:
    """Quantile of Student's t: the t with P(T ≤ t) = p (safeguarded Newton iteration on log t)."""
    if math.isnan(p) or not df > 0 or not 0.0 <= p <= 1.0:
        return math.nan
    if p == 0.5:
        return 0.0
    if p == 0.0:
        return -math.inf
    if p == 1.0:
        return math.inf
    sign = 1.0 if p > 0.5 else -1.0
    q = 1.0 - p if p > 0.5 else p  # upper tail P(T > |t|)
    d = abs(p - 0.5)  # centre P(0 < T < |t|), exact for 1/4 ≤ p ≤ 3/4
    if df == 1.0:
        return math.tan(math.pi * (p - 0.5)) if d < 0.25 else sign / math.tan(math.pi * q)
    if df == 2.0:
        return sign * 2.0 * d / math.sqrt(2.0 * q * (1.0 - q))
    if d < 0.25:
        return sign * _solve_log(lambda t: _t_center(t, df), d, df, increasing=True)
    return sign * _solve_log(lambda t: _t_tail(t, df), q, df, increasing=False)


def _solve_log(fn: Callable[[float], float], target: float, df: float, increasing: bool) -> float:
    """t > 0 with fn(t) = target for fn = the t tail (decreasing) or centre (increasing) probability."""
    log_target = math.log(target)

    def beyond(t: float) -> bool:  # t is at or past the solution
        return fn(t) >= target if increasing else fn(t) <= target

    hi = 1.0
    while not beyond(hi):
        hi *= 2.0
        if hi > 1e300:
            return math.inf
    lo = hi / 2.0
    while beyond(lo):
        lo /= 2.0
        if lo < 1e-300:
            return 0.0
    u_lo, u_hi = math.log(lo), math.log(hi)
    u = 0.5 * (u_lo + u_hi)
    for _ in range(300):
        t = math.exp(u)
        value = fn(t)
        if value <= 0.0:
            u_lo, u_hi = (u, u_hi) if increasing else (u_lo, u)
            u = 0.5 * (u_lo + u_hi)
            continue
        h = math.log(value) - log_target
        if (h < 0) == increasing:
            u_lo = u
        else:
            u_hi = u
        # d/du log fn(e^u) = ±pdf(t)·t / fn(t)
        slope = _exp(_t_logpdf(t, df) + u - math.log(value)) * (1.0 if increasing else -1.0)
        u_new = u - h / slope if slope != 0 else math.nan
        if not (u_lo < u_new < u_hi):
            u_new = 0.5 * (u_lo + u_hi)
        done = abs(u_new - u) <= 4e-16 * max(1.0, abs(u)) or u_hi - u_lo <= 4e-16 * max(1.0, abs(u))
        u = u_new
        if done:
            break
    return math.exp(u)


def _log1pmx(d: float) -> float:
    """log(1 + d) - d."""
    if abs(d) < 1e-3:
        # series: -d²/2 + d³/3 - d⁴/4 + ...
        total, term = 0.0, d
        for k in range(2, 12):
            term *= -d
            total += term / k
        return total
    return math.log1p(d) - d


def _gamma_log_prefix(a: float, x: float) -> float:
    """log(x^a · e^-x / Γ(a)), without cancellation for large a."""
    if a < 10.0:
        return a * math.log(x) - x - math.lgamma(a)
    d = (x - a) / a
    log1pmx = _log1pmx(d) if d > -0.5 else math.log(x) - math.log(a) - d
    return a * log1pmx + 0.5 * math.log(a) - _LOG_SQRT_2PI - _lgammacor(a)


def regularized_gamma_q(a: float, x: float) -> float:
    """Q(a, x) = Γ(a, x) / Γ(a), the regularized upper incomplete gamma function."""
    if not a > 0 or math.isnan(x):
        return math.nan
    if x <= 0.0:
        return 1.0
    if math.isinf(x):
        return 0.0
    log_prefix = _gamma_log_prefix(a, x)
    if x < a + 1.0:
        # series for P(a, x) = x^a e^-x / Γ(a+1) · Σ x^n / ((a+1)…(a+n))
        term = total = 1.0 / a
        ap = a
        for _ in range(_MAX_ITER):
            ap += 1.0
            term *= x / ap
            total += term
            if abs(term) < abs(total) * _EPS:
                break
        return max(0.0, 1.0 - total * _exp(log_prefix))
    # continued fraction for Q(a, x) (modified Lentz)
    b = x + 1.0 - a
    c = 1.0 / _TINY
    d = 1.0 / b
    h = d
    for i in range(1, _MAX_ITER):
        an = -i * (i - a)
        b += 2.0
        d = an * d + b
        d = _TINY if abs(d) < _TINY else d
        c = b + an / c
        c = _TINY if abs(c) < _TINY else c
        d = 1.0 / d
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < _EPS:
            break
    return min(1.0, _exp(log_prefix) * h)


def chi2_sf(x: float, df: float) -> float:
    """P(χ²_df > x)."""
    return regularized_gamma_q(0.5 * df, 0.5 * x)


def benjamini_hochberg(pvalues: Sequence[float]) -> list[float]:
    """Benjamini-Hochberg adjusted p-values, in the order given (scipy's false_discovery_control 'bh')."""
    m = len(pvalues)
    order = sorted(range(m), key=lambda i: pvalues[i])
    adjusted = [0.0] * m
    running = 1.0
    for rank in range(m, 0, -1):
        i = order[rank - 1]
        running = min(running, pvalues[i] * (m / rank))  # m/rank ≥ 1: never below the raw p
        adjusted[i] = min(1.0, running)
    return adjusted


# ---------------------------------------------------------------------------- sufficient statistics


@dataclass(frozen=True)
class VariantStats:
    """Sufficient statistics of one metric in one variant (summed `experiment_daily` rows)."""

    variant_id: str
    units: int = 0
    sum_x: float = 0.0
    sum_x2: float = 0.0
    sum_y: float = 0.0
    sum_y2: float = 0.0
    sum_xy: float = 0.0

    def __add__(self, other: VariantStats) -> VariantStats:
        return VariantStats(
            self.variant_id,
            self.units + other.units,
            self.sum_x + other.sum_x,
            self.sum_x2 + other.sum_x2,
            self.sum_y + other.sum_y,
            self.sum_y2 + other.sum_y2,
            self.sum_xy + other.sum_xy,
        )

    @property
    def is_plain_mean(self) -> bool:
        """y ≡ 1 for every unit (an (x, 1) metric); vacuously true without units."""
        return self.sum_y == self.units and self.sum_y2 == self.units

    @property
    def mean(self) -> float | None:
        """R = Σx / Σy; None without units or when Σy = 0."""
        if self.units <= 0 or self.sum_y == 0:
            return None
        return _finite(self.sum_x / self.sum_y)

    @property
    def variance_of_mean(self) -> float | None:
        """Delta-method variance of R (exactly s²/n for a plain mean); None with fewer than 2 units."""
        r = self.mean
        n = self.units
        if r is None or n < 2:
            return None
        ss = self.sum_x2 - 2.0 * r * self.sum_xy + r * r * self.sum_y2
        scale = self.sum_x2 + 2.0 * abs(r * self.sum_xy) + r * r * self.sum_y2
        if not math.isfinite(ss):
            return None
        if ss <= ZERO_VARIANCE_RTOL * scale:
            return 0.0
        return _div(n * ss, (n - 1) * self.sum_y * self.sum_y)


def from_rows(rows: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, VariantStats]]:
    """Sum `experiment_daily` rows (one experiment, any days) into variant → metric → VariantStats."""
    out: dict[str, dict[str, VariantStats]] = {}
    for row in rows:
        variant, metric = str(row["variant_id"]), str(row["metric"])
        stats = VariantStats(
            variant,
            int(row["units"] or 0),
            float(row["sum_x"] or 0.0),
            float(row["sum_x2"] or 0.0),
            float(row["sum_y"] or 0.0),
            float(row["sum_y2"] or 0.0),
            float(row["sum_xy"] or 0.0),
        )
        metrics = out.setdefault(variant, {})
        metrics[metric] = metrics[metric] + stats if metric in metrics else stats
    return out


# ---------------------------------------------------------------------------- comparisons


def _finite(v: float | None) -> float | None:
    return v if v is not None and math.isfinite(v) else None


def _div(a: float, b: float) -> float | None:
    """a / b when finite, else None (b may underflow to 0 for extreme inputs)."""
    return _finite(a / b) if b != 0 else None


def _clip01(p: float) -> float:
    return p if math.isnan(p) else min(1.0, max(0.0, p))


def compare(control: VariantStats, treatment: VariantStats, alpha: float = 0.05) -> dict[str, Any]:
    """Absolute and relative lift of `treatment` over `control` with CIs, t, df and p (no gating)."""
    out: dict[str, Any] = {
        "absolute_lift": None,
        "absolute_lift_ci_low": None,
        "absolute_lift_ci_high": None,
        "relative_lift": None,
        "relative_lift_ci_low": None,
        "relative_lift_ci_high": None,
        "t_statistic": None,
        "df": None,
        "p_value": None,
        "note": None,
    }
    r_c, r_t = control.mean, treatment.mean
    if r_c is None or r_t is None:
        out["note"] = "mean_undefined"
        return out
    out["absolute_lift"] = _finite(r_t - r_c)
    if r_c != 0:
        out["relative_lift"] = _finite((r_t - r_c) / abs(r_c))
    v_c, v_t = control.variance_of_mean, treatment.variance_of_mean
    if v_c is None or v_t is None:
        out["note"] = "too_few_units"
        return out
    var = v_t + v_c
    if var <= 0.0:
        out["note"] = "zero_variance"
        return out
    se = math.sqrt(var)
    df = _div(var * var, v_t * v_t / (treatment.units - 1) + v_c * v_c / (control.units - 1))
    delta = r_t - r_c
    t = delta / se
    if df is None or not math.isfinite(t):
        out["note"] = "numerically_degenerate"
        return out
    q = t_ppf(1.0 - alpha / 2.0, df)
    out.update(
        t_statistic=_finite(t),
        df=_finite(df),
        p_value=_finite(_clip01(2.0 * t_sf(abs(t), df))),
        absolute_lift_ci_low=_finite(delta - q * se),
        absolute_lift_ci_high=_finite(delta + q * se),
    )
    if r_c != 0 and out["relative_lift"] is not None:
        lift = out["relative_lift"]
        ratio = r_t / r_c
        se_rel = math.sqrt(v_t + ratio * ratio * v_c) / abs(r_c)
        out["relative_lift_ci_low"] = _finite(lift - q * se_rel)
        out["relative_lift_ci_high"] = _finite(lift + q * se_rel)
    return out


def srm_check(observed: Mapping[str, float], expected_weights: Mapping[str, float]) -> dict[str, Any]:
    """Chi-square goodness of fit of `observed` exposures per variant against `expected_weights`."""
    for variant, w in expected_weights.items():
        if not (math.isfinite(w) and w >= 0):
            raise ValueError(f"expected weight of variant {variant!r} must be a finite number ≥ 0")
    total = sum(observed.values())
    weight_total = sum(w for w in expected_weights.values())
    out: dict[str, Any] = {
        "chi2": None,
        "df": None,
        "p_value": None,
        "srm_warning": False,
        "threshold": SRM_THRESHOLD,
        "note": None,
    }
    variants = [v for v, w in expected_weights.items() if w > 0]
    if total <= 0 or len(variants) < 2:
        out["note"] = "no_exposures" if total <= 0 else "fewer_than_two_weighted_variants"
        return out
    unexpected = [v for v, o in observed.items() if o > 0 and expected_weights.get(v, 0.0) <= 0]
    if unexpected:
        out.update(p_value=0.0, srm_warning=True, note="exposures_in_unweighted_variant")
        return out
    chi2 = 0.0
    for v in variants:
        e = total * expected_weights[v] / weight_total
        o = observed.get(v, 0.0)
        chi2 += (o - e) * (o - e) / e if e > 0 else math.inf
    df = len(variants) - 1
    p = chi2_sf(chi2, df)
    out.update(chi2=_finite(chi2), df=df, p_value=_finite(p), srm_warning=p < SRM_THRESHOLD)
    return out


def readout(
    control_id: str,
    variants: Mapping[str, Mapping[str, VariantStats]],
    expected_weights: Mapping[str, float],
    min_sample: int,
    alpha: float = 0.05,
    exposures: Mapping[str, float] | None = None,
) -> dict[str, Any]:
    """The readout of one experiment (see the module docstring for the formulas); JSON-ready.

    `variants` maps variant → metric → summed statistics; variants named only in `expected_weights`
    (or the control) count with no data. `exposures` overrides the per-variant exposures used for
    the SRM check (default: the largest units of the variant across metrics).
    """
    if not 0.0 < alpha < 1.0:
        raise ValueError("alpha must lie in (0, 1)")
    order = [control_id]
    for v in [*expected_weights, *variants]:
        if v not in order:
            order.append(v)
    metric_names: list[str] = []
    for per_metric in variants.values():
        for name in per_metric:
            if name not in metric_names:
                metric_names.append(name)

    def stats(variant: str, metric: str) -> VariantStats:
        return variants.get(variant, {}).get(metric) or VariantStats(variant)

    exposed: dict[str, float]
    if exposures is None:
        exposed = {v: max((s.units for s in variants.get(v, {}).values()), default=0) for v in order}
    else:
        exposed = {v: exposures.get(v, 0) for v in order}
    weight_total = sum(w for w in expected_weights.values() if math.isfinite(w) and w > 0)
    srm = srm_check(exposed, expected_weights)
    total = sum(exposed.values())

    metrics_out: list[dict[str, Any]] = []
    tested: list[dict[str, Any]] = []
    for name in metric_names:
        control = stats(control_id, name)
        plain = all(stats(v, name).is_plain_mean for v in order)
        rows: list[dict[str, Any]] = []
        for v in order:
            s = stats(v, name)
            var = s.variance_of_mean
            row: dict[str, Any] = {
                "variant_id": v,
                "is_control": v == control_id,
                "units": s.units,
                "mean": s.mean,
                "std_error": _finite(math.sqrt(var)) if var is not None else None,
            }
            if v != control_id:
                gated = min(s.units, control.units) < min_sample
                comparison = compare(control, s, alpha)
                if gated:
                    for key in (
                        "absolute_lift_ci_low",
                        "absolute_lift_ci_high",
                        "relative_lift_ci_low",
                        "relative_lift_ci_high",
                        "t_statistic",
                        "df",
                        "p_value",
                    ):
                        comparison[key] = None
                    comparison["note"] = "min_sample"
                row.update(comparison)
                row.update(p_adjusted=None, significant=None, gated=gated)
                if row["p_value"] is not None:
                    tested.append(row)
            rows.append(row)
        metrics_out.append({"metric": name, "kind": "mean" if plain else "ratio", "variants": rows})

    for row, adjusted in zip(tested, benjamini_hochberg([r["p_value"] for r in tested]), strict=True):
        row["p_adjusted"] = adjusted
        row["significant"] = adjusted <= alpha

    return {
        "control": control_id,
        "alpha": alpha,
        "confidence_level": 1.0 - alpha,
        "min_sample": min_sample,
        "unit": "user_day",
        "comparisons_tested": len(tested),
        "variants": [
            {
                "variant_id": v,
                "is_control": v == control_id,
                "exposures": exposed[v],
                "observed_share": _finite(exposed[v] / total) if total > 0 else None,
                "expected_share": (
                    _finite(expected_weights.get(v, 0.0) / weight_total) if weight_total > 0 else None
                ),
            }
            for v in order
        ],
        "srm": srm,
        "metrics": metrics_out,
    }


CSV_COLUMNS = [
    "metric",
    "kind",
    "variant_id",
    "is_control",
    "exposures",
    "units",
    "mean",
    "std_error",
    "absolute_lift",
    "absolute_lift_ci_low",
    "absolute_lift_ci_high",
    "relative_lift",
    "relative_lift_ci_low",
    "relative_lift_ci_high",
    "t_statistic",
    "df",
    "p_value",
    "p_adjusted",
    "significant",
    "gated",
    "note",
    "srm_chi2",
    "srm_p_value",
    "srm_warning",
]


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return repr(v)
    text = str(v)
    return "'" + text if text.startswith(FORMULA_START) else text


def readout_csv(result: Mapping[str, Any]) -> str:
    """one flat row per metric and variant of a :func:`readout` result (SRM columns repeated)."""
    exposures = {v["variant_id"]: v["exposures"] for v in result["variants"]}
    srm = result["srm"]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for metric in result["metrics"]:
        for row in metric["variants"]:
            flat = {
                **row,
                "metric": metric["metric"],
                "kind": metric["kind"],
                "exposures": exposures.get(row["variant_id"]),
                "srm_chi2": srm["chi2"],
                "srm_p_value": srm["p_value"],
                "srm_warning": srm["srm_warning"],
            }
            writer.writerow([_cell(flat.get(column)) for column in CSV_COLUMNS])
    return buffer.getvalue()
