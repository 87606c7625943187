"""Tomogram and mesh exports, streamed block by block and written atomically.

============ ============================= =================================================
extension    format                        content
============ ============================= =================================================
``.h5``      charsuite-h5                  cube with axes, units, metadata and history
                                           (read back with :func:`charsuite.read`)
``.ome.tif`` OME-TIFF (tifffile)           ZCYX stack, one channel per species, physical
                                           voxel sizes, species names as channel names
``.tif``     TIFF / ImageJ hyperstack      same stack, ImageJ metadata (axes, spacing)
``.zarr``    zarr v3 directory             ``data`` array (chunked) + coordinate arrays;
                                           units, metadata and history in attributes
``.ply``     PLY (meshio)                  triangle mesh, vertices (x, y, z) in nm
``.obj``     Wavefront OBJ (meshio)        idem
``.vtk``     legacy VTK (meshio)           idem
============ ============================= =================================================

Every writer computes one depth block at a time (any dask scheduler), writes to a
temporary name and renames at the end: an interrupted export leaves nothing behind.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from charsuite.exceptions import CharsuiteError, ParameterError
from charsuite.model import Result
from charsuite.sims.tomo._io import compute_context, iter_blocks, open_cube, write_h5_stream

TOMOGRAM_FORMATS = (".h5", ".hdf5", ".tif", ".tiff", ".ome.tif", ".ome.tiff", ".zarr")
MESH_FORMATS = (".ply", ".obj", ".vtk")


def _suffix(path: Path) -> str:
    name = path.name.lower()
    for ext in sorted(TOMOGRAM_FORMATS + MESH_FORMATS, key=len, reverse=True):
        if name.endswith(ext):
            return ext
    return path.suffix.lower()


def _voxel(tomo) -> list[float]:
    import numpy as np

    out = []
    for d in ("depth", "y", "x"):
        c = np.asarray(tomo[d].values, float)
        out.append(float(np.median(np.diff(c))) if c.size > 1 else 1.0)
    return out


def export_tomogram(
    tomogram,
    path: str | Path,
    *,
    force: bool = False,
    compression: str | None = "gzip",
    scheduler: Any = None,
    progress=None,
) -> Path:
    """Write a (depth, y, x, species) tomogram; the format follows the extension.

    Parameters
    ----------
    tomogram : xarray.DataArray or path
    path : str or Path
        ``.h5``, ``.tif``/``.ome.tif`` or ``.zarr``.
    force : bool
        Replace an existing output.
    compression : str or None
        HDF5 filter (``.h5``); zarr uses its default codec; TIFF is uncompressed.
    scheduler : optional
        dask scheduler for computing the blocks.
    progress : callable, optional
        ``progress(advance)`` with the number of depth slices written.

    Returns
    -------
    Path
    """
    tomo = open_cube(tomogram)
    path = Path(path)
    try:
        return _export(tomo, path, force, compression, scheduler, progress)
    except OSError as err:
        if isinstance(err, CharsuiteError):
            raise
        raise ParameterError(
            f"cannot write the tomogram ({err.strerror or err}); choose a writable location",
            path=path,
        ) from err


def _export(tomo, path, force, compression, scheduler, progress):
    ext = _suffix(path)
    with compute_context(scheduler):
        if ext in (".h5", ".hdf5"):
            return write_h5_stream(
                tomo, path, force=force, compression=compression, progress=progress
            )
        if ext in (".tif", ".tiff", ".ome.tif", ".ome.tiff"):
            return _write_tiff(
                tomo, path, force=force, ome=ext.startswith(".ome"), progress=progress
            )
        if ext == ".zarr":
            return _write_zarr(tomo, path, force=force, progress=progress)
    raise ParameterError(
        f"unknown tomogram output type {path.name!r}; use one of {', '.join(TOMOGRAM_FORMATS)}"
    )


def _write_tiff(tomo, path: Path, *, force: bool, ome: bool, progress) -> Path:
    import numpy as np
    import tifffile

    from charsuite.io import atomic_path

    nz, ny, nx, ns = tomo.shape
    dz, dy, dx = _voxel(tomo)
    dtype = np.dtype(tomo.dtype)
    if dtype.kind == "f":
        dtype = np.dtype(np.float32)
    units = {d: tomo[d].attrs.get("units", "") for d in ("depth", "y", "x")}
    species = [str(s) for s in tomo["species"].values]

    def pages():
        for _, block in iter_blocks(tomo.data):
            for plane in block:  # (y, x, species) -> one page per species (ZCYX order)
                for j in range(ns):
                    yield np.ascontiguousarray(plane[:, :, j], dtype=dtype)
            if progress:
                progress(block.shape[0])

    nbytes = nz * ny * nx * ns * dtype.itemsize
    if ome:
        unit_map = {"µm": "µm", "um": "µm", "nm": "nm"}
        metadata = {
            "axes": "ZCYX",
            "Channel": {"Name": species},
            "PhysicalSizeZ": dz,
            "PhysicalSizeZUnit": unit_map.get(units["depth"], "nm"),
            "PhysicalSizeY": dy,
            "PhysicalSizeYUnit": unit_map.get(units["y"], "µm"),
            "PhysicalSizeX": dx,
            "PhysicalSizeXUnit": unit_map.get(units["x"], "µm"),
        }
        kwargs: dict[str, Any] = {"ome": True}
    else:
        metadata = {
            "axes": "ZCYX",
            "spacing": dz,
            "unit": {"µm": "micron", "um": "micron", "nm": "nm"}.get(units["y"], "pixel"),
            "Labels": species * nz,
        }
        kwargs = {"imagej": dtype.kind != "f" or dtype == np.float32}
    with (
        atomic_path(path, force=force) as tmp,
        tifffile.TiffWriter(tmp, bigtiff=nbytes > 2**31, **kwargs) as tw,
    ):
        tw.write(
            pages(),
            shape=(nz, ns, ny, nx),
            dtype=dtype,
            metadata=metadata,
            resolution=(1.0 / dx, 1.0 / dy) if dx and dy else None,
        )
    return path


def _write_zarr(tomo, path: Path, *, force: bool, progress) -> Path:
    import numpy as np
    import zarr

    from charsuite.io import atomic_dir
    from charsuite.model import jsonable

    with atomic_dir(path, force=force) as tmp:  # written beside, swapped in atomically
        root = zarr.open_group(str(tmp), mode="w")
        chunks = tuple(max(c) for c in tomo.data.chunks) if hasattr(tomo.data, "chunks") else None
        arr = root.create_array(
            "data", shape=tomo.shape, dtype=tomo.dtype, chunks=chunks or tomo.shape
        )
        arr.attrs.update({"dims": list(tomo.dims), "units": tomo.attrs.get("units", "counts")})
        for name, coord in tomo.coords.items():
            values = np.asarray(coord.values)
            if values.dtype.kind in "UO":
                c = root.create_array(str(name), shape=values.shape, dtype=str)
                c[...] = values.astype(str)
            else:
                c = root.create_array(str(name), shape=values.shape, dtype=values.dtype)
                c[...] = values
            c.attrs.update(
                {"dims": list(coord.dims), **jsonable(coord.attrs, max_array=64, nan=True)}
            )
        root.attrs.update(
            {
                "charsuite_format": "charsuite-zarr",
                "attrs_json": json.dumps(jsonable(tomo.attrs, max_array=64, nan=True)),
            }
        )
        for start, block in iter_blocks(tomo.data):
            arr[start : start + block.shape[0]] = block
            if progress:
                progress(block.shape[0])
    return path


def read_zarr(path: str | Path, *, lazy: bool = True):
    """Read a tomogram written by :func:`export_tomogram` to ``.zarr`` (dask-backed).

    Parameters
    ----------
    path : str or Path
        The ``.zarr`` store.
    lazy : bool
        Wrap the data in a dask array (default); otherwise load them into memory.

    Returns
    -------
    xarray.DataArray
        The tomogram ``counts`` with its stored dimensions, coordinates and attributes.
    """
    import dask.array as da
    import numpy as np
    import xarray as xr
    import zarr

    root = zarr.open_group(str(path), mode="r")
    arr = root["data"]
    dims = list(arr.attrs["dims"])
    coords = {}
    for name in root.array_keys():
        if name == "data":
            continue
        c = root[name]
        attrs = dict(c.attrs)
        cdims = attrs.pop("dims")
        coords[name] = (cdims, np.asarray(c[...]), attrs)
    data = da.from_zarr(arr) if lazy else arr[...]
    attrs = json.loads(root.attrs["attrs_json"])
    return xr.DataArray(data, dims=dims, coords=coords, attrs=attrs, name="counts")


def write_mesh(mesh, path: str | Path, *, force: bool = False) -> Path:
    """Write a :class:`charsuite.sims.tomo._segment.Mesh` as ``.ply``, ``.obj`` or ``.vtk`` (nm).

    Vertices are written as (x, y, z) in nm, z pointing into the sample.

    Parameters
    ----------
    mesh : Mesh
        Triangle mesh from :func:`charsuite.sims.tomo.isosurface`.
    path : str or Path
        Destination; the suffix chooses the format (``.ply`` written binary).
    force : bool
        Replace an existing file.

    Returns
    -------
    Path
        The written path.

    Raises
    ------
    ParameterError
        If the suffix is not a supported mesh type.
    """
    import meshio
    import numpy as np

    from charsuite.io import atomic_path

    path = Path(path)
    ext = _suffix(path)
    if ext not in MESH_FORMATS:
        raise ParameterError(f"unknown mesh type {path.name!r}; use one of {MESH_FORMATS}")
    pts = np.asarray(mesh.vertices, float)[:, ::-1]
    m = meshio.Mesh(pts, [("triangle", np.asarray(mesh.faces, np.int64))])
    fmt = {".ply": "ply", ".obj": "obj", ".vtk": "vtk"}[ext]
    with atomic_path(path, force=force) as tmp:
        if fmt == "ply":
            meshio.write(tmp, m, file_format=fmt, binary=True)
        else:
            meshio.write(tmp, m, file_format=fmt)
    return path


@dataclasses.dataclass(frozen=True)
class TomogramResult(Result):
    """What :func:`reconstruct` did (the ``charsuite sims tomogram`` JSON)."""

    file: str | None
    output: str | None
    species: list
    shape: list
    voxel_nm: list
    registration: dict | None
    zcorrection: dict | None
    render: str | None
    isosurfaces: dict
    history: list
    regions: list = dataclasses.field(default_factory=list)


def reconstruct(
    source,
    *,
    species=None,
    register: bool = False,
    register_image: Any = "tic",
    integer_shifts: bool = False,
    layers=None,
    voxel_nm: float | None = None,
    resample: str = "linear",
    bin: tuple[int, int, int] | None = None,
    denoise: str | None = None,
    isosurfaces: dict | None = None,
    regions=None,
    interface_map: str | Path | None = None,
    output: str | Path | None = None,
    render: Any = None,
    force: bool = False,
    scheduler: Any = None,
    progress=None,
):
    """Register, z-correct, select species and export a tomogram, streaming throughout.

    Parameters
    ----------
    source : str, Path or xarray.DataArray
        SIMS cube (depth = scan index, y, x, species) or a file readable by
        :func:`charsuite.read`.
    species : sequence of str, optional
        Species to keep (default all). Registration always uses all species' counts.
    register : bool
        Estimate and correct lateral drift (:mod:`charsuite.sims.tomo._register`).
    register_image : "tic", str, list or DataArray
        Registration image.
    integer_shifts : bool
        Whole-pixel shifts that keep Poisson counts.
    layers : str or sequence, optional
        Stack for z-correction (:func:`charsuite.sims.tomo._zcorrect.parse_layers`); no
        z-correction when omitted.
    voxel_nm : float, optional
        z step of the corrected grid.
    resample : {"linear", "nearest"}
    bin : (int, int, int), optional
        Sum counts in (depth, y, x) blocks after z-correction.
    denoise : {None, "gaussian", "nlmeans"}
        Gaussian (σ = 1 voxel) or Anscombe non-local means (per scan), see
        :mod:`charsuite.sims.tomo._segment`.
    isosurfaces : dict, optional
        ``{species: mesh path (.ply/.obj/.vtk)}``: marching-cubes meshes (50 % level).
    regions : sequence of str, optional
        Segregated-region detection (:func:`charsuite.sims.tomo._segment.find_regions`, out of
        core) for each ``"SPECIES"`` (whole tomogram) or ``"SPECIES@LAYER"`` (only
        inside that layer of ``layers``, bounded by the per-column interface depths).
        Needs z-correction (sizes in nm). Summaries go to ``TomogramResult.regions``.
    interface_map : str or Path, optional
        Write the per-column interface depths (nm, dims (interface, y, x), on the
        registered grid) here: ``.h5`` (charsuite-h5) or ``.tif`` (one float32 page per
        interface). Needs ``layers``. Its summary is ``zcorrection["interface_map"]``.
    output : str or Path, optional
        ``.h5``, ``.tif``/``.ome.tif`` or ``.zarr``.
    render : callable, optional
        ``render(tomogram) -> path``: draws the finished tomogram (inside the same
        scheduler context) and returns the file it wrote, e.g.
        ``lambda t: charsuite.plotting.tomogram.plot_tomogram(t, "tomo.png")``. A callable
        keeps this module free of matplotlib (only ``charsuite.plotting`` imports it).
    force : bool
    scheduler : optional
        dask scheduler: None (local threads), an address ``tcp://host:8786`` or a Client.
    progress : callable, optional
        ``progress(advance=1, total=None, description=None)``.

    Returns
    -------
    (xarray.DataArray, TomogramResult)
        The lazy tomogram and the summary.
    """
    from charsuite.model import add_history
    from charsuite.sims.tomo import _register as reg
    from charsuite.sims.tomo import _zcorrect as zc

    def step(description, total=None):
        if progress:
            progress(0, total=total, description=description)

    with compute_context(scheduler) as client:
        sched = client if client is not None else None
        cube = open_cube(source)
        have = [str(s) for s in cube["species"].values]
        keep = have if species is None else [str(s) for s in species]
        missing = [s for s in keep if s not in have]
        if missing or not keep:
            raise ParameterError(f"species {missing or keep} are not in the cube; it has {have}")
        source_file = cube.attrs.get("source_file") or (
            str(source) if isinstance(source, str | Path) else None
        )
        registration = None
        if register:
            step("registering scans", total=cube.shape[0])
            drift = reg.estimate_drift(
                cube, image=register_image, scheduler=sched, progress=progress
            )
            # shift only what is used downstream (kept species and the layer markers):
            # registering 56 species to export 3 would multiply the work and the block size
            needed = list(keep)
            if layers is not None:
                needed += [m.marker for m in zc.parse_layers(layers) if m.marker not in needed]
            if len(needed) < cube.sizes["species"]:
                cube = cube.sel(species=[s for s in have if s in needed])
            cube = reg.apply_drift(cube, drift, integer=integer_shifts)
            cube = _registered_once(cube) if client is None else cube
            registration = {
                "reference": drift.reference,
                "image": drift.image,
                "shifts_px": drift.shifts_px,
                "outliers": drift.outliers,
                "match_quality": drift.match_quality,
                "integer_shifts": integer_shifts,
            }
        zsummary = None
        correction = None
        if layers is not None:
            step("detecting interfaces", total=len(zc.parse_layers(layers)) - 1)
            correction = zc.detect_interfaces(cube, layers, scheduler=sched, progress=progress)
            # resample only the kept species (a z-correction block holds every scan it spans)
            cube = zc.zcorrect(
                cube.sel(species=keep), correction, voxel_nm=voxel_nm, method=resample
            )
            zsummary = correction.to_dict()
            zsummary.pop("history", None)
            zsummary["interface_map"] = _interface_map_summary(correction.interface_depth)
            if interface_map is not None:
                _write_interface_map(correction.interface_depth, interface_map, force=force)
                zsummary["interface_map"]["file"] = str(interface_map)
        elif interface_map is not None or regions:
            raise ParameterError(
                "the interface map and region sizes in nm need z-correction: give layers"
            )
        tomo = cube.sel(species=keep)
        if bin is not None:
            from charsuite.sims.tomo._segment import bin_cube

            tomo = bin_cube(tomo, depth=bin[0], y=bin[1], x=bin[2])
        if denoise is not None:
            from charsuite.sims.tomo import _segment as segment

            if denoise == "gaussian":
                tomo = segment.gaussian(tomo, sigma=(1.0, 1.0, 1.0))
            elif denoise == "nlmeans":
                tomo = segment.nlmeans(tomo)
            else:
                raise ParameterError(f"denoise must be gaussian or nlmeans; got {denoise!r}")
        tomo = add_history(
            tomo,
            "reconstruct",
            function="charsuite.sims.tomo._export.reconstruct",
            parameters={
                "species": keep,
                "register": register,
                "integer_shifts": integer_shifts,
                "layers": layers if isinstance(layers, str | None) else [str(x) for x in layers],
                "voxel_nm": voxel_nm,
                "resample": resample,
                "bin": bin,
                "denoise": denoise,
            },
        )
        if output is not None:
            step("writing tomogram", total=tomo.shape[0])
            export_tomogram(tomo, output, force=force, progress=progress)
        meshes = {}
        for sp, mesh_path in (isosurfaces or {}).items():
            from charsuite.sims.tomo._segment import isosurface

            if sp not in keep:
                raise ParameterError(f"isosurface species {sp!r} is not among {keep}")
            step("isosurface " + sp)
            mesh = isosurface(tomo, sp, scheduler=sched)
            write_mesh(mesh, mesh_path, force=force)
            meshes[sp] = {"path": str(mesh_path), "level": mesh.level, "area_nm2": mesh.area_nm2}
        region_rows = []
        for spec in regions or ():
            region_rows.append(
                _regions(tomo, spec, correction, keep, bin=bin, scheduler=sched, step=step)
            )
        rendered = None
        if render is not None:
            step("rendering")
            rendered = render(tomo)
    vz, vy, vx = _voxel(tomo)
    zunits = tomo["depth"].attrs.get("units")
    result = TomogramResult(
        file=str(source_file) if source_file else None,
        output=str(output) if output is not None else None,
        species=keep,
        shape=list(tomo.shape),
        voxel_nm=[vz if zunits == "nm" else None, vy * 1000, vx * 1000],
        registration=registration,
        zcorrection=zsummary,
        render=str(rendered) if rendered is not None else None,
        isosurfaces=meshes,
        history=tomo.attrs.get("history", []),
        regions=region_rows,
    )
    return tomo, result


#: largest registered cube, as a fraction of the memory budget, that is kept in memory
#: (1/8: 0.75 GB with 24 GB RAM, so the 2.9 GB benchmark cube still streams in < 2 GB)
PERSIST_FRACTION = 1 / 8


def _registered_once(cube):
    """Shift every block once: keep the registered cube in memory when it fits.

    ``apply_drift`` is lazy, and interface detection (field-mean profile, then one window
    per interface), z-correction and region search each read the registered cube, so
    every block would be interpolated two to three times. When the cube is at most
    :data:`PERSIST_FRACTION` of the memory budget (:func:`charsuite.io.max_memory`) it is
    computed once with dask's ``persist`` (the same numbers, in this process's memory);
    otherwise it stays lazy and streamed, and the shifts are recomputed per pass (memory
    before time: a streamed reconstruction's peak stays a few hundred MB whatever the
    cube size, and a cube that is a sizeable part of RAM must not be pulled into it). Not
    on a dask.distributed client: persisted futures would die with a client opened here.
    """
    from charsuite.io import max_memory

    if cube.nbytes <= max_memory() * PERSIST_FRACTION:
        return cube.persist()
    return cube


def _interface_map_summary(depth) -> dict:
    """Per-interface statistics of the interface-depth map (nm)."""
    import numpy as np

    v = np.asarray(depth.values, float).reshape(depth.shape[0], -1)
    return {
        "file": None,
        "units": "nm",
        "dims": list(depth.dims),
        "shape": list(depth.shape),
        "interfaces": [str(i) for i in depth["interface"].values],
        "mean_nm": np.nanmean(v, 1).tolist(),
        "rms_nm": np.nanstd(v, 1).tolist(),
        "min_nm": np.nanmin(v, 1).tolist(),
        "max_nm": np.nanmax(v, 1).tolist(),
    }


def _write_interface_map(depth, path, *, force: bool) -> Path:
    """Interface depths (nm) as charsuite-h5 or a float32 TIFF stack (atomic)."""
    import numpy as np

    from charsuite.io import atomic_path, write

    path = Path(path)
    ext = _suffix(path)
    depth = depth.copy()
    depth.attrs = {**depth.attrs, "units": "nm", "long_name": "interface depth"}
    if ext in (".h5", ".hdf5"):
        return write(depth, path, force=force)
    if ext in (".tif", ".tiff"):
        import tifffile

        with atomic_path(path, force=force) as tmp:
            tifffile.imwrite(
                tmp,
                np.asarray(depth.values, np.float32),
                metadata={
                    "axes": "ZYX",
                    "interfaces": [str(i) for i in depth["interface"].values],
                    "units": "nm",
                },
            )
        return path
    raise ParameterError(f"interface map {path.name!r}: use .h5 or .tif")


def _regions(tomo, spec, correction, keep, *, bin, scheduler, step) -> dict:
    """``find_regions`` for ``"SPECIES"`` or ``"SPECIES@LAYER"``; a JSON-ready summary."""
    import dask.array as da
    import numpy as np

    from charsuite.sims.tomo._segment import find_regions

    species, _, layer = str(spec).partition("@")
    if species not in keep:
        raise ParameterError(f"region species {species!r} is not among the kept species {keep}")
    mask = None
    if layer:
        names = [str(x) for x in correction.layers]
        if layer not in names:
            raise ParameterError(f"region layer {layer!r} is not in the stack {names}")
        k = names.index(layer)
        depth = correction.interface_depth
        if bin is not None:
            depth = depth.coarsen(y=bin[1], x=bin[2], boundary="trim").mean()
        maps = np.asarray(depth.values, np.float32)
        top = maps[k - 1] if k > 0 else np.full(maps.shape[1:], -np.inf, np.float32)
        bottom = maps[k] if k < len(maps) else np.full(maps.shape[1:], np.inf, np.float32)
        if top.shape != tuple(tomo.shape[1:3]):
            raise ParameterError(
                f"interface maps {top.shape} do not match the tomogram {tomo.shape[1:3]}"
            )
        z = da.from_array(np.asarray(tomo["depth"].values, np.float32), chunks=-1)[:, None, None]
        mask = (z >= top[None]) & (z < bottom[None])
    step("regions " + spec)
    res = find_regions(tomo, species, mask=mask, scheduler=scheduler)
    out = res.to_dict()
    out.pop("history", None)
    return {"spec": str(spec), "layer": layer or None, **out, "n_regions": len(res.regions)}
