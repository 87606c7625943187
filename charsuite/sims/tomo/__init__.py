"""ToF-SIMS tomography: lateral drift, per-column depth, segmentation, MVA and export.

The cube convention is ``(depth, y, x, species)``. Submodules are imported on first use
(``lazy_loader``), so ``import charsuite.sims.tomo`` does not import dask or scikit-image.

* :func:`estimate_drift`, :func:`apply_drift`, :func:`register` — lateral drift correction.
* :func:`detect_interfaces`, :func:`zcorrect`, :func:`parse_layers` — per-column depth correction.
* :func:`gaussian`, :func:`nlmeans`, :func:`segment_layers`, :func:`find_regions`,
  :func:`bin_cube`, :func:`isosurface`, :func:`orthoslices`, :func:`projection` — segmentation.
* :func:`pca`, :func:`nmf`, :func:`mva` — Poisson-scaled multivariate analysis.
* :func:`reconstruct`, :func:`export_tomogram`, :func:`read_zarr`, :func:`write_mesh` — the
  whole pipeline and its exports.
* :func:`open_cube`, :func:`compute_context`, :func:`write_h5_stream` — the block reader/writer.
"""

import lazy_loader as _lazy

__getattr__, __dir__, __all__ = _lazy.attach(
    __name__,
    submod_attrs={
        "_io": ["compute_context", "open_cube", "write_h5_stream"],
        "_export": ["export_tomogram", "read_zarr", "reconstruct", "write_mesh"],
        "_mva": ["mva", "nmf", "pca"],
        "_segment": [
            "bin_cube",
            "find_regions",
            "gaussian",
            "isosurface",
            "nlmeans",
            "orthoslices",
            "projection",
            "segment_layers",
        ],
        "_register": ["apply_drift", "check_species", "estimate_drift", "register"],
        "_zcorrect": ["detect_interfaces", "parse_layers", "zcorrect"],
    },
)
