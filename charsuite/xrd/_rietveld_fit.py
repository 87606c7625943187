"""Rietveld stage 4: least squares (variable projection) and the covariance of everything.

The nonlinear parameters go to :func:`scipy.optimize.least_squares` (``trf``, bounds,
parameters scaled to their typical step); the phase scales and the background are solved
inside every residual (``_rietveld_model.solve_linear``, variable projection [1]_).

Jacobian: ∂(model)/∂p at fixed linear coefficients is built from the analytic derivatives of
the line profiles and forward differences of the line table (``profile_derivative``), one
profile evaluation per Jacobian instead of one per parameter; Kaufman's approximation of the
variable-projection Jacobian [2]_ then projects it onto the complement of the (weighted)
design matrix, J = −(I − P_A) W ∂A/∂p c. At the end the full Jacobian (the same nonlinear
columns, unprojected, and the design matrix for the linear ones) gives Cov = (JᵀWJ)⁻¹ χ²_ν
for every parameter. lmfit is not used: it adds nothing here (no ``expr`` ties are needed)
and its wrapper cannot solve the linear block inside the residual.

References
----------
.. [1] G. H. Golub, V. Pereyra, Inverse Problems 19, R1 (2003).
.. [2] L. Kaufman, BIT 15, 49 (1975).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from charsuite.xrd import _rietveld_model as rm


@dataclasses.dataclass(frozen=True)
class FitState:
    """Outcome of the least-squares stages (``design``, ``lines``: model at the solution, with profile derivatives)."""

    values: dict
    coef: np.ndarray
    calc: np.ndarray
    lines: list
    converged: bool
    message: str
    nfev: int
    design: np.ndarray


class Problem:
    """Data, weights, phases, geometry and the parameter list of one refinement."""

    def __init__(self, x, y, wt, phases, geom, n_bkg, specs, fixed):
        self.x, self.y, self.wt = x, y, wt
        self.phases, self.geom, self.n_bkg = phases, geom, n_bkg
        self.specs = list(specs)
        self.fixed = dict(fixed)
        self._last = None

    def values(self, p, names) -> dict:
        out = dict(self.fixed)
        out.update({s.name: s.value for s in self.specs})
        by = {s.name: s for s in self.specs}
        for n, v in zip(names, p):
            out[n] = by[n].value + v * by[n].step
        return out

    def model(self, values, *, derivatives=False):
        a, lines = rm.design_matrix(
            self.x, self.phases, values, self.geom, self.n_bkg, derivatives=derivatives
        )
        coef = rm.solve_linear(a, self.y, self.wt, len(self.phases))
        return a, coef, lines

    def _evaluate(self, p, names):
        """Model with profile derivatives at ``p``; the last one is kept for :meth:`jacobian`.

        The derivatives are computed with every residual: least squares asks for the
        Jacobian at nearly every point it evaluates (each accepted step).
        """
        key = (tuple(np.asarray(p, float)), tuple(names))
        if self._last is None or self._last[0] != key:
            values = self.values(p, names)
            self._last = (key, values, *self.model(values, derivatives=True))
        return self._last[1:]

    def residual(self, p, names):
        _, a, coef, _ = self._evaluate(p, names)
        return (self.y - a @ coef) * self.wt

    def model_jacobian(self, values, names, coef, lines):
        """∂(model)/∂p for ``names`` at fixed linear coefficients ``coef`` (n × len(names))."""
        by = {s.name: s for s in self.specs}
        jac = np.zeros((len(self.x), len(names)))
        for i, ph in enumerate(self.phases):
            cols = [
                j
                for j, n in enumerate(names)
                if "." not in n or n.split(".", 1)[0] == ph.name  # global or this phase's
            ]
            if coef[i] == 0 or not cols:
                continue
            sub = [names[j] for j in cols]
            dl = rm.line_derivatives(
                ph, values, self.geom, lines[i], sub, [by[n].step * 1e-4 for n in sub]
            )
            jac[:, cols] += coef[i] * rm.profile_derivatives(lines[i], dl)
        return jac

    def jacobian(self, p, names):
        """Kaufman's variable-projection Jacobian of :meth:`residual` in scaled units."""
        values, a, coef, lines = self._evaluate(p, names)
        by = {s.name: s for s in self.specs}
        steps = np.array([by[n].step for n in names])
        dm = -self.model_jacobian(values, names, coef, lines) * (self.wt * 1.0)[:, None]
        aw = (a * self.wt[:, None])[:, (coef != 0) | (np.arange(a.shape[1]) >= len(self.phases))]
        return rm.project_out(aw, dm) * steps[None, :]

    def commit(self, p, names):
        """Write the fitted values of ``names`` back as new starting values."""
        vals = self.values(p, names)
        self.specs = [dataclasses.replace(s, value=vals[s.name]) for s in self.specs]
        self._last = None


def _bounds(prob: Problem, names):
    by = {s.name: s for s in prob.specs}
    lo = np.array([(by[n].lower - by[n].value) / by[n].step for n in names])
    hi = np.array([(by[n].upper - by[n].value) / by[n].step for n in names])
    return np.minimum(lo, -1e-12), np.maximum(hi, 1e-12)


#: ftol = xtol of the last stage: a step that lowers χ² by less than 10⁻⁶ of itself stops
#: the fit, i.e. Δχ²/χ²_ν < 10⁻⁶·n (7·10⁻³ for 7000 points): the parameters then sit within
#: ≈ √(10⁻⁶·n) ≲ 0.1 of their esd from the minimum (unchanged results at 10⁻⁸, measured).
FINAL_TOL = 1e-6
#: the earlier stages only provide starting values for the last one
START_TOL = 1e-4


def run_stage(prob: Problem, names, max_nfev: int, tol: float = FINAL_TOL):
    """One least-squares stage over the parameters ``names``; returns (ok, message, nfev)."""
    from scipy.optimize import least_squares

    names = [n for n in names if any(s.name == n for s in prob.specs)]
    if not names:
        return True, "no free parameters", 0
    lo, hi = _bounds(prob, names)
    res = least_squares(
        prob.residual,
        np.zeros(len(names)),
        bounds=(lo, hi),
        jac=prob.jacobian,
        args=(names,),
        method="trf",
        x_scale=1.0,
        max_nfev=max_nfev,
        xtol=tol,
        ftol=tol,
    )
    prob.commit(res.x, names)
    return res.status > 0, str(res.message), int(res.nfev)


def fit(prob: Problem, stages, max_nfev: int) -> FitState:
    """Run the stages in order; the last one decides convergence."""
    ok, msg, nfev = True, "", 0
    for k, names in enumerate(stages):
        last = k == len(stages) - 1
        ok, msg, n = run_stage(prob, names, max_nfev, FINAL_TOL if last else START_TOL)
        nfev += n
    vals = prob.values(np.zeros(0), [])
    a, coef, lines = prob.model(vals, derivatives=True)  # derivatives: for the covariance
    if not ok:
        msg = f"not converged after {nfev} evaluations ({msg}); the last state is returned"
    return FitState(vals, coef, a @ coef, lines, ok, msg, nfev, a)


def full_covariance(prob: Problem, state: FitState):
    """(names, covariance) of all nonlinear parameters and all linear coefficients.

    Cov = (JᵀWJ)⁻¹·χ²_ν with J the full Jacobian at the solution (linear coefficients
    fixed for the nonlinear columns; the design matrix for the linear ones).
    """
    names = [s.name for s in prob.specs]
    a, lines = state.design, state.lines
    base = state.calc
    # nonlinear columns at the final linear coefficients (scales of removed phases are 0)
    cols = prob.model_jacobian(state.values, names, state.coef, lines)
    lin = [f"scale.{ph.name}" for ph in prob.phases] + [f"bkg_{k}" for k in range(prob.n_bkg)]
    jac = np.column_stack([cols, a]) * prob.wt[:, None]
    keep = np.any(jac != 0, axis=0)
    dof = max(len(prob.y) - int(keep.sum()), 1)
    chi2 = float(np.sum(((prob.y - base) * prob.wt) ** 2)) / dof
    cov = np.full((jac.shape[1],) * 2, np.nan)
    jk = jac[:, keep]
    norm = np.linalg.norm(jk, axis=0)
    inner = np.linalg.pinv((jk / norm).T @ (jk / norm), rcond=1e-13)
    cov[np.ix_(keep, keep)] = inner / np.outer(norm, norm) * chi2
    return names + lin, cov, dof
