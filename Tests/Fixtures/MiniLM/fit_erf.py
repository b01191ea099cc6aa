#!/usr/bin/env python3
"""Derives the rational approximation of erf used by Sources/SentenceEmbedding/GELU.swift.

    erf(x) ≈ x · P(x²) / Q(x²)   for |x| ≤ 4 (x clamped to ±4 beyond; erf(4) = 1 − 1.5e-8),
    P of degree 6 and Q of degree 5 in x², Q(0) = 1.

Fitted in float64 by linearised least squares, x·P(t) − erf(x)·(Q(t) − 1) ≈ erf(x), on 20,000
points of (0, 4], reweighted (Lawson) towards the points of largest error for a near-minimax
fit. Prints the coefficients and the largest absolute and relative error against math.erf (both
≈ 4e-8, below Float's half-ulp near 1, so a Float GELU computed in Double through it is as
accurate as one through the C library's erff). Needs only numpy.
"""

import math

import numpy as np

P_DEGREE, Q_DEGREE, LIMIT = 6, 5, 4.0


def fit(iterations=80):
    x = np.linspace(0, LIMIT, 20001)[1:]
    y = np.array([math.erf(v) for v in x])
    t = x * x
    weights = np.ones_like(x)
    best = None
    for _ in range(iterations):
        columns = np.concatenate(
            [x[:, None] * t[:, None] ** np.arange(P_DEGREE + 1)[None, :],
             -y[:, None] * t[:, None] ** np.arange(1, Q_DEGREE + 1)[None, :]], axis=1)
        solution, *_ = np.linalg.lstsq(columns * weights[:, None], y * weights, rcond=None)
        p = solution[:P_DEGREE + 1]
        q = np.concatenate([[1.0], solution[P_DEGREE + 1:]])
        q_values = np.polyval(q[::-1], t)
        error = np.abs(x * np.polyval(p[::-1], t) / q_values - y)
        if best is None or error.max() < best[0]:
            best = (error.max(), p, q)
        weights = np.maximum(weights * np.sqrt(error / error.max()), 1e-8) / np.abs(q_values)
        weights /= weights.max()
    return best


def main():
    _, p, q = fit()
    x = np.concatenate([np.logspace(-30, math.log10(LIMIT), 100000), np.linspace(0, LIMIT, 400001)[1:]])
    exact = np.array([math.erf(v) for v in x])
    approximation = x * np.polyval(p[::-1], x * x) / np.polyval(q[::-1], x * x)
    print("P:", ", ".join(repr(float(c)) for c in p))
    print("Q:", ", ".join(repr(float(c)) for c in q))
    print(f"max abs error {np.abs(approximation - exact).max():.3e}, "
          f"max relative error {(np.abs(approximation - exact) / exact).max():.3e}")


if __name__ == "__main__":
    main()
