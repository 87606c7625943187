"""Generated FIB-ToF-SIMS cubes for 3D tomography, with known ground truth.

The model (all lengths in the sample frame, depth z from the flat starting surface):

- a stack of layers with mean thickness ``t_k`` (nm) and laterally uniform sputter rates
  ``r_k`` (nm/scan); the interface below layer k lies at depth
  ``z_k(y, x) = D_k + h_k(y, x)`` with a smooth, zero-mean topography ``h_k``
  (RMS ``roughness_nm``);
- scan ``s`` samples, in each pixel column, the depth reached at mid-scan, ``u = s + 0.5``
  scans after the start (per-layer rates integrated down the column), so interface k is
  crossed at the fractional scan index ``S_k(y, x) - 0.5`` (the 50 % point of the
  noiseless signal, the convention of :mod:`charsuite.sims.tomo._zcorrect`);
- interfaces are broadened by an error function of 1σ width ``interface_width_nm``;
- each layer has a columnar lateral yield texture (grains) of relative RMS ``texture``,
  which gives registration something to lock on;
- an optional Mn-rich ellipsoidal inclusion in the NMC layer (a segregated region with
  known volume) and an optional two-phase NMC layer (Voronoi grains of two compositions);
- lateral stage/beam drift: the sample content of scan ``s`` appears displaced by
  ``drift_px[s] = (dy, dx)`` pixels (a random walk plus a linear trend, zero at scan 0);
- Poisson counts per voxel and species; optional blank scans (beam off) as registration
  outliers.

Scans are drawn with independent seeds (``[seed, s]``), so the cube is identical
whether it is generated in memory, lazily with dask or written chunk by chunk to disk.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

SPECIES = ("Li", "PO2", "Ni", "Mn", "Co", "In", "Fe", "O")
#: Nominal m/z (Th) of the generated species (positive-ion labels, monoisotopic).
MASSES = {
    "Li": 7.016,
    "PO2": 62.964,
    "Ni": 57.935,
    "Mn": 54.938,
    "Co": 58.933,
    "In": 114.904,
    "Fe": 55.935,
    "O": 15.995,
}
#: Mean counts per voxel and scan, per layer, in :data:`SPECIES` order.
COMPOSITION = {
    "Li": (40.0, 0.3, 0.05, 0.05, 0.05, 0.05, 0.05, 1.0),
    "LiPON": (15.0, 8.0, 0.05, 0.05, 0.05, 0.05, 0.05, 6.0),
    "NMC811": (12.0, 0.2, 8.0, 1.0, 1.0, 0.05, 0.05, 6.0),
    "ITO": (1.0, 0.05, 0.1, 0.05, 0.05, 10.0, 0.05, 5.0),
    "steel": (0.5, 0.05, 2.0, 0.3, 0.05, 0.05, 12.0, 1.0),
    "Pt": (0.5, 0.05, 0.05, 0.05, 0.05, 0.3, 0.05, 0.5),
}
#: Composition of the segregated (Mn-rich, Ni-poor) inclusion.
INCLUSION_COMPOSITION = (10.0, 0.2, 2.0, 8.0, 1.0, 0.05, 0.05, 6.0)
#: Second phase of a two-phase NMC layer (Mn-rich, Li2MnO3-like).
SECOND_PHASE_COMPOSITION = (16.0, 0.2, 2.5, 6.0, 0.6, 0.05, 0.05, 7.0)
#: (name, mean thickness nm or None for the substrate, sputter rate nm/scan), top to bottom.
DEFAULT_LAYERS = (
    ("Li", 160.0, 8.0),
    ("LiPON", 60.0, 3.0),
    ("NMC811", 120.0, 2.0),
    ("ITO", 45.0, 1.5),
    ("steel", None, 2.5),
)


def _smooth_field(rng, shape, length_px):
    """Zero-mean, unit-RMS Gaussian random field with correlation length ``length_px``."""
    from scipy import ndimage

    f = ndimage.gaussian_filter(rng.standard_normal(shape), length_px, mode="wrap")
    f -= f.mean()
    return f / (f.std() or 1.0)


def _voronoi(rng, shape, n_grains):
    import numpy as np

    pts = rng.uniform(0, 1, size=(n_grains, 2)) * np.asarray(shape)
    yy, xx = np.mgrid[0 : shape[0], 0 : shape[1]]
    d = (yy[..., None] - pts[:, 0]) ** 2 + (xx[..., None] - pts[:, 1]) ** 2
    owner = d.argmin(-1)
    phase = rng.permutation(np.arange(n_grains) % 2)
    return phase[owner].astype(bool)


class _Model:
    """Everything needed to draw scan ``s`` (small arrays; picklable for dask)."""

    def __init__(self, **kw: Any) -> None:
        self.__dict__.update(kw)

    def lam(self, s: int):
        """Expected counts of scan ``s``, shape (ny, nx, n_species)."""
        import numpy as np
        from scipy import ndimage
        from scipy.special import ndtr

        ny, nx = self.shape_yx
        p = self.pad
        dy, dx = self.drift_px[s]
        rr, cc = np.mgrid[0:ny, 0:nx].astype(float)
        coords = np.array([rr - dy + p, cc - dx + p])

        def sample(field, order=3):
            return ndimage.map_coordinates(field, coords, order=order, mode="nearest")

        n_layers = len(self.layers)
        z_if = [self.depth_nominal[k] + sample(self.topo[k]) for k in range(n_layers - 1)]
        # scan count at which each interface is reached, per column
        u = s + 0.5
        z = np.zeros((ny, nx))
        start_scan = np.zeros((ny, nx))
        top = np.zeros((ny, nx))
        assigned = np.zeros((ny, nx), bool)
        for k in range(n_layers):
            rate = self.layers[k][2]
            if k < n_layers - 1:
                end_scan = start_scan + (z_if[k] - top) / rate
                here = ~assigned & (u < end_scan)
            else:
                here = ~assigned
            z = np.where(here, top + rate * (u - start_scan), z)
            assigned |= here
            if k < n_layers - 1:
                start_scan, top = end_scan, z_if[k]
        sig = self.interface_width_nm
        lam = np.zeros((ny, nx, len(self.species)))
        upper = np.ones((ny, nx))
        for k in range(n_layers):
            lower = ndtr((z - z_if[k]) / sig) if k < n_layers - 1 else np.zeros((ny, nx))
            w = upper - lower
            upper = lower
            comp = np.broadcast_to(self.comp[k], (ny, nx, len(self.species)))
            if self.phase_field is not None and k == self.host:
                phase = sample(self.phase_field, order=0) > 0.5
                comp = np.where(phase[..., None], self.comp_second, comp)
            if self.inclusion is not None and k == self.host:
                zc, yc, xc = self.inclusion["center"]
                az, ay, ax = self.inclusion["semi_axes"]
                # sample-frame coordinates of each image pixel in this scan
                ys, xs = rr - dy, cc - dx
                inside = ((z - zc) / az) ** 2 + ((ys - yc) / ay) ** 2 + ((xs - xc) / ax) ** 2 <= 1
                comp = np.where(inside[..., None], self.comp_inclusion, comp)
            texture = np.clip(1.0 + self.texture * sample(self.tex[k]), 0.1, None)
            lam += (w * texture)[..., None] * comp
        if s in self.blank_scans:
            lam *= 0.01
        return lam

    def block(self, block_info=None):
        import numpy as np

        info = block_info[None]
        loc = info["array-location"][0]
        out = np.empty(info["chunk-shape"], dtype=self.dtype)
        for i, s in enumerate(range(*loc)):
            rng = np.random.default_rng([self.seed, s])
            out[i] = rng.poisson(self.lam(s)).astype(self.dtype)
        return out


def tomogram(
    *,
    n_scans: int | None = None,
    shape_yx: tuple[int, int] = (64, 64),
    pixel_um: float = 0.04,
    layers=DEFAULT_LAYERS,
    species=SPECIES,
    composition: dict | None = None,
    interface_width_nm: float = 3.0,
    roughness_nm: float = 4.0,
    roughness_length_px: float = 8.0,
    texture: float = 0.3,
    texture_length_px: float = 1.5,
    texture_shared: float = 0.5,
    drift_step_px: float = 0.05,
    drift_wander_px: float = 0.004,
    drift_trend_px: tuple[float, float] = (0.02, -0.015),
    blank_scans=(),
    inclusion: bool | dict = True,
    two_phase: bool = False,
    grains: int = 12,
    counts_scale: float = 1.0,
    dtype: str = "float32",
    seed: int = 0,
    lazy: bool = False,
    path: str | Path | None = None,
    force: bool = False,
    chunk_scans: int = 16,
    compression: str | None = "gzip",
    progress=None,
):
    """Generate a FIB-ToF-SIMS cube with drift, interface topography and an inclusion.

    Parameters
    ----------
    n_scans : int, optional
        Number of scans (depth slices). Default: down to the last interface plus 15 %.
    shape_yx : (int, int)
        Pixels per scan (y, x).
    pixel_um : float
        Pixel size (µm).
    layers : sequence of (name, thickness_nm, rate_nm_per_scan)
        Top to bottom; the last layer (substrate) has thickness ``None``.
    species : sequence of str
        Species labels; keys of :data:`MASSES`, or ``"<key>_<n>"`` for extra channels
        that copy the composition of ``<key>``, unless ``composition`` covers them.
    composition : dict, optional
        ``{layer name: counts per voxel per species}``; default :data:`COMPOSITION`.
    interface_width_nm : float
        1σ of the error-function interface broadening (nm).
    roughness_nm, roughness_length_px : float
        RMS (nm) and lateral correlation length (pixels) of each interface's topography.
    texture, texture_length_px : float
        Relative RMS and correlation length (pixels) of the columnar yield texture.
    texture_shared : float
        Fraction (0–1) of the texture variance common to all layers (topographic and
        microstructural contrast that persists through interfaces); the rest is
        independent per layer.
    drift_step_px : float
        RMS per-scan jitter of the random-walk drift (pixels).
    drift_wander_px : float
        RMS per-scan change of the drift velocity (pixels/scan²): smooth, slowly
        wandering thermal drift on top of the linear trend.
    drift_trend_px : (float, float)
        Linear drift per scan (dy, dx) in pixels.
    blank_scans : sequence of int
        Scans with the beam (almost) off: registration outliers.
    inclusion : bool or dict
        ``True`` for the default Mn-rich ellipsoid in the ``NMC811`` layer, or
        ``{"layer", "center": (z_nm, y_px, x_px), "semi_axes": (nm, px, px)}``.
    two_phase : bool
        Make the inclusion host layer (NMC811) two-phase: Voronoi grains of
        :data:`COMPOSITION` and :data:`SECOND_PHASE_COMPOSITION`.
    grains : int
        Number of grains of the two-phase layer.
    counts_scale : float
        Multiplies every count rate (dose).
    dtype : str
        Stored dtype (float32 as TofDAQ PeakData; an integer type for raw counts).
    seed : int
    lazy : bool
        Return a dask-backed cube generated on demand (never materialised).
    path : str or Path, optional
        Write the cube, chunk by chunk, as charsuite-h5 here (peak memory: one chunk).
    force : bool
        Replace an existing ``path``.
    chunk_scans : int
        Scans per dask block / HDF5 chunk.
    compression : str or None
        HDF5 filter for ``path``.
    progress : callable, optional
        ``progress(advance)`` called with scans written.

    Returns
    -------
    cube : xarray.DataArray or Path
        dims ``("depth", "y", "x", "species")`` (depth = scan index), or the written path.
    truth : dict
        ``drift_px`` and ``shift_px`` ((n_scans, 2); ``shift_px = -drift_px`` is the
        correction in :func:`scipy.ndimage.shift` convention), ``interface_scan`` and
        ``interface_depth_nm`` ((n_interfaces, ny, nx), sample frame = frame of scan 0),
        ``interfaces`` (names), ``rates_nm_per_scan``, ``thickness_nm``, ``inclusion``
        (center, semi-axes, ``volume_nm3``, species), ``phase_map`` (two-phase only),
        ``layer_of_scan_mean``.
    """
    import dask.array as da
    import numpy as np
    import xarray as xr

    from charsuite.exceptions import ParameterError
    from charsuite.model import history_record

    layers = tuple((str(n), None if t is None else float(t), float(r)) for n, t, r in layers)
    if not layers or any(t is None for _, t, _ in layers[:-1]):
        raise ParameterError("layers need a thickness for every layer but the last (substrate)")
    species = tuple(species)
    comp_table = {**COMPOSITION, **(composition or {})}
    missing = [n for n, _, _ in layers if n not in comp_table]
    if missing:
        raise ParameterError(f"no composition for layers {missing}; pass composition={{...}}")
    idx = {s: i for i, s in enumerate(SPECIES)}

    def pick(row, name=None):
        row = tuple(row)
        if len(row) == len(species):
            return np.asarray(row, float)
        base = [s if s in idx else s.split("_")[0] for s in species]  # "Ni_2" → "Ni"
        if len(row) == len(SPECIES) and all(b in idx for b in base):
            return np.asarray([row[idx[b]] for b in base], float)
        raise ParameterError(f"composition {name!r} has {len(row)} values for {len(species)}")

    comp = np.array([pick(comp_table[n], n) for n, _, _ in layers]) * counts_scale
    rng = np.random.default_rng(seed)
    ny, nx = shape_yx
    thick = [t for _, t, _ in layers[:-1]]
    depth_nominal = np.cumsum(thick)
    scans_nominal = np.cumsum([t / r for _, t, r in layers[:-1]])
    if n_scans is None:
        n_scans = int(np.ceil(scans_nominal[-1] * 1.15)) if len(scans_nominal) else 100

    steps = rng.normal(0, drift_step_px, size=(n_scans, 2))
    velocity = np.cumsum(rng.normal(0, drift_wander_px, size=(n_scans, 2)), axis=0)
    velocity = np.clip(velocity, -0.1, 0.1)
    steps += velocity
    steps[0] = 0
    drift = np.cumsum(steps, axis=0) + np.arange(n_scans)[:, None] * np.asarray(drift_trend_px)
    pad = int(np.ceil(np.abs(drift).max())) + 4
    big = (ny + 2 * pad, nx + 2 * pad)
    topo = [roughness_nm * _smooth_field(rng, big, roughness_length_px) for _ in thick]
    for t in topo:  # exactly zero mean inside the field of view (mean thickness = nominal)
        t -= t[pad : pad + ny, pad : pad + nx].mean()
    shared = _smooth_field(rng, big, texture_length_px)
    tex = [
        np.sqrt(1 - texture_shared) * _smooth_field(rng, big, texture_length_px)
        + np.sqrt(texture_shared) * shared
        for _ in layers
    ]

    names = [n for n, _, _ in layers]
    host = names.index("NMC811") if "NMC811" in names else min(1, len(layers) - 1)
    inc = None
    if inclusion:
        spec = {} if inclusion is True else dict(inclusion)
        host = names.index(spec.get("layer", names[host]))
        top = depth_nominal[host - 1] if host > 0 else 0.0
        t_host = layers[host][1] or 100.0
        inc = {
            "center": tuple(spec.get("center", (top + t_host / 2, ny / 2, nx / 2))),
            "semi_axes": tuple(spec.get("semi_axes", (0.3 * t_host, 0.2 * ny, 0.2 * nx))),
        }
    phase_field = None
    if two_phase:
        phase_field = _voronoi(rng, big, grains).astype(float)

    model = _Model(
        shape_yx=(ny, nx),
        pad=pad,
        drift_px=drift,
        layers=layers,
        depth_nominal=depth_nominal,
        topo=topo,
        tex=tex,
        texture=texture,
        interface_width_nm=interface_width_nm,
        species=species,
        comp=comp,
        comp_second=pick(SECOND_PHASE_COMPOSITION) * counts_scale,
        comp_inclusion=pick(INCLUSION_COMPOSITION) * counts_scale,
        host=host,
        inclusion=inc,
        phase_field=phase_field,
        blank_scans=frozenset(int(b) for b in blank_scans),
        seed=seed,
        dtype=np.dtype(dtype),
    )

    # ground truth in the sample frame (= frame of scan 0, drift 0 there)
    view = (slice(pad, pad + ny), slice(pad, pad + nx))
    z_if = np.array([depth_nominal[k] + topo[k][view] for k in range(len(thick))])
    s_if = np.zeros_like(z_if)
    prev_z, prev_s = np.zeros((ny, nx)), np.zeros((ny, nx))
    for k in range(len(thick)):
        prev_s = prev_s + (z_if[k] - prev_z) / layers[k][2]
        prev_z = z_if[k]
        s_if[k] = prev_s
    truth: dict[str, Any] = {
        "drift_px": drift,
        "shift_px": -drift,
        "interfaces": [f"{names[k]}/{names[k + 1]}" for k in range(len(thick))],
        "interface_scan": s_if - 0.5,
        "interface_depth_nm": z_if,
        "thickness_nm": list(thick),
        "rates_nm_per_scan": [r for _, _, r in layers],
        "layers": [list(layer) for layer in layers],
        "pixel_um": pixel_um,
        "species": list(species),
    }
    if inc is not None:
        px_nm = pixel_um * 1000
        az, ay, ax = inc["semi_axes"]
        truth["inclusion"] = {
            "layer": names[host],
            "center_nm": [inc["center"][0], inc["center"][1] * px_nm, inc["center"][2] * px_nm],
            "semi_axes_nm": [az, ay * px_nm, ax * px_nm],
            "volume_nm3": 4 / 3 * np.pi * az * ay * px_nm * ax * px_nm,
            "species": "Mn",
        }
    if phase_field is not None:
        truth["phase_map"] = phase_field[view] > 0.5

    shape = (n_scans, ny, nx, len(species))
    chunks = (min(chunk_scans, n_scans), ny, nx, len(species))
    data = da.map_blocks(
        model.block,
        dtype=model.dtype,
        chunks=da.core.normalize_chunks(chunks, shape),
        meta=np.empty((0, 0, 0, 0), model.dtype),
    )
    params = {
        "n_scans": n_scans,
        "shape_yx": shape_yx,
        "pixel_um": pixel_um,
        "layers": layers,
        "roughness_nm": roughness_nm,
        "drift_step_px": drift_step_px,
        "drift_trend_px": drift_trend_px,
        "blank_scans": list(blank_scans),
        "inclusion": bool(inclusion),
        "two_phase": two_phase,
        "seed": seed,
    }
    cube = xr.DataArray(
        data,
        dims=("depth", "y", "x", "species"),
        coords={
            "depth": ("depth", np.arange(n_scans, dtype=float), {"units": "scan"}),
            "y": ("y", np.arange(ny) * pixel_um, {"units": "µm"}),
            "x": ("x", np.arange(nx) * pixel_um, {"units": "µm"}),
            "species": ("species", np.asarray(species, dtype=str), {"units": "label"}),
            "mass": ("species", [MASSES.get(s, np.nan) for s in species], {"units": "Th"}),
        },
        name="counts",
        attrs={
            "units": "counts",
            "long_name": "secondary-ion counts",
            "technique": "sims",
            "format": "generated",
            "source_file": "",
            "metadata": {
                "pixel_size_um": pixel_um,
                "field_of_view_um": [ny * pixel_um, nx * pixel_um],
                "n_scans": n_scans,
                "polarity": "positive",
                "primary_ion": "Ga+",
            },
            "original_metadata": {"generator": "charsuite.datasets.tomogram", **params},
            "history": [
                history_record(
                    "generate", function="charsuite.datasets.tomogram.tomogram", parameters=params
                )
            ],
        },
    )
    if path is not None:
        from charsuite.sims.tomo import write_h5_stream

        with __import__("dask").config.set(scheduler="threads"):
            out = write_h5_stream(
                cube, path, force=force, compression=compression, progress=progress
            )
        return out, truth
    if not lazy:
        cube = cube.copy(data=data.compute(scheduler="threads"))
    return cube, truth


def two_phase_cube(
    *, n_scans: int = 24, shape_yx=(40, 40), grains: int = 10, seed: int = 1, **kwargs
):
    """A drift-free cube of a single two-phase NMC layer (for MVA tests).

    Returns ``(cube, truth)`` as :func:`tomogram`; ``truth["phase_map"]`` (y, x) is True
    in the Mn-rich phase.
    """
    kwargs.setdefault("drift_step_px", 0.0)
    kwargs.setdefault("drift_trend_px", (0.0, 0.0))
    return tomogram(
        n_scans=n_scans,
        shape_yx=shape_yx,
        layers=(("NMC811", None, 2.0),),
        inclusion=False,
        two_phase=True,
        grains=grains,
        seed=seed,
        **kwargs,
    )
