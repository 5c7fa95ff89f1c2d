"""How well a point fits the observations, and the intervals of the parameters (docs/calibration.md).

**Gaussian synthetic likelihood** (Wood 2010, Nature 466: 1102-1104): at a point θ the model is
run over the seeds s = 1..R; for observation i with simulated values y_i1..y_iR, mean m_i and
standard deviation s_i (ddof 1), the observed value o_i is taken as one draw of

    o_i ~ Normal(m_i, v_i),   v_i = s_i² (1 + 1/R) + sd_i²,

s_i² for the day's own chance in the observed day (it too is one draw of the residents' day),
s_i²/R for the error of the simulated mean, sd_i² for the observation's own error. v_i is at
least ``(MIN_RELATIVE_SD · max(|o_i|, 1))²`` (an assumption: a figure that does not vary over
seeds would otherwise weigh without limit). With the observations taken as independent,

    log L(θ) = Σ_i -½ [ (o_i - m_i)² / v_i + ln(2π v_i) ].

The sampler is told this log L of each evaluated point. Its values are noisy (three seeds give a
rough s_i), so the intervals are not read from them directly but from a **surrogate**: each
figure's simulated mean m_i(θ) and the log of its seed variance ln s_i²(θ) are fitted by least
squares with a full quadratic in the parameters (each scaled to [0, 1] over its range) on every
evaluated point, the regression that Wood (2010) uses for the synthetic likelihood's statistics
(the log variance raised by ln(k/2) - ψ(k/2), the mean shortfall of the log of a sample variance
with k = R - 1 degrees of freedom). log L is then computed from the fitted m_i and s_i² on a fine
set of candidate points (a scrambled Sobol' set of 2^14 points of the ranges, scipy.stats.qmc,
seeded by the method's seed, and the evaluated points), with the observations no longer taken as
independent but correlated as the figures are over seeds (:func:`seed_correlation`: two counts
of the same visits, or figures that the same draw of residents moves together, do not inform
twice): o ~ Normal(m, Σ), Σ = (1 + 1/R) S C S + diag(sd²), S the fitted seed standard
deviations, C the correlation, every variance at least the floor.

**Profile intervals** (Pawitan 2001, In All Likelihood, ch. 2.6 and 3.4): the 95% interval of
parameter j holds the values whose profile log-likelihood (the best log L over the other
parameters) is within χ²₁(0.95)/2 = 1.92 of the best. On the candidates: the range is cut into
:data:`PROFILE_BINS` equal bins (an integer parameter: one bin per whole number), the profile of
a bin is the best surrogate log L of the candidates in it, and the interval runs from the lower
edge of the first bin within the cut to the upper edge of the last (a whole number: from the
first to the last). The best value is the candidate with the highest surrogate log L.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import special, stats

from model.measures.intervals import CONFIDENCE, t_half_width

# assumption: an observed figure is never known better than 1% of its size (or 0.01 below 1)
MIN_RELATIVE_SD = 0.01
# the likelihood-ratio cut of a 95% profile interval (one parameter at a time): chi-square(1) / 2
PROFILE_DROP = float(stats.chi2.ppf(CONFIDENCE, 1)) / 2
PROFILE_BINS = 100  # bins of a parameter's range for its profile: the interval is exact to 1% of the range
CANDIDATES_LOG2 = 14  # 2^14 Sobol' candidates: over 160 in each bin of a parameter


def variance(values: np.ndarray, observed: np.ndarray, sd: np.ndarray) -> np.ndarray:
    """v_i of every observation (module docstring) from its simulated values (rows) over the seeds (columns)."""
    n = values.shape[1]
    spread = values.var(axis=1, ddof=1) if n > 1 else np.zeros(values.shape[0])
    floor = (MIN_RELATIVE_SD * np.maximum(np.abs(observed), 1.0)) ** 2
    return np.maximum(spread * (1 + 1 / n) + np.asarray(sd, dtype=float) ** 2, floor)


def log_likelihood(values: np.ndarray, observed: np.ndarray, sd: np.ndarray) -> float:
    """The log L of one point: simulated values (observation x seed) against the observed figures.

    NaN when a simulated value is undefined.
    """
    values = np.asarray(values, dtype=float)
    observed = np.asarray(observed, dtype=float)
    if not np.isfinite(values).all():
        return math.nan
    v = variance(values, observed, sd)
    mean = values.mean(axis=1)
    return float(np.sum(-0.5 * ((observed - mean) ** 2 / v + np.log(2 * math.pi * v))))


class Surrogate:
    """Full quadratic least-squares fits of every figure's mean and log seed variance on the scaled parameters.

    Args:
        x: Evaluated points, scaled to [0, 1] (point x parameter).
        means: Simulated mean of every figure at every point (point x figure).
        variances: Seed variance (ddof 1) of every figure at every point (point x figure).
        floor: The smallest variance of every figure (the log needs it above 0).
        replicates: Seeds behind every variance.
    """

    def __init__(self, x: np.ndarray, means: np.ndarray, variances: np.ndarray, floor: np.ndarray, replicates: int):
        """Fit both regressions."""
        design = quadratic_terms(x)
        self.mean_coef = np.linalg.lstsq(design, means, rcond=None)[0]
        self.logvar_coef = np.linalg.lstsq(design, np.log(np.maximum(variances, floor)), rcond=None)[0]
        # the log of a sample variance with k degrees of freedom is low by ψ(k/2) - ln(k/2) on average
        # (0.58 for three seeds: the variance 1.78 times too small); the fit is moved up by as much
        k = replicates - 1
        self.logvar_coef[0] += math.log(k / 2) - float(special.digamma(k / 2))

    def predict(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Fitted means and seed variances at scaled points ``x`` (point x figure each)."""
        design = quadratic_terms(x)
        return design @ self.mean_coef, np.exp(design @ self.logvar_coef)


def quadratic_terms(x: np.ndarray) -> np.ndarray:
    """The columns of a full quadratic in the parameters: 1, x_j, and x_j x_k for j <= k."""
    x = np.atleast_2d(np.asarray(x, dtype=float))
    columns = [np.ones(len(x))] + [x[:, j] for j in range(x.shape[1])]
    columns += [x[:, j] * x[:, k] for j in range(x.shape[1]) for k in range(j, x.shape[1])]
    return np.column_stack(columns)


def quadratic_size(parameters: int) -> int:
    """Coefficients of a full quadratic in ``parameters`` variables: (d + 1)(d + 2) / 2."""
    return (parameters + 1) * (parameters + 2) // 2


def seed_correlation(values: list[np.ndarray], seed_variance: np.ndarray) -> np.ndarray:
    """The correlation of the figures over seeds, pooled over the points, shrunk towards none.

    Each point's deviations from its own mean over the seeds, over the surrogate's seed standard
    deviation there, are pooled (P points, R seeds: P (R - 1) degrees of freedom); the correlation
    C of the pooled deviations is shrunk towards the identity, (1 - λ) C + λ I with
    λ = min(1, n / (P (R - 1))) for n figures (an assumption: few degrees of freedom for many
    figures give a rough C, which the shrinkage keeps invertible).

    Args:
        values: Simulated values of every point (figure x seed each).
        seed_variance: The surrogate's seed variance of every figure at every point (point x figure).
    """
    deviations = np.hstack(
        [(v - v.mean(axis=1, keepdims=True)) / np.sqrt(s)[:, None] for v, s in zip(values, seed_variance, strict=True)]
    )
    n, freedom = deviations.shape[0], len(values) * (values[0].shape[1] - 1)
    pooled = deviations @ deviations.T / freedom
    scale = np.sqrt(np.diag(pooled))
    with np.errstate(invalid="ignore", divide="ignore"):
        correlation = np.nan_to_num(pooled / np.outer(scale, scale))
    np.fill_diagonal(correlation, 1.0)
    shrink = min(1.0, n / freedom)
    return (1 - shrink) * correlation + shrink * np.eye(n)


def surrogate_log_likelihood(
    mean: np.ndarray,
    seed_variance: np.ndarray,
    observed: np.ndarray,
    sd: np.ndarray,
    replicates: int,
    correlation: np.ndarray | None = None,
) -> np.ndarray:
    """The log L at each candidate (rows) from the surrogate's means and seed variances (candidate x figure).

    With ``correlation`` (the figures' over seeds, :func:`seed_correlation`) the observations are
    one draw of a multivariate normal: covariance (1 + 1/R) S C S + diag(sd²), S the seed standard
    deviations, every variance at least the floor; without it, independent.
    """
    floor = (MIN_RELATIVE_SD * np.maximum(np.abs(observed), 1.0)) ** 2
    if correlation is None:
        v = np.maximum(seed_variance * (1 + 1 / replicates) + np.asarray(sd, dtype=float) ** 2, floor)
        return np.sum(-0.5 * ((observed - mean) ** 2 / v + np.log(2 * math.pi * v)), axis=1)
    spread = np.sqrt(seed_variance * (1 + 1 / replicates))
    covariance = spread[:, :, None] * correlation[None, :, :] * spread[:, None, :]
    diagonal = np.einsum("kii->ki", covariance) + np.asarray(sd, dtype=float) ** 2
    covariance += np.einsum(
        "ki,ij->kij", np.maximum(diagonal, floor) - np.einsum("kii->ki", covariance), np.eye(len(floor))
    )
    residual = observed - mean
    solved = np.linalg.solve(covariance, residual[:, :, None])[:, :, 0]
    _, logdet = np.linalg.slogdet(covariance)
    return -0.5 * (np.sum(residual * solved, axis=1) + logdet + len(floor) * math.log(2 * math.pi))


def profile_interval(
    x: np.ndarray, loglik: np.ndarray, low: float, high: float, whole: bool = False
) -> tuple[float, float, np.ndarray, np.ndarray]:
    """The 95% profile interval of one parameter from candidates (module docstring).

    Args:
        x: The parameter's value at every candidate.
        loglik: The surrogate log L at every candidate.
        low: The parameter's minimum.
        high: Its maximum.
        whole: An integer parameter (one bin per whole number).

    Returns:
        ``(ci95_low, ci95_high, centres, profile)``: the interval, and the profile at the bins'
        centres (NaN for an empty bin) for the chart.
    """
    x, loglik = np.asarray(x, dtype=float), np.asarray(loglik, dtype=float)
    if whole:
        centres = np.arange(round(low), round(high) + 1, dtype=float)
        index = np.clip(np.round(x) - centres[0], 0, len(centres) - 1).astype(int)
    else:
        edges = np.linspace(low, high, PROFILE_BINS + 1)
        centres = (edges[:-1] + edges[1:]) / 2
        index = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, PROFILE_BINS - 1)
    profile = np.full(len(centres), -np.inf)
    np.maximum.at(profile, index, loglik)
    accepted = np.flatnonzero(profile >= loglik.max() - PROFILE_DROP)
    profile[~np.isfinite(profile)] = np.nan
    if whole:
        return float(centres[accepted[0]]), float(centres[accepted[-1]]), centres, profile
    # 12 significant digits: the edges of np.linspace without their last-bit noise (0.1096, not 0.10959999999999999)
    return float(f"{edges[accepted[0]]:.12g}"), float(f"{edges[accepted[-1] + 1]:.12g}"), centres, profile


@dataclass(frozen=True)
class Estimate:
    """The parameters' best values and 95% profile intervals, from the surrogate.

    Attributes:
        best: Best value of every parameter (the candidate with the highest surrogate log L).
        low, high: The 95% profile interval of every parameter.
        profiles: For every parameter, the bins' centres and the profile there (for the chart).
        at_points: The surrogate log L at every evaluated point.
        top: The highest surrogate log L.
        best_mean: The surrogate's mean of every figure at the best values.
        best_seed_variance: Its seed variance of every figure there.
        correlation: The figures' correlation over seeds (:func:`seed_correlation`).
    """

    best: np.ndarray
    low: np.ndarray
    high: np.ndarray
    profiles: list[tuple[np.ndarray, np.ndarray]]
    at_points: np.ndarray
    top: float
    best_mean: np.ndarray
    best_seed_variance: np.ndarray
    correlation: np.ndarray


def estimate(
    points: np.ndarray,
    values: list[np.ndarray],
    observed: np.ndarray,
    sd: np.ndarray,
    ranges: list[tuple[float, float]],
    whole: list[bool],
    seed: int,
) -> Estimate:
    """Fit the surrogate on the evaluated points and read the best values and profile intervals (module docstring).

    Args:
        points: Parameter values of every evaluated point that has a log L (point x parameter).
        values: Simulated values of every such point (figure x seed each).
        observed: The observed figures.
        sd: Their standard deviations.
        ranges: Every parameter's (min, max).
        whole: Whether each parameter takes whole numbers.
        seed: Seed of the Sobol' candidates' scrambling.
    """
    from scipy.stats import qmc

    low = np.array([r[0] for r in ranges])
    span = np.array([r[1] - r[0] for r in ranges])
    replicates = values[0].shape[1]
    means = np.array([v.mean(axis=1) for v in values])
    variances = np.array([v.var(axis=1, ddof=1) for v in values])
    floor = (MIN_RELATIVE_SD * np.maximum(np.abs(observed), 1.0)) ** 2
    scaled = (np.asarray(points, dtype=float) - low) / span
    surrogate = Surrogate(scaled, means, variances, floor, replicates)
    candidates = qmc.Sobol(len(ranges), scramble=True, seed=seed).random_base2(CANDIDATES_LOG2)
    candidates = low + candidates * span
    candidates[:, whole] = np.round(candidates[:, whole])
    candidates = np.vstack([candidates, points])
    fitted_mean, fitted_variance = surrogate.predict(scaled)
    correlation = seed_correlation(values, fitted_variance)
    loglik = surrogate_log_likelihood(
        *surrogate.predict((candidates - low) / span), observed, sd, replicates, correlation
    )
    lows, highs, profiles = [], [], []
    for j, (a, b) in enumerate(ranges):
        ci_low, ci_high, centres, profile = profile_interval(candidates[:, j], loglik, a, b, whole[j])
        lows.append(ci_low)
        highs.append(ci_high)
        profiles.append((centres, profile))
    at_points = surrogate_log_likelihood(fitted_mean, fitted_variance, observed, sd, replicates, correlation)
    best = candidates[int(np.argmax(loglik))]
    best_mean, best_variance = surrogate.predict(((best - low) / span)[None, :])
    return Estimate(
        best=best,
        low=np.array(lows),
        high=np.array(highs),
        profiles=profiles,
        at_points=at_points,
        top=float(loglik.max()),
        best_mean=best_mean[0],
        best_seed_variance=best_variance[0],
        correlation=correlation,
    )


def fit_table(observations, values: np.ndarray, seed_variance: np.ndarray | None = None) -> pd.DataFrame:
    """fit.csv: every observation against the model at the best point.

    Args:
        observations: The :class:`~model.batch.calibration.observations.Observation` list.
        values: Simulated values at the best values (observation x seed).
        seed_variance: The surrogate's seed variance of every figure there (steadier than the
            point's own few seeds), or None for the point's own.

    Returns:
        One row per observation: where it is (line, figure, key, facility, type, hour), observed,
        sd, the simulated mean, standard deviation and the 95% interval of the mean over seeds
        (Student's t), and the standardised residual (observed - mean) / √v (v with the seed
        variance given).
    """
    values = np.asarray(values, dtype=float)
    observed = np.array([o.value for o in observations])
    sd = np.array([o.sd for o in observations])
    n = values.shape[1]
    mean = values.mean(axis=1)
    spread = values.std(axis=1, ddof=1) if n > 1 else np.full(len(observed), math.nan)
    half = t_half_width(spread, np.full(len(observed), n))
    if seed_variance is None:
        v = variance(values, observed, sd)
    else:
        floor = (MIN_RELATIVE_SD * np.maximum(np.abs(observed), 1.0)) ** 2
        v = np.maximum(np.asarray(seed_variance) * (1 + 1 / n) + sd**2, floor)
    residual = (observed - mean) / np.sqrt(v)
    return pd.DataFrame(
        {
            "line": [o.line for o in observations],
            "figure": [o.figure for o in observations],
            "key": [o.key for o in observations],
            "facility": pd.array([o.facility for o in observations], dtype="Int64"),
            "type": [o.type for o in observations],
            "hour": pd.array([o.hour for o in observations], dtype="Int64"),
            "observed": observed,
            "sd": sd,
            "simulated_mean": mean,
            "simulated_sd": spread,
            "ci95_low": mean - half,
            "ci95_high": mean + half,
            "residual": residual,
        }
    )
