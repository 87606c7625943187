"""Multivariate analysis over the species axis: Poisson-scaled PCA and Poisson NMF.

Every voxel is a spectrum over the species. Both methods are out of core:

- **PCA** scales the counts for Poisson noise (Keenan & Kotula 2004):
  ``X̃ = X / sqrt(g ⊗ h)`` with ``g`` the mean counts of each voxel (over species) and
  ``h`` the mean counts of each species (over voxels), then mean-centres the columns.
  With few species (``p`` ≤ 512, solver ``"gram"``) the exact eigen-decomposition of
  the ``p × p`` covariance is accumulated in one streaming pass; with many species
  (solver ``"randomized"``) a randomized SVD (Halko, Martinsson, Tropp 2011;
  :func:`dask.array.linalg.svd_compressed`) is used. Scores are computed lazily.
- **NMF** minimises the generalised Kullback–Leibler divergence (the Poisson negative
  log-likelihood) with multiplicative updates (Lee & Seung 2001), so no noise scaling is
  needed. Loadings are fitted on a reproducible random subsample of voxels (randomized,
  bounded memory), then every voxel's scores are fitted block by block with the
  loadings fixed (out of core). Written here because scikit-learn is not a dependency and
  the KL updates are a few lines.

Sign convention: each PCA loading vector has its largest-magnitude entry positive.
NMF loadings are normalised to sum 1 (fractions of a component's counts per species);
scores are then counts per voxel.

References
----------
Keenan & Kotula, Surf. Interface Anal. 36, 203 (2004). Halko, Martinsson, Tropp,
SIAM Rev. 53, 217 (2011). Lee & Seung, NIPS 13 (2001). Cumpson et al., Surf. Interface
Anal. 47, 986 (2015) (randomized PCA of large ToF-SIMS images).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from charsuite.exceptions import DataError, ParameterError
from charsuite.model import Result, history_record
from charsuite.sims.tomo._io import compute_context, open_cube


@dataclasses.dataclass(frozen=True)
class MVAResult(Result):
    """Loadings (JSON) and lazy scores of a PCA or NMF.

    Attributes
    ----------
    method : str
    n_components : int
    species : list of str
    loadings : list of list
        ``loadings[c][j]``: component ``c``, species ``j``.
    explained_variance_ratio : list
        PCA only (fraction of the Poisson-scaled variance); empty for NMF.
    scaling : str
    history : list
    scores : xarray.DataArray
        dims (depth, y, x, component), lazy; not in JSON.
    """

    method: str
    n_components: int
    species: list
    loadings: list
    explained_variance_ratio: list
    scaling: str
    history: list
    scores: Any = dataclasses.field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        from charsuite.model import jsonable

        return {
            f.name: jsonable(getattr(self, f.name))
            for f in dataclasses.fields(self)
            if f.name != "scores"
        }

    def loadings_array(self):
        """Loadings as a DataArray (component, species)."""
        import numpy as np
        import xarray as xr

        return xr.DataArray(
            np.asarray(self.loadings),
            dims=("component", "species"),
            coords={
                "component": ("component", np.arange(self.n_components), {"units": "index"}),
                "species": ("species", self.species, {"units": "label"}),
            },
            attrs={"units": "dimensionless", "method": self.method},
        )


def _matrix(cube):
    n = cube.shape[0] * cube.shape[1] * cube.shape[2]
    data = cube.data.rechunk({1: -1, 2: -1, 3: -1})
    return data.reshape((n, cube.shape[3])).astype("f8")


def _scores(cube, flat, k, name):
    import numpy as np
    import xarray as xr

    vol = flat.reshape((*cube.shape[:3], k))
    coords = {d: cube[d] for d in ("depth", "y", "x")}
    coords["component"] = ("component", np.arange(k), {"units": "index"})
    return xr.DataArray(
        vol.astype("f4"),
        dims=("depth", "y", "x", "component"),
        coords=coords,
        attrs={"units": name, "technique": "sims"},
    )


def _history(cube, name, params):
    return [
        *cube.attrs.get("history", []),
        history_record(
            name,
            function=f"charsuite.sims.tomo._mva.{name}",
            parameters=params,
            input_file=cube.attrs.get("source_file") or None,
        ),
    ]


def _check(cube, n_components):
    p = cube.shape[3]
    if not 1 <= n_components <= p:
        raise ParameterError(
            f"n_components must be between 1 and the {p} species; got {n_components}"
        )


def pca(
    cube,
    *,
    n_components: int = 4,
    poisson: bool = True,
    solver: str = "auto",
    seed: int = 0,
    scheduler: Any = None,
) -> MVAResult:
    """Poisson-scaled, mean-centred PCA over species (out of core).

    Parameters
    ----------
    cube : xarray.DataArray or path
        (depth, y, x, species) counts.
    n_components : int
    poisson : bool
        Apply the Keenan–Kotula Poisson scaling (recommended for counts).
    solver : {"auto", "gram", "randomized"}
        ``auto`` = ``gram`` for ≤ 512 species.
    seed : int
        Seed of the randomized solver.
    scheduler : optional
        dask scheduler.

    Returns
    -------
    MVAResult
    """
    import dask.array as da
    import numpy as np

    cube = open_cube(cube)
    _check(cube, n_components)
    if solver not in ("auto", "gram", "randomized"):
        raise ParameterError(f"solver must be auto, gram or randomized; got {solver!r}")
    x = _matrix(cube)
    n, p = x.shape
    with compute_context(scheduler):
        if poisson:
            h = np.asarray(x.mean(axis=0).compute())
            if not np.all(h > 0):
                zero = [str(s) for s, v in zip(cube["species"].values, h) if v <= 0]
                raise DataError(
                    f"species {zero} have no counts; drop them before Poisson-scaled PCA"
                )
            g = x.mean(axis=1, keepdims=True)
            xs = x / da.sqrt(da.maximum(g, 1e-300)) / np.sqrt(h)
            xs = da.where(g > 0, xs, 0.0)
        else:
            xs = x
        use_gram = solver == "gram" or (solver == "auto" and p <= 512)
        if use_gram:
            gram, mu = da.compute(xs.T @ xs, xs.mean(axis=0))
            cov = gram / n - np.outer(mu, mu)
            w, v = np.linalg.eigh(cov)
            order = np.argsort(w)[::-1]
            w, v = w[order], v[:, order]
            total = float(np.clip(w, 0, None).sum())
            vk = v[:, :n_components]
            ratio = (np.clip(w[:n_components], 0, None) / total).tolist() if total else []
        else:
            mu = np.asarray(xs.mean(axis=0).compute())
            xc = xs - mu
            _, s, vt = da.linalg.svd_compressed(
                xc.rechunk({1: -1}), n_components, n_power_iter=2, seed=seed
            )
            s, vt = da.compute(s, vt)
            vk = vt.T
            total = float(((xc**2).sum()).compute())
            ratio = (s**2 / total).tolist() if total else []
    signs = np.sign(vk[np.abs(vk).argmax(axis=0), np.arange(vk.shape[1])])
    vk = vk * np.where(signs == 0, 1, signs)
    scores = _scores(cube, (xs - mu) @ vk, n_components, "dimensionless")
    params = {"n_components": n_components, "poisson": poisson, "solver": solver, "seed": seed}
    return MVAResult(
        method="pca",
        n_components=n_components,
        species=[str(s) for s in cube["species"].values],
        loadings=vk.T.tolist(),
        explained_variance_ratio=ratio,
        scaling="poisson (Keenan & Kotula 2004), mean-centred" if poisson else "mean-centred",
        history=_history(cube, "pca", params),
        scores=scores,
    )


def _kl_nmf(x, k, *, iters, tol, rng, h=None):
    """KL multiplicative updates; with ``h`` given only W is fitted."""
    import numpy as np

    eps = 1e-12
    n, p = x.shape
    scale = max(float(x.mean()), eps)
    w = rng.uniform(0.5, 1.5, size=(n, k)) * scale / k
    fit_h = h is None
    if fit_h:
        h = rng.uniform(0.5, 1.5, size=(k, p))
    prev = np.inf
    for _ in range(iters):
        wh = w @ h + eps
        if fit_h:
            h *= (w.T @ (x / wh)) / (w.sum(0)[:, None] + eps)
            wh = w @ h + eps
        w *= ((x / wh) @ h.T) / (h.sum(1)[None, :] + eps)
        if fit_h:
            wh = w @ h + eps
            div = float(np.sum(x * np.log((x + eps) / wh) - x + wh))
            if abs(prev - div) <= tol * max(abs(div), eps):
                break
            prev = div
    return w, h


def _nmf_block(block, h, iters, seed):
    import numpy as np

    shape = block.shape
    x = block.reshape(-1, shape[-1]).astype(np.float64)
    w, _ = _kl_nmf(x, h.shape[0], iters=iters, tol=0.0, rng=np.random.default_rng(seed), h=h)
    return w.reshape((*shape[:-1], h.shape[0])).astype(np.float32)


def nmf(
    cube,
    *,
    n_components: int = 3,
    max_iter: int = 300,
    tol: float = 1e-5,
    sample: int = 100_000,
    score_iter: int = 100,
    seed: int = 0,
    scheduler: Any = None,
) -> MVAResult:
    """Poisson (KL-divergence) NMF over species: randomized fit, out-of-core scores.

    Parameters
    ----------
    cube : xarray.DataArray or path
    n_components : int
    max_iter, tol : int, float
        Iterations and relative divergence change of the loading fit.
    sample : int
        Voxels drawn (without replacement, seeded) to fit the loadings.
    score_iter : int
        Multiplicative updates per voxel block for the scores (loadings fixed).
    seed : int
    scheduler : optional

    Returns
    -------
    MVAResult
        Loadings sum to 1 per component; scores in counts per voxel.
    """
    import numpy as np

    cube = open_cube(cube)
    _check(cube, n_components)
    x = _matrix(cube)
    n, _p = x.shape
    rng = np.random.default_rng(seed)
    idx = np.sort(rng.choice(n, size=min(sample, n), replace=False))
    with compute_context(scheduler):
        xs = np.asarray(x[idx].compute())
    if not np.all(np.isfinite(xs)) or (xs < 0).any():
        raise DataError("NMF needs finite, non-negative counts")
    if xs.sum() <= 0:
        raise DataError("the cube has no counts")
    w, h = _kl_nmf(xs, n_components, iters=max_iter, tol=tol, rng=rng)
    norm = h.sum(1)
    h = h / np.where(norm > 0, norm, 1)[:, None]
    w = w * norm
    order = np.argsort(w.sum(0))[::-1]
    h = h[order]
    data = cube.data.rechunk({1: -1, 2: -1, 3: -1})
    flat = data.map_blocks(
        _nmf_block,
        h,
        score_iter,
        seed,
        dtype=np.float32,
        chunks=(*data.chunks[:3], (n_components,)),
    )
    scores = _scores(cube, flat.reshape((n, n_components)), n_components, "counts")
    params = {
        "n_components": n_components,
        "max_iter": max_iter,
        "tol": tol,
        "sample": sample,
        "score_iter": score_iter,
        "seed": seed,
    }
    return MVAResult(
        method="nmf",
        n_components=n_components,
        species=[str(s) for s in cube["species"].values],
        loadings=h.tolist(),
        explained_variance_ratio=[],
        scaling="none (KL divergence = Poisson likelihood)",
        history=_history(cube, "nmf", params),
        scores=scores,
    )


def mva(cube, *, method: str = "pca", n_components: int = 4, **options) -> MVAResult:
    """Dispatch to :func:`pca` or :func:`nmf`.

    Parameters
    ----------
    cube : xarray.DataArray, str or Path
        ``(depth, y, x, species)`` cube or a file, passed on unchanged.
    method : {"pca", "nmf"}
        Decomposition to run.
    n_components : int
        Number of components.
    **options
        Further keyword arguments of :func:`pca` or :func:`nmf`.

    Returns
    -------
    MVAResult
        The result of the chosen decomposition.

    Raises
    ------
    ParameterError
        If ``method`` is neither ``"pca"`` nor ``"nmf"``.
    """
    if method == "pca":
        return pca(cube, n_components=n_components, **options)
    if method == "nmf":
        return nmf(cube, n_components=n_components, **options)
    raise ParameterError(f"method must be 'pca' or 'nmf'; got {method!r}")
