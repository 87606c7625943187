"""High-level SIMS workflows used by the CLI, demo and notebooks (read → analyse → summarise)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np

from charsuite.model import Result

__all__ = [
    "ProfileReport",
    "ProfileSummary",
    "SimsInfo",
    "correlate_report",
    "profile_report",
    "sims_info",
]


@dataclasses.dataclass(frozen=True)
class SimsInfo(Result):
    """What ``charsuite sims info`` reports."""

    file: str
    format: str
    dims: dict
    species: list
    masses_th: list
    units: str
    metadata: dict

    def text(self) -> str:
        """Human-readable summary."""
        md = self.metadata
        lines = [
            f"{self.file}",
            f"  format {self.format}, dims {self.dims}, values in {self.units}",
            f"  pixel size {md.get('pixel_size_um')} µm, field {md.get('field_of_view_um')} µm, "
            f"binning {md.get('binning')}, polarity {md.get('polarity')}, "
            f"extractions/pixel {md.get('extractions_per_pixel')}",
            f"  {len(self.species)} species: "
            + ", ".join(self.species[:40])
            + (" ..." if len(self.species) > 40 else ""),
        ]
        return "\n".join(lines)


def sims_info(path, *, format: str | None = None) -> SimsInfo:
    """Describe a SIMS file lazily: dims, species, masses, metadata.

    Parameters
    ----------
    path : str or Path
        A SIMS file.
    format : str, optional
        Reader name; default: detected.

    Returns
    -------
    SimsInfo
        With ``to_dict()`` (the JSON of ``sims info``).
    """
    from charsuite.io import read

    obj = read(path, format=format, lazy=True)
    masses = (
        obj["mass"].values.tolist()
        if "mass" in obj.coords
        else [None] * obj.sizes.get("species", 0)
    )
    return SimsInfo(
        file=str(Path(str(path).split("::")[0]).resolve()),
        format=obj.attrs.get("format", ""),
        dims={str(k): int(v) for k, v in obj.sizes.items()},
        species=[str(s) for s in obj["species"].values] if "species" in obj.coords else [],
        masses_th=masses,
        units=str(obj.attrs.get("units", "")),
        metadata=dict(obj.attrs.get("metadata", {})),
    )


@dataclasses.dataclass(frozen=True)
class ProfileSummary(Result):
    """JSON of ``charsuite sims profile`` (keys fixed by the CLI contract)."""

    file: str
    species: list
    n_scans: int
    normalization: str
    profiles: dict
    depth_nm: list | None
    layers: list
    interfaces: list
    history: list


@dataclasses.dataclass(frozen=True)
class ProfileReport:
    """Profile dataset + optional calibration of one file."""

    file: str
    profile: Any
    calibration: Any | None

    def to_json_dict(self) -> dict:
        """The ``profile`` command's JSON."""
        p = self.profile
        cal = self.calibration
        layers, interfaces, depth = [], [], None
        if cal is not None:
            layers = [
                {
                    "name": lay.name,
                    "start_scan": lay.start_scan,
                    "end_scan": lay.end_scan,
                    "thickness_nm": lay.thickness_nm,
                    "sputter_rate_nm_per_scan": lay.sputter_rate_nm_per_scan,
                    "thickness_given": lay.thickness_given,
                }
                for lay in cal.layers
            ]
            interfaces = [
                {
                    "between": list(i.between),
                    "scan": i.scan,
                    "depth_nm": i.depth_nm,
                    "width_scans": i.width_scans,
                    "width_nm": i.width_nm,
                    "species": i.species,
                    "direction": i.direction,
                }
                for i in cal.interfaces
            ]
            depth = None if cal.depth_nm is None else np.asarray(cal.depth_nm).tolist()
        history = list(p.attrs.get("history", []))
        if cal is not None:
            history = list(cal.history)
        return ProfileSummary(
            file=self.file,
            species=[str(s) for s in p.species.values],
            n_scans=int(p.sizes["depth"]),
            normalization=str(p.attrs.get("normalization", "none")),
            profiles={
                str(s): p["intensity"].sel(species=s).values.tolist() for s in p.species.values
            },
            depth_nm=depth,
            layers=layers,
            interfaces=interfaces,
            history=history,
        ).to_dict()

    def text(self) -> str:
        """Human-readable summary."""
        p = self.profile
        out = [
            f"{self.file}: {p.sizes['depth']} scans, {p.sizes['species']} species, normalisation {p.attrs.get('normalization')}"
        ]
        if self.calibration is not None:
            for lay in self.calibration.layers:
                rate = lay.sputter_rate_nm_per_scan
                out.append(
                    f"  layer {lay.name:12s} scans {lay.start_scan:8.2f}-{lay.end_scan:8.2f}"
                    + (f"  {lay.thickness_nm:8.1f} nm  {rate:.4g} nm/scan" if rate else "")
                )
            for i in self.calibration.interfaces:
                extra = (
                    f" = {i.depth_nm:.1f} nm, width {i.width_nm:.1f} nm"
                    if i.depth_nm is not None
                    else ""
                )
                out.append(
                    f"  interface {i.between[0]}/{i.between[1]}: scan {i.scan:.2f} "
                    f"(16-84 % {i.width_scans:.2f} scans){extra} [{i.species} {i.direction}]"
                )
        return "\n".join(out)

    def write_csv(self, path, *, force: bool = False) -> Path:
        """Write scan, depth_nm (if calibrated) and the intensity of each species."""
        from charsuite.io import write_text

        p = self.profile
        cols = {"scan": np.arange(p.sizes["depth"])}
        if self.calibration is not None and self.calibration.depth_nm is not None:
            cols["depth_nm"] = np.asarray(self.calibration.depth_nm)
        if "sputter_time" in p.coords:
            cols["sputter_time_s"] = p["sputter_time"].values
        units = p["intensity"].attrs.get("units", "")
        for s in p.species.values:
            cols[f"{s} ({units})"] = p["intensity"].sel(species=s).values
        header = ",".join(cols)
        rows = np.column_stack([np.asarray(v, dtype=float) for v in cols.values()])
        body = "\n".join(",".join(f"{v:.6g}" for v in r) for r in rows)
        return write_text(Path(path), header + "\n" + body + "\n", force=force)


def _roi(roi):
    if isinstance(roi, str) and roi.endswith(".npy"):
        return np.load(roi)
    return roi


def profile_report(
    path,
    *,
    species=None,
    normalize: str = "none",
    layers=None,
    rate: float | None = None,
    roi=None,
    dead_time: bool = False,
    smooth: int | None = None,
    read_options: dict | None = None,
    progress=None,
) -> ProfileReport:
    """Read → depth profile (one pass) → interfaces and depth calibration (if ``layers``).

    Parameters
    ----------
    path : str or Path
        A SIMS cube or depth-profile file.
    species, normalize, roi, dead_time, smooth
        As in :func:`depth_profile` (``roi`` as in :func:`parse_roi`).
    layers : str, optional
        Layer stack as in :func:`parse_layers`; gives interfaces and a depth scale.
    rate : float, optional
        Sputter rate (nm/scan) for layers without a thickness.
    read_options : dict, optional
        Passed to :func:`charsuite.io.read`.
    progress : callable, optional
        Called with the fraction done.

    Returns
    -------
    ProfileReport
        The profile, the calibration (or None) and ``to_json_dict()`` for the CLI.
    """
    from charsuite.io import read
    from charsuite.sims._calibrate import calibrate_depth
    from charsuite.sims._profile import depth_profile

    obj = read(path, lazy=True, **(read_options or {}))
    prof_all = depth_profile(
        obj,
        roi=_roi(roi),
        normalize=normalize,
        dead_time=dead_time,
        smooth=smooth,
        progress=progress,
    )
    cal = None
    if layers:
        cal = calibrate_depth(
            prof_all, layers, rate=rate, variable="counts"
        )  # raw counts: no matrix effects from normalising
    elif rate:
        from charsuite.sims._calibrate import DepthCalibration, Layer

        n = prof_all.sizes["depth"]
        cal = DepthCalibration(
            layers=[Layer("all", 0.0, float(n - 1), rate * (n - 1), rate, False)],
            interfaces=[],
            depth_nm=np.arange(n) * rate,
            history=list(prof_all.attrs.get("history", [])),
        )
    prof = prof_all
    if species:
        from charsuite.sims._cube import species_index

        prof = prof_all.sel(species=species_index(prof_all, species))
    return ProfileReport(
        file=str(Path(str(path).split("::")[0]).resolve()), profile=prof, calibration=cal
    )


def correlate_report(
    path,
    *,
    species,
    layer=None,
    layers=None,
    scans=None,
    binnings=(1, 2, 4, 8),
    alpha: float = 0.01,
    read_options: dict | None = None,
):
    """Read → (calibrate layers) → co-localisation (the ``sims correlate`` command).

    Parameters
    ----------
    path : str or Path
        A SIMS cube file.
    species : list of str
        At least two species labels.
    layer : str, optional
        Layer to test (needs ``layers``); or give ``scans``.
    layers : str, optional
        Layer stack as in :func:`parse_layers`.
    scans : (int, int), optional
        Scan range to test instead of a layer.
    binnings, alpha
        As in :func:`colocalise`.
    read_options : dict, optional
        Passed to :func:`charsuite.io.read`.

    Returns
    -------
    (Colocalisation, ndarray)
        The result and the per-pixel maps (y, x, species) of the tested scans.
    """
    from charsuite.exceptions import CharsuiteWarning
    from charsuite.io import read
    from charsuite.sims._calibrate import calibrate_depth
    from charsuite.sims._colocalise import colocalise, layer_maps
    from charsuite.sims._profile import depth_profile

    cube = read(path, lazy=True, **(read_options or {}))
    cal = None
    if scans is None:
        import warnings

        prof = depth_profile(cube)
        with warnings.catch_warnings():  # only the layer scan ranges are used, not the nm scale
            warnings.simplefilter("ignore", CharsuiteWarning)
            cal = calibrate_depth(prof, layers, variable="counts")
    result = colocalise(
        cube,
        species=species,
        layer=layer,
        calibration=cal,
        scans=scans,
        binnings=binnings,
        alpha=alpha,
    )
    maps = layer_maps(cube, result.species, *result.scans)
    return result, maps
