"""Generic HDF5 cube: any 3-D/4-D numeric dataset, addressed as ``FILE.h5::/path``.

Axis names come from, in order: the ``dims=`` option, the dataset's HDF5 dimension
scales/labels, a ``dims``/``axes`` attribute (list or comma-separated string), else
``("depth", "y", "x", "species")`` for 4-D and ``("depth", "y", "x")`` for 3-D (one
species, named after the dataset). A 3-D cube gets a length-1 ``species`` axis so the
result always follows the SIMS cube convention. Units come from a ``units`` attribute
(default ``counts``); ``pixel_size_um`` from an attribute of that name (else pixels).
Without ``node=`` the first dataset with ≥ 3 dimensions is used.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from charsuite.exceptions import ParameterError, ReaderError
from charsuite.io._spec import FormatSpec
from charsuite.io.hdf5 import CUBE_DIMS, open_file

SPEC = FormatSpec(
    name="hdf5-cube",
    technique="sims",
    extensions=(".h5", ".hdf5", ".hdf"),
    description="Generic HDF5 3-D/4-D dataset as a SIMS cube (FILE.h5::/path, named axes)",
    priority=10,
    lazy=True,
)
HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"


def _find(f, min_ndim: int = 3):
    found = []

    def visit(name, obj):
        if hasattr(obj, "shape") and len(obj.shape) >= min_ndim and obj.dtype.kind in "iuf":
            found.append(name)
            return True
        return None

    f.visititems(visit)
    return found[0] if found else None


def can_read(path: Path, head: bytes) -> bool:
    """Accept (with low priority) HDF5 files holding a numeric dataset of ≥ 3 dimensions."""
    # the superblock follows an optional user block of 512 · 2^k bytes
    if not any(head[o : o + 8] == HDF5_MAGIC for o in (0, 512, 1024, 2048)):
        return False
    with open_file(path, contained=False) as f:
        if "TofDAQ Version" in f.attrs or "charsuite_format" in f.attrs:
            return False
        return _find(f) is not None


def _decode(v):
    if isinstance(v, bytes | np.bytes_):
        return bytes(v).decode("utf-8", "replace")
    if isinstance(v, np.ndarray) and v.size == 1:
        return _decode(v.reshape(-1)[0])
    return v


def read(path: Path, *, lazy: bool = False, node: str | None = None, dims=None, species=None):
    """Read one HDF5 dataset as a ``(depth, y, x, species)`` cube.

    Parameters
    ----------
    path : Path
    lazy : bool
        Dask array with chunks = whole multiples of the HDF5 chunks along depth.
    node : str, optional
        Dataset path inside the file (``FILE.h5::/node``); default the first ≥3-D dataset.
    dims : sequence of str, optional
        Names of the dataset's axes, e.g. ``("x", "y", "depth")``; must contain depth,
        y and x (and species for 4-D).
    species : sequence of str, optional
        Species labels (default from a ``species``/``labels`` attribute or ``s0, s1...``).
    """
    import xarray as xr

    try:
        f = open_file(path, format=SPEC.name)  # regular file, contained, bounded
    except OSError as err:
        raise ReaderError(f"not a readable HDF5 file ({err})", path=path, format=SPEC.name) from err
    try:
        name = node.strip("/") if node else _find(f)
        if not name or name not in f or not hasattr(f[name], "shape"):
            have = []
            f.visititems(
                lambda n, o: have.append(f"{n} {o.shape}") if hasattr(o, "shape") else None
            )
            raise ReaderError(
                f"dataset {node or '(≥3-D)'} not found; datasets in the file: "
                f"{', '.join(have) or 'none'}. Address one as FILE.h5::/path",
                path=path,
                format=SPEC.name,
            )
        dset = f[name]
        nd = dset.ndim
        if nd not in (3, 4) or dset.dtype.kind not in "iuf":
            raise ReaderError(
                f"{name} has shape {dset.shape} ({dset.dtype}); expected a 3-D or 4-D numeric cube",
                path=path,
                format=SPEC.name,
            )
        attrs = {
            k: _decode(v)
            for k, v in dset.attrs.items()
            if k not in ("DIMENSION_LIST", "REFERENCE_LIST", "CLASS", "NAME")
        }
        if dims is None:
            labels = [d.label for d in dset.dims]
            if all(labels):
                dims = labels
            elif attrs.get("dims") is not None or attrs.get("axes") is not None:
                raw = attrs.get("dims", attrs.get("axes"))
                dims = (
                    [s.strip() for s in raw.split(",")]
                    if isinstance(raw, str)
                    else [str(_decode(s)) for s in raw]
                )
            else:
                dims = list(CUBE_DIMS[:nd])
        dims = [str(d) for d in dims]
        need = set(CUBE_DIMS[:3]) | ({"species"} if nd == 4 else set())
        if len(dims) != nd or set(dims) != need:
            raise ParameterError(
                f"dims={dims} for a {nd}-D dataset; name each axis once from {sorted(need)}, "
                "e.g. dims=('x', 'y', 'depth')"
            )
        if lazy:
            import dask.array as da

            # whole HDF5 chunks, grown along depth to ~32 MiB (tiny HDF5 chunks would make
            # millions of dask tasks)
            chunks = list(dset.chunks or dset.shape)
            axis = dims.index("depth")
            per = int(np.prod(chunks)) * dset.dtype.itemsize
            grow = max(1, int(32 * 2**20 // max(per, 1)))
            chunks[axis] = min(dset.shape[axis], chunks[axis] * grow)
            data = da.from_array(dset, chunks=tuple(chunks))
        else:
            data = dset[()]
        n_species = dset.shape[dims.index("species")] if nd == 4 else 1
        if species is None:
            raw = attrs.get("species", attrs.get("labels"))
            if isinstance(raw, str):
                species = [s.strip() for s in raw.split(",")]
            elif raw is not None:
                species = [str(_decode(s)) for s in np.atleast_1d(raw)]
            else:
                species = (
                    [f"s{i}" for i in range(n_species)] if nd == 4 else [name.rsplit("/", 1)[-1]]
                )
        species = list(species)
        if len(species) != n_species:
            raise ParameterError(f"{len(species)} species labels for {n_species} species")
        pixel = attrs.get("pixel_size_um")
        units = str(attrs.get("units", "counts"))
    except (ReaderError, ParameterError):
        f.close()
        raise
    if not lazy:
        f.close()
    da_ = xr.DataArray(data, dims=dims, name=name.rsplit("/", 1)[-1])
    if nd == 3:
        da_ = da_.expand_dims(species=1, axis=3)
    da_ = da_.transpose(*CUBE_DIMS)
    if lazy and nd == 4 and tuple(dims) == CUBE_DIMS:
        from charsuite.io.hdf5 import register

        # stored in cube order: charsuite.sims streams it with read_direct, not dask
        register(da_.data, [dset], n_writes=dset.shape[0])
    step = float(pixel) if isinstance(pixel, int | float) else 1.0
    xy_units = "um" if isinstance(pixel, int | float) else "px"
    da_ = da_.assign_coords(
        depth=("depth", np.arange(da_.sizes["depth"]), {"units": "scan"}),
        y=("y", (np.arange(da_.sizes["y"]) + 0.5) * step, {"units": xy_units}),
        x=("x", (np.arange(da_.sizes["x"]) + 0.5) * step, {"units": xy_units}),
        species=("species", species, {"units": "label"}),
    )
    da_.attrs = {
        "units": units,
        "technique": "sims",
        "metadata": {
            "n_scans": da_.sizes["depth"],
            "pixel_size_um": pixel if xy_units == "um" else None,
            "node": "/" + name,
        },
        "original_metadata": {
            k: v for k, v in attrs.items() if isinstance(v, str | int | float | bool)
        },
    }
    return da_
