"""Experiment readout statistics (domain/readout.py) checked against scipy on known data."""

from __future__ import annotations

import csv
import io
import itertools
import json
import math
import subprocess
import sys
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import stats

from liveops.domain import readout as r

RTOL = 1e-10
DFS = [0.05, 0.1, 0.3, 0.5, 0.9, 0.999, 1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 7.3, 10.0, 19.5, 30.0, 100.0]
LARGE_DFS = [999.0, 1e4 - 1, 1e4, 3e4, 1e5, 1e6, 1e7, 1e8, 1e9]


def suff(variant: str, x: np.ndarray, y: np.ndarray | None = None) -> r.VariantStats:
    """Sufficient statistics of per-unit pairs (x, y), as experiment_daily stores them."""
    y = np.ones_like(x) if y is None else y
    return r.VariantStats(
        variant,
        len(x),
        float(x.sum()),
        float((x * x).sum()),
        float(y.sum()),
        float((y * y).sum()),
        float((x * y).sum()),
    )


def ratio_pairs(rng: np.random.Generator, n: int, p: float) -> tuple[np.ndarray, np.ndarray]:
    """A KPI-like metric: y = sessions ≥ 1 per user, x = successes among them."""
    y = rng.poisson(3.0, n).astype(float) + 1.0
    x = rng.binomial(y.astype(int), p).astype(float)
    return x, y


def pseudo_values(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Delta-method pseudo values R + (x - R·y)/ȳ: their mean is R and their variance/n is V(R)."""
    ratio = x.sum() / y.sum()
    return ratio + (x - ratio * y) / y.mean()


def close(a: float | None, b: float, rtol: float = RTOL, atol: float = 0.0) -> bool:
    return a is not None and math.isclose(a, float(b), rel_tol=rtol, abs_tol=atol)


# ---------------------------------------------------------------------------- distributions


def test_module_imports_neither_scipy_nor_numpy() -> None:
    code = (
        "import sys, liveops.domain.readout as m; "
        "print(sorted(k for k in sys.modules if k.split('.')[0] in ('scipy', 'numpy')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("df", DFS + LARGE_DFS)
def test_t_sf_and_cdf_match_scipy(df: float) -> None:
    ts = [0.0, 0.05, 0.3, 0.5, 1.0, 1.7, 1.96, 2.0, 2.5, 3.0, 5.0, 8.0, 10.0, 20.0, 38.0, 100.0, 1e4, 1e10]
    for t in ts:
        expected = stats.t.sf(t, df)
        if expected < 1e-290:  # underflow territory
            continue
        assert close(r.t_sf(t, df), expected), (df, t, r.t_sf(t, df), expected)
        assert close(r.t_cdf(-t, df), expected), (df, -t)
        assert close(r.t_cdf(t, df), stats.t.cdf(t, df)), (df, t)
        assert close(r.t_sf(-t, df), stats.t.sf(-t, df)), (df, -t)


def test_t_sf_large_t_and_special_values() -> None:
    # |t| with t² beyond the float range (scipy answers 0 there): the leading term of the series
    # I_x(a, 1/2) = x^a / (a·B(a, 1/2)) · (1 + O(x)), x = df/(df + t²)
    from scipy import special

    for df in (0.05, 0.1, 0.3):
        a = df / 2
        for t in (1e160, 1e200):
            leading = 0.5 * math.exp(
                a * (math.log(df) - 2 * math.log(t)) - math.log(a) - special.betaln(a, 0.5)
            )
            assert close(r.t_sf(t, df), leading, rtol=1e-12)
            assert close(r.t_sf(-t, df), 1 - leading, rtol=1e-15)
        # continuous across the switch at t² = 1e300
        below, above = r.t_sf(0.999999e150, df), r.t_sf(1.000001e150, df)
        assert close(below / above, (1.000001 / 0.999999) ** df, rtol=1e-10)
    assert r.t_sf(math.inf, 3.0) == 0.0
    assert r.t_sf(-math.inf, 3.0) == 1.0
    assert math.isnan(r.t_sf(1.0, 0.0))
    assert math.isnan(r.t_sf(math.nan, 3.0))
    assert close(r.t_sf(1.5, math.inf), stats.norm.sf(1.5))
    assert r.t_sf(0.0, 7.0) == 0.5


@pytest.mark.parametrize("df", DFS + LARGE_DFS)
def test_t_ppf_matches_scipy(df: float) -> None:
    ps = [1e-10, 1e-6, 1e-4, 0.001, 0.005, 0.025, 0.05, 0.1, 0.2, 0.3, 0.45]
    ps += [1.0 - p for p in ps]
    for p in ps:
        expected = stats.t.ppf(p, df)
        if df < 0.2 and min(p, 1.0 - p) < 1e-4:
            continue  # |t| > 1e80: scipy's own quantile is off there (see the mpmath test)
        # the inputs 1 - p carry a rounding of ~1e-16 absolute: relative 1e-6 at p = 1 - 1e-10
        rtol = RTOL if p < 0.5 or p < 1 - 1e-5 else 1e-5
        assert close(r.t_ppf(p, df), expected, rtol=rtol), (df, p, r.t_ppf(p, df), expected)
        # round trip through our own CDF
        assert close(r.t_cdf(r.t_ppf(p, df), df), p, rtol=1e-11)


def test_t_ppf_edges() -> None:
    assert r.t_ppf(0.5, 3.0) == 0.0
    assert r.t_ppf(0.0, 3.0) == -math.inf
    assert r.t_ppf(1.0, 3.0) == math.inf
    assert math.isnan(r.t_ppf(1.5, 3.0))
    assert math.isnan(r.t_ppf(0.5, -1.0))
    assert close(r.t_ppf(0.975, math.inf), stats.norm.ppf(0.975))
    # Cauchy (df = 1) and df = 2 closed forms
    assert close(r.t_ppf(1e-12, 1.0), stats.cauchy.ppf(1e-12))
    assert close(r.t_ppf(0.9, 2.0), stats.t.ppf(0.9, 2.0))
    # symmetric
    for df in (0.5, 3.0, 40.0):
        assert r.t_ppf(0.25, df) == -r.t_ppf(0.75, df)
        # 1 - 1e-7 is not exactly representable: agreement up to that rounding
        assert close(r.t_ppf(1e-7, df), -r.t_ppf(1 - 1e-7, df), rtol=1e-8)


def test_t_ppf_near_the_median_and_in_extreme_tails_against_mpmath() -> None:
    """Where scipy's stdtrit is itself inexact (p ≈ 1/2 at small df; |t| > 1e150), mpmath decides."""
    mp = pytest.importorskip("mpmath")
    mp.mp.dps = 60

    def ppf(p: float, df: float) -> float:  # lower-tail quantile, p < 1/2
        a, half = mp.mpf(df) / 2, mp.mpf(1) / 2

        def centre(t: Any) -> Any:  # P(0 < T < t) - (1/2 - p)
            return mp.betainc(half, a, 0, t * t / (df + t * t), regularized=True) / 2 - (half - mp.mpf(p))

        def tail(u: Any) -> Any:  # log P(T > e^u) - log p
            t = mp.e**u
            return mp.log(mp.betainc(a, half, 0, df / (df + t * t), regularized=True) / 2) - mp.log(p)

        if p > 0.25:
            return -float(mp.findroot(centre, float(-stats.t.ppf(p, df))))
        return -float(mp.e ** mp.findroot(tail, math.log(-r.t_ppf(p, df))))

    for df, p in [(3.0, 0.499999999), (5.0, 0.499999999), (1.0, 0.4999999), (0.05, 1e-12), (0.3, 1e-12)]:
        assert close(r.t_ppf(p, df), ppf(p, df), rtol=1e-11), (df, p)


@pytest.mark.parametrize("df", [1, 2, 3, 4, 5, 7, 10, 30, 100, 1000, 1e4, 1e5])
def test_chi2_sf_matches_scipy(df: float) -> None:
    for x in [
        0.0,
        1e-8,
        0.01,
        0.5,
        1.0,
        2.0,
        5.0,
        df / 2,
        df,
        df + 1,
        2 * df,
        df + 10 * math.sqrt(df),
        10 * df,
    ]:
        expected = stats.chi2.sf(x, df)
        if expected < 1e-290:
            continue
        assert close(r.chi2_sf(x, df), expected, rtol=1e-10), (df, x, r.chi2_sf(x, df), expected)
    for x in [30.0, 60.0, 120.0, 500.0]:  # tails down to ~1e-100
        assert close(r.chi2_sf(x, df), stats.chi2.sf(x, df), rtol=1e-10), (df, x)
    assert r.chi2_sf(-1.0, df) == 1.0
    assert r.chi2_sf(math.inf, df) == 0.0


def test_regularized_functions_against_scipy_special() -> None:
    from scipy import special

    for a in (0.3, 1.0, 2.5, 20.0, 150.0):
        for b in (0.5, 1.0, 3.0, 40.0):
            for x in (0.01, 0.2, 0.5, 0.8, 0.99):
                assert close(r.regularized_beta(a, b, x), special.betainc(a, b, x), rtol=1e-11, atol=1e-300)
        for x in (0.01, 0.5, a, 2 * a + 3):
            assert close(r.regularized_gamma_q(a, x), special.gammaincc(a, x), rtol=1e-11)


# ---------------------------------------------------------------------------- comparisons


@pytest.mark.parametrize(
    ("seed", "n_c", "n_t"), [(1, 500, 300), (2, 40, 2000), (3, 2, 3), (4, 5, 5), (5, 10_000, 9_000)]
)
def test_welch_plain_means_match_scipy(seed: int, n_c: int, n_t: int) -> None:
    rng = np.random.default_rng(seed)
    xc = rng.normal(10.0, 3.0, n_c)
    xt = rng.lognormal(2.3, 0.4, n_t)
    out = r.compare(suff("c", xc), suff("t", xt))
    ref = stats.ttest_ind(xt, xc, equal_var=False)
    ci = ref.confidence_interval(0.95)
    tol = 1e-8  # the sums lose a few digits against scipy's two-pass variance
    assert close(out["t_statistic"], ref.statistic, tol)
    assert close(out["p_value"], ref.pvalue, tol)
    assert close(out["df"], ref.df, tol)
    assert close(out["absolute_lift"], xt.mean() - xc.mean(), tol)
    assert close(out["absolute_lift_ci_low"], ci.low, tol)
    assert close(out["absolute_lift_ci_high"], ci.high, tol)
    # CI = Δ ± t.ppf(0.975, df)·SE
    se = math.sqrt(xt.var(ddof=1) / n_t + xc.var(ddof=1) / n_c)
    q = stats.t.ppf(0.975, ref.df)
    assert close(out["absolute_lift_ci_high"] - out["absolute_lift"], q * se, tol)
    # relative lift: delta method, same quantile
    rc, rt = xc.mean(), xt.mean()
    se_rel = math.sqrt(xt.var(ddof=1) / n_t / rc**2 + rt**2 * xc.var(ddof=1) / n_c / rc**4)
    assert close(out["relative_lift"], rt / rc - 1.0, tol)
    assert close(out["relative_lift_ci_low"], rt / rc - 1.0 - q * se_rel, tol)
    assert close(out["relative_lift_ci_high"], rt / rc - 1.0 + q * se_rel, tol)


@pytest.mark.parametrize("alpha", [0.01, 0.1, 0.2])
def test_ci_level_follows_alpha(alpha: float) -> None:
    rng = np.random.default_rng(7)
    xc, xt = rng.normal(0, 1, 60), rng.normal(0.3, 2, 45)
    out = r.compare(suff("c", xc), suff("t", xt), alpha=alpha)
    ci = stats.ttest_ind(xt, xc, equal_var=False).confidence_interval(1 - alpha)
    assert close(out["absolute_lift_ci_low"], ci.low, 1e-9)
    assert close(out["absolute_lift_ci_high"], ci.high, 1e-9)


def test_ratio_metric_delta_method_matches_direct_formula_and_scipy() -> None:
    rng = np.random.default_rng(11)
    xc, yc = ratio_pairs(rng, 3000, 0.30)
    xt, yt = ratio_pairs(rng, 2500, 0.32)
    c, t = suff("c", xc, yc), suff("t", xt, yt)
    for s, x, y in ((c, xc, yc), (t, xt, yt)):
        ratio = x.sum() / y.sum()
        assert close(s.mean, ratio)
        # direct formula: (s_x² - 2R·s_xy + R²·s_y²) / (n·ȳ²)
        cov = np.cov(x, y, ddof=1)
        direct = (cov[0, 0] - 2 * ratio * cov[0, 1] + ratio**2 * cov[1, 1]) / (len(x) * y.mean() ** 2)
        assert close(s.variance_of_mean, direct, 1e-9)
    out = r.compare(c, t)
    # Welch on the delta-method pseudo values is exactly the readout's ratio test
    ref = stats.ttest_ind(pseudo_values(xt, yt), pseudo_values(xc, yc), equal_var=False)
    ci = ref.confidence_interval(0.95)
    assert close(out["t_statistic"], ref.statistic, 1e-9)
    assert close(out["p_value"], ref.pvalue, 1e-9)
    assert close(out["df"], ref.df, 1e-9)
    assert close(out["absolute_lift_ci_low"], ci.low, 1e-9)
    assert close(out["absolute_lift_ci_high"], ci.high, 1e-9)


def test_ratio_delta_method_variances_agree_with_bootstrap() -> None:
    rng = np.random.default_rng(12)
    xc, yc = ratio_pairs(rng, 1500, 0.30)
    xt, yt = ratio_pairs(rng, 1200, 0.36)
    c, t = suff("c", xc, yc), suff("t", xt, yt)
    boot = 3000
    ic = rng.integers(0, len(xc), (boot, len(xc)))
    it = rng.integers(0, len(xt), (boot, len(xt)))
    rc = xc[ic].sum(axis=1) / yc[ic].sum(axis=1)
    rt = xt[it].sum(axis=1) / yt[it].sum(axis=1)
    assert c.variance_of_mean is not None and t.variance_of_mean is not None
    assert math.isclose(c.variance_of_mean, rc.var(ddof=1), rel_tol=0.1)
    assert math.isclose(t.variance_of_mean, rt.var(ddof=1), rel_tol=0.1)
    out = r.compare(c, t)
    q = stats.t.ppf(0.975, out["df"])
    se_rel = (out["relative_lift_ci_high"] - out["relative_lift_ci_low"]) / (2 * q)
    assert math.isclose(se_rel, (rt / rc - 1).std(ddof=1), rel_tol=0.1)


def test_plain_mean_is_the_ratio_special_case() -> None:
    x = np.array([1.0, 4.0, 2.0, 8.0, 5.0])
    s = suff("v", x)
    assert s.is_plain_mean
    assert close(s.mean, x.mean())
    assert close(s.variance_of_mean, x.var(ddof=1) / len(x))
    assert not suff("v", x, x + 1).is_plain_mean


def test_relative_lift_with_negative_control_keeps_the_direction() -> None:
    c = suff("c", np.array([-2.0, -3.0, -1.0, -2.5]))
    t = suff("t", np.array([-1.0, -1.5, -0.5, -1.2]))
    out = r.compare(c, t)
    assert out["absolute_lift"] > 0
    assert out["relative_lift"] > 0
    assert t.mean is not None and c.mean is not None
    assert close(out["relative_lift"], (t.mean - c.mean) / abs(c.mean))


# ---------------------------------------------------------------------------- degenerate inputs


def assert_json_ready(obj: Any) -> None:
    json.dumps(obj, allow_nan=False)


def test_zero_variance_both_sides_gives_nulls() -> None:
    """No test without variance: null p and CIs (scipy 1.17 answers t = ±inf, p = 0 for exactly constant
    samples and, for 3.3 vs 4.1, a rounding "variance" of ~1e-31 with t ≈ 6e15 and p = 0)."""
    for low, high in ((3.0, 4.0), (3.3, 4.1)):
        c, t = suff("c", np.full(50, low)), suff("t", np.full(50, high))
        assert c.variance_of_mean == 0.0  # rounding in the sums is not taken for variance
        out = r.compare(c, t)
        assert out["note"] == "zero_variance"
        assert out["p_value"] is None and out["absolute_lift_ci_low"] is None and out["df"] is None
        assert close(out["absolute_lift"], high - low, 1e-12)
        assert close(out["relative_lift"], (high - low) / low, 1e-12)
        assert_json_ready(out)


@pytest.mark.filterwarnings("ignore:Precision loss occurred:RuntimeWarning")
def test_zero_variance_one_side_is_still_welch() -> None:
    xc = np.full(30, 2.0)
    xt = np.random.default_rng(3).normal(2.5, 1.0, 40)
    out = r.compare(suff("c", xc), suff("t", xt))
    ref = stats.ttest_ind(xt, xc, equal_var=False)
    assert close(out["p_value"], ref.pvalue, 1e-9)
    assert close(out["df"], len(xt) - 1, 1e-9)


@pytest.mark.parametrize(
    ("control", "treatment", "note"),
    [
        (r.VariantStats("c"), r.VariantStats("t"), "mean_undefined"),
        (
            r.VariantStats("c", 10, 5.0, 5.0, 0.0, 0.0, 0.0),
            r.VariantStats("t", 10, 1, 1, 10, 10, 1),
            "mean_undefined",
        ),
        (
            r.VariantStats("c", 1, 2.0, 4.0, 1.0, 1.0, 2.0),
            r.VariantStats("t", 1, 3.0, 9.0, 1.0, 1.0, 3.0),
            "too_few_units",
        ),
    ],
)
def test_empty_and_undefined_inputs_never_raise(
    control: r.VariantStats, treatment: r.VariantStats, note: str
) -> None:
    out = r.compare(control, treatment)
    assert out["note"] == note
    assert out["p_value"] is None
    assert_json_ready(out)


def test_control_mean_zero_has_no_relative_lift() -> None:
    c = suff("c", np.array([0.0, 0.0, 0.0, 0.0]))
    t = suff("t", np.array([0.0, 1.0, 0.0, 2.0]))
    out = r.compare(c, t)
    assert out["relative_lift"] is None and out["relative_lift_ci_low"] is None
    assert out["p_value"] is not None


def test_readout_with_missing_control_variant_and_metric() -> None:
    t = suff("t", np.arange(10.0))
    result = r.readout("c", {"t": {"m": t}, "u": {}}, {"c": 1, "t": 1, "u": 1}, min_sample=2)
    assert_json_ready(result)
    assert [v["variant_id"] for v in result["variants"]] == ["c", "t", "u"]
    assert [v["exposures"] for v in result["variants"]] == [0, 10, 0]
    rows = result["metrics"][0]["variants"]
    assert rows[0]["mean"] is None and rows[0]["units"] == 0
    assert all(row["gated"] for row in rows[1:])
    assert result["comparisons_tested"] == 0
    assert result["srm"]["srm_warning"] is True


def test_readout_of_nothing() -> None:
    result = r.readout("c", {}, {}, min_sample=100)
    assert_json_ready(result)
    assert result["metrics"] == []
    assert result["srm"]["p_value"] is None and result["srm"]["srm_warning"] is False
    assert r.readout_csv(result).strip() == ",".join(r.CSV_COLUMNS)


def test_readout_rejects_bad_alpha_and_weights() -> None:
    with pytest.raises(ValueError):
        r.readout("c", {}, {"c": 1}, min_sample=1, alpha=0.0)
    with pytest.raises(ValueError):
        r.srm_check({"c": 1}, {"c": -1.0})


# ---------------------------------------------------------------------------- multiple comparisons


def test_benjamini_hochberg_matches_scipy() -> None:
    rng = np.random.default_rng(5)
    cases = [
        [0.01, 0.02, 0.03, 0.5],
        [0.04, 0.04, 0.04, 0.04],
        [1.0, 0.0, 0.5],
        [0.3],
        list(rng.uniform(0, 1, 50)),
        list(np.concatenate([rng.uniform(0, 0.001, 10), rng.uniform(0, 1, 30)])),
        list(rng.choice([0.001, 0.01, 0.2], 25)),
    ]
    for ps in cases:
        expected = stats.false_discovery_control(ps, method="bh")
        assert np.allclose(r.benjamini_hochberg(ps), expected, rtol=1e-14, atol=0)
    assert r.benjamini_hochberg([]) == []


def readout_fixture(min_sample: int = 100) -> tuple[dict[str, Any], dict[str, dict[str, tuple[Any, ...]]]]:
    """Three variants by three metrics (a plain mean, a ratio, a null effect) from known per-user data."""
    rng = np.random.default_rng(21)
    data: dict[str, dict[str, tuple[Any, ...]]] = {}
    effects = {"control": (10.0, 0.30, 0.0), "b": (10.8, 0.33, 0.0), "c": (10.1, 0.30, 0.0)}
    sizes = {"control": 1000, "b": 980, "c": 60}
    for v, (mu, p, _) in effects.items():
        n = sizes[v]
        xr, yr = ratio_pairs(rng, n, p)
        data[v] = {
            "revenue.sum": (rng.normal(mu, 4.0, n), None),
            "win_rate": (xr, yr),
            "events.count": (rng.poisson(5.0, n).astype(float), None),
        }
    stats_in = {v: {m: suff(v, *pair) for m, pair in metrics.items()} for v, metrics in data.items()}
    result = r.readout("control", stats_in, {"control": 1, "b": 1, "c": 0.06}, min_sample=min_sample)
    return result, data


def test_readout_end_to_end_against_scipy() -> None:
    result, data = readout_fixture()
    assert_json_ready(result)
    assert result["control"] == "control" and result["confidence_level"] == 0.95
    assert [m["metric"] for m in result["metrics"]] == ["revenue.sum", "win_rate", "events.count"]
    assert [m["kind"] for m in result["metrics"]] == ["mean", "ratio", "mean"]
    raw: list[float] = []
    seen: list[dict[str, Any]] = []
    for metric in result["metrics"]:
        xc, yc = data["control"][metric["metric"]]
        for row in metric["variants"]:
            x, y = data[row["variant_id"]][metric["metric"]]
            yy = np.ones_like(x) if y is None else y
            assert close(row["mean"], x.sum() / yy.sum())
            if row["is_control"]:
                assert "p_value" not in row
                continue
            if row["variant_id"] == "c":  # 60 units < min_sample 100
                assert row["gated"] is True and row["p_value"] is None and row["significant"] is None
                assert row["absolute_lift"] is not None and row["absolute_lift_ci_low"] is None
                continue
            assert row["gated"] is False
            a, b = (x, xc) if y is None else (pseudo_values(x, y), pseudo_values(xc, yc))
            ref = stats.ttest_ind(a, b, equal_var=False)
            assert close(row["p_value"], ref.pvalue, 1e-8)
            raw.append(ref.pvalue)
            seen.append(row)
    assert result["comparisons_tested"] == len(seen) == 3
    adjusted = stats.false_discovery_control(raw, method="bh")
    for row, adj in zip(seen, adjusted, strict=True):
        assert close(row["p_adjusted"], adj, 1e-8)
        assert row["significant"] == (adj <= 0.05)
    revenue_b = seen[0]
    assert revenue_b["significant"] is True and revenue_b["relative_lift"] > 0
    # SRM: 1000 : 980 : 60 against 1 : 1 : 0.06 is fine
    exp = np.array([1, 1, 0.06]) / 2.06 * 2040
    ref_srm = stats.chisquare([1000, 980, 60], exp)
    assert close(result["srm"]["chi2"], ref_srm.statistic, 1e-12)
    assert close(result["srm"]["p_value"], ref_srm.pvalue, 1e-10)
    assert result["srm"]["srm_warning"] is False
    assert [v["exposures"] for v in result["variants"]] == [1000, 980, 60]


def test_gating_lifts_when_min_sample_is_met() -> None:
    result, _ = readout_fixture(min_sample=60)
    assert result["comparisons_tested"] == 6
    assert all(
        row["gated"] is False and row["p_value"] is not None
        for m in result["metrics"]
        for row in m["variants"]
        if not row["is_control"]
    )


def test_gating_is_per_side() -> None:
    rng = np.random.default_rng(2)
    c, t = suff("c", rng.normal(0, 1, 99)), suff("t", rng.normal(0, 1, 500))
    row = r.readout("c", {"c": {"m": c}, "t": {"m": t}}, {"c": 1, "t": 1}, min_sample=100)["metrics"][0]
    assert row["variants"][1]["gated"] is True
    assert row["variants"][0]["std_error"] is not None  # means and errors still shown


# ---------------------------------------------------------------------------- sample-ratio mismatch


@pytest.mark.parametrize(
    ("observed", "weights"),
    [
        ({"a": 5000, "b": 5100}, {"a": 1, "b": 1}),
        ({"a": 5000, "b": 5400}, {"a": 1, "b": 1}),
        ({"a": 700, "b": 2100, "c": 1150}, {"a": 0.2, "b": 0.5, "c": 0.3}),
        ({"a": 10, "b": 0}, {"a": 50, "b": 50}),
    ],
)
def test_srm_matches_scipy_chisquare(observed: dict[str, int], weights: dict[str, float]) -> None:
    out = r.srm_check(observed, weights)
    obs = np.array([observed[v] for v in weights], dtype=float)
    w = np.array(list(weights.values()))
    ref = stats.chisquare(obs, obs.sum() * w / w.sum())
    assert close(out["chi2"], ref.statistic, 1e-12)
    assert close(out["p_value"], ref.pvalue, 1e-10)
    assert out["srm_warning"] == (ref.pvalue < 0.001)
    assert out["df"] == len(weights) - 1


def test_srm_warning_threshold_and_unweighted_traffic() -> None:
    assert r.srm_check({"a": 5000, "b": 5400}, {"a": 1, "b": 1})["srm_warning"] is True  # p ≈ 8e-5
    assert r.srm_check({"a": 5000, "b": 5300}, {"a": 1, "b": 1})["srm_warning"] is False  # p ≈ 0.003
    out = r.srm_check({"a": 10, "b": 10, "x": 1}, {"a": 1, "b": 1})
    assert (
        out["p_value"] == 0.0
        and out["srm_warning"] is True
        and out["note"] == "exposures_in_unweighted_variant"
    )
    assert r.srm_check({"a": 0, "b": 0}, {"a": 1, "b": 1})["note"] == "no_exposures"
    assert r.srm_check({"a": 5}, {"a": 1})["p_value"] is None


def test_exposures_override_and_default() -> None:
    rng = np.random.default_rng(8)
    per = {
        v: {"kpi": suff(v, *ratio_pairs(rng, n - 10, 0.3)), "m.sum": suff(v, rng.normal(0, 1, n))}
        for v, n in (("a", 1000), ("b", 1010))
    }
    default = r.readout("a", per, {"a": 1, "b": 1}, min_sample=10)
    assert [v["exposures"] for v in default["variants"]] == [1000, 1010]  # max units across metrics
    override = r.readout("a", per, {"a": 1, "b": 1}, min_sample=10, exposures={"a": 400, "b": 600})
    assert [v["exposures"] for v in override["variants"]] == [400, 600]
    assert override["srm"]["srm_warning"] is True
    assert [v["observed_share"] for v in override["variants"]] == [0.4, 0.6]


# ---------------------------------------------------------------------------- rows, CSV


def test_from_rows_sums_days() -> None:
    rows = [
        {"ts": 1, "variant_id": "a", "metric": "m", "units": 3, "sum_x": 6.0, "sum_x2": 14.0,
         "sum_y": 3.0, "sum_y2": 3.0, "sum_xy": 6.0},
        {"ts": 2, "variant_id": "a", "metric": "m", "units": 2, "sum_x": 9.0, "sum_x2": 41.0,
         "sum_y": 2.0, "sum_y2": 2.0, "sum_xy": 9.0},
        {"ts": 2, "variant_id": "b", "metric": "m", "units": 1, "sum_x": 1.0, "sum_x2": 1.0,
         "sum_y": 1.0, "sum_y2": 1.0, "sum_xy": 1.0},
    ]  # fmt: skip
    out = r.from_rows(rows)
    assert out["a"]["m"] == r.VariantStats("a", 5, 15.0, 55.0, 5.0, 5.0, 15.0)
    assert out["b"]["m"].units == 1
    x = np.array([1.0, 2.0, 3.0, 4.0, 5.0])  # the five user-days behind "a"
    assert close(out["a"]["m"].variance_of_mean, x.var(ddof=1) / 5)


def test_readout_csv_flat_rows() -> None:
    result, _ = readout_fixture()
    text = r.readout_csv(result)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert list(rows[0]) == r.CSV_COLUMNS
    assert len(rows) == 3 * 3
    by_key = {(row["metric"], row["variant_id"]): row for row in rows}
    json_row = result["metrics"][1]["variants"][1]
    csv_row = by_key[("win_rate", "b")]
    assert float(csv_row["p_value"]) == json_row["p_value"]
    assert float(csv_row["relative_lift_ci_low"]) == json_row["relative_lift_ci_low"]
    assert csv_row["significant"] in ("true", "false") and csv_row["kind"] == "ratio"
    assert by_key[("win_rate", "c")]["p_value"] == "" and by_key[("win_rate", "c")]["gated"] == "true"
    assert by_key[("win_rate", "control")]["is_control"] == "true"
    assert float(csv_row["srm_p_value"]) == result["srm"]["p_value"]


def test_readout_csv_guards_formula_cells() -> None:
    s = suff("=cmd", np.arange(5.0))
    result = r.readout("=cmd", {"=cmd": {"-m": s}}, {"=cmd": 1}, min_sample=1)
    row = next(csv.DictReader(io.StringIO(r.readout_csv(result))))
    assert row["variant_id"] == "'=cmd" and row["metric"] == "'-m"


# ---------------------------------------------------------------------------- properties

samples = st.lists(
    st.floats(min_value=-1e4, max_value=1e4, allow_nan=False, allow_infinity=False), min_size=0, max_size=40
)
positive = st.lists(st.integers(min_value=0, max_value=20), min_size=0, max_size=40)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    xc=samples,
    xt=samples,
    alpha=st.sampled_from([0.01, 0.05, 0.1]),
)
def test_property_plain_means(xc: list[float], xt: list[float], alpha: float) -> None:
    out = r.compare(suff("c", np.array(xc)), suff("t", np.array(xt)), alpha)
    check_comparison(out)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(yc=positive, yt=positive, pc=st.floats(0, 1), pt=st.floats(0, 1), seed=st.integers(0, 2**32 - 1))
def test_property_ratios(yc: list[int], yt: list[int], pc: float, pt: float, seed: int) -> None:
    rng = np.random.default_rng(seed)
    ac, at = np.array(yc, dtype=int), np.array(yt, dtype=int)
    xc, xt = rng.binomial(ac, pc).astype(float), rng.binomial(at, pt).astype(float)
    keep_c, keep_t = ac > 0, at > 0  # users with y = 0 are left out
    out = r.compare(
        suff("c", xc[keep_c], ac[keep_c].astype(float)), suff("t", xt[keep_t], at[keep_t].astype(float))
    )
    check_comparison(out)


def check_comparison(out: dict[str, Any]) -> None:
    assert_json_ready(out)
    if out["p_value"] is not None:
        assert 0.0 <= out["p_value"] <= 1.0
        lo, hi = out["absolute_lift_ci_low"], out["absolute_lift_ci_high"]
        assert lo is not None and hi is not None and lo <= out["absolute_lift"] <= hi
        # the absolute CI excludes 0 exactly when p < alpha (up to rounding at the boundary)
    if out["relative_lift_ci_low"] is not None:
        assert out["relative_lift_ci_low"] <= out["relative_lift"] <= out["relative_lift_ci_high"]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(min_value=0, max_value=1, allow_nan=False), min_size=0, max_size=60))
def test_property_bh(ps: list[float]) -> None:
    adjusted = r.benjamini_hochberg(ps)
    assert len(adjusted) == len(ps)
    for p, a in zip(ps, adjusted, strict=True):
        assert p <= a <= 1.0
    order = sorted(range(len(ps)), key=lambda i: ps[i])
    assert all(adjusted[i] <= adjusted[j] for i, j in itertools.pairwise(order))
    if ps:
        assert np.allclose(adjusted, stats.false_discovery_control(ps, method="bh"), rtol=1e-12, atol=0)


@settings(max_examples=100, deadline=None)
@given(
    p=st.floats(min_value=1e-12, max_value=1 - 1e-12),
    df=st.one_of(st.floats(min_value=0.2, max_value=1e3), st.floats(min_value=1e3, max_value=1e9)),
)
def test_property_t_ppf_inverts_t_cdf(p: float, df: float) -> None:
    t = r.t_ppf(p, df)
    assert math.isclose(r.t_cdf(t, df), p, rel_tol=1e-9)
    assert (t > 0) == (p > 0.5) or p == 0.5


@settings(max_examples=100, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["a", "b", "c", "d"]), st.integers(min_value=0, max_value=10**6), min_size=1
    ),
    st.dictionaries(st.sampled_from(["a", "b", "c", "d"]), st.floats(min_value=0, max_value=5), min_size=1),
)
def test_property_srm(observed: dict[str, int], weights: dict[str, float]) -> None:
    out = r.srm_check(observed, weights)
    assert_json_ready(out)
    if out["p_value"] is not None:
        assert 0.0 <= out["p_value"] <= 1.0
        assert out["srm_warning"] == (out["p_value"] < r.SRM_THRESHOLD)
