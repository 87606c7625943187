"""``charsuite sims ...`` commands (parse, call :mod:`charsuite.sims`, write)."""

from __future__ import annotations

import click

from charsuite.cli._common import (
    Quantity,
    emit_json,
    force_option,
    format_option,
    json_option,
    plot_option,
    progress,
    status,
)
from charsuite.cli._sims_tomogram import mva, tomogram


@click.group("sims")
def cli() -> None:
    """Sims commands; see `charsuite sims --help`."""


def _read_options(format_, tof):
    opts = {}
    if format_:
        opts["format"] = format_
    if tof:
        opts["tof"] = tof if tof == "all" else int(tof)
    return opts


@cli.command("info")
@click.argument("file")
@format_option
@json_option
@force_option
def info_cmd(file, format_, json_path, force):
    """Show a SIMS file's axes, species, pixel size and metadata (nothing is loaded)."""
    from charsuite.sims import sims_info

    result = sims_info(file, format=format_)
    if json_path is None:
        click.echo(result.text())
    emit_json(result, json_path, force=force)


@cli.command("profile")
@click.argument("file")
@click.option("--species", "-s", multiple=True, help="Species to report (repeatable; default all).")
@click.option(
    "--normalize",
    default="none",
    show_default=True,
    help="none | tic | matrix:ION | current (per-scan primary current read from the file)",
)
@click.option(
    "--layers",
    default=None,
    help="Top to bottom, e.g. 'Li,LiPON:500nm,NMC811:600nm,ITO:180nm,substrate'.",
)
@click.option(
    "--rate",
    type=Quantity("nm"),
    default=None,
    help="Sputter rate (nm/scan) for layers without thickness.",
)
@click.option(
    "--roi", default=None, help="Rectangle 'x0:x1,y0:y1' (pixels) or a .npy boolean mask."
)
@click.option("--dead-time", is_flag=True, help="Apply the Poisson dead-time correction per voxel.")
@click.option(
    "--smooth", type=int, default=None, help="Also smooth (Savitzky-Golay window, scans)."
)
@click.option(
    "--tof",
    type=click.Choice(["all", "1", "2"]),
    default=None,
    help="TofDAQ: which TOF / polarity.",
)
@click.option(
    "--csv",
    "csv_path",
    default=None,
    type=click.Path(dir_okay=False),
    help="Write the profile table.",
)
@plot_option()
@format_option
@json_option
@force_option
def profile_cmd(
    file,
    species,
    normalize,
    layers,
    rate,
    roi,
    dead_time,
    smooth,
    tof,
    csv_path,
    plot_path,
    format_,
    json_path,
    force,
):
    """Depth profiles (one streamed pass), interfaces and depth calibration."""
    from charsuite.sims import profile_report

    with progress("depth profile") as update:
        rep = profile_report(
            file,
            species=list(species) or None,
            normalize=normalize,
            layers=layers,
            rate=rate,
            roi=roi,
            dead_time=dead_time,
            smooth=smooth,
            read_options=_read_options(format_, tof),
            progress=update,
        )
    if csv_path:
        rep.write_csv(csv_path, force=force)
        status(f"wrote {csv_path}")
    if plot_path:
        from charsuite.plotting.sims import plot_depth_profile

        plot_depth_profile(rep.profile, calibration=rep.calibration, path=plot_path, force=force)
        status(f"wrote {plot_path}")
    if json_path is None and not csv_path and not plot_path:
        click.echo(rep.text())
    emit_json(rep.to_json_dict(), json_path, force=force)


@cli.command("correlate")
@click.argument("file")
@click.option(
    "--species",
    "-s",
    multiple=True,
    required=True,
    help="Species (≥ 2, repeatable or comma-separated).",
)
@click.option("--layer", default=None, help="Layer name from --layers to analyse.")
@click.option("--layers", default=None, help="Layer specification (as for `profile`).")
@click.option("--scans", default=None, help="Explicit scan range 'start:stop' instead of --layer.")
@click.option(
    "--binning", "binnings", default="1,2,4,8", show_default=True, help="Lateral binnings."
)
@click.option("--alpha", default=0.01, show_default=True, type=float, help="Significance level.")
@click.option("--tof", type=click.Choice(["all", "1", "2"]), default=None, help="TofDAQ TOF.")
@plot_option()
@format_option
@json_option
@force_option
def correlate_cmd(
    file, species, layer, layers, scans, binnings, alpha, tof, plot_path, format_, json_path, force
):
    """Co-localisation of species inside a layer (Pearson r vs binning + Poisson null test)."""
    from charsuite.exceptions import ParameterError
    from charsuite.sims import correlate_report

    names = [s.strip() for item in species for s in item.split(",") if s.strip()]
    try:
        bins = [int(b) for b in binnings.split(",") if b.strip()]
        scan_range = tuple(int(v) for v in scans.split(":")) if scans else None
    except ValueError as err:
        raise ParameterError(
            f"--binning/--scans: {err}; expected e.g. '1,2,4,8' and '100:300'"
        ) from err
    if scan_range is None and (layer is None or layers is None):
        raise ParameterError("give --layer NAME with --layers SPEC, or --scans START:STOP")
    result, maps = correlate_report(
        file,
        species=names,
        layer=layer,
        layers=layers,
        scans=scan_range,
        binnings=bins,
        alpha=alpha,
        read_options=_read_options(format_, tof),
    )
    if plot_path:
        from charsuite.plotting.sims import plot_colocalisation

        plot_colocalisation(result, maps=maps, path=plot_path, force=force)
        status(f"wrote {plot_path}")
    if json_path is None:
        verdict = "segregated" if result.segregated else "not segregated"
        click.echo(
            f"{result.layer or 'scans'} {result.scans[0]}-{result.scans[1]}: {verdict} "
            f"(X²/dof = {result.dispersion_index:.3f}, p = {result.p_value:.3g}, binning {result.test_binning})"
        )
        for b, row in result.pearson_by_binning.items():
            click.echo(f"  {b}x{b}: " + ", ".join(f"{k} r={v:.3f}" for k, v in row.items()))
    emit_json(result, json_path, force=force)


# --------------------------------------------------------------------------- spectra (issue 14)
def _scan_range(scans):
    from charsuite.exceptions import ParameterError

    if scans is None:
        return None
    try:
        a, b = (int(v) for v in scans.split(":"))
    except ValueError as err:
        raise ParameterError(f"--scans {scans!r}: expected START:STOP, e.g. 100:300") from err
    return a, b


def _zoom_windows(zoom):
    from charsuite.exceptions import ParameterError

    out = []
    for item in zoom or ():
        for part in item.split(","):
            try:
                lo, hi = (float(v) for v in part.split(":"))
            except ValueError as err:
                raise ParameterError(f"--zoom {part!r}: expected LO:HI in Th, e.g. 54:60") from err
            if not lo < hi:
                raise ParameterError(f"--zoom {part!r}: LO must be below HI")
            out.append((lo, hi))
    return out


def _load_spectrum(file, scans, roi, layer, layers, tof, calibration):
    from charsuite.sims import spectrum

    with progress("spectrum") as update:
        return spectrum(
            file,
            scans=_scan_range(scans),
            roi=roi,
            layer=layer,
            layers=layers,
            tof=int(tof or 1),
            calibration=calibration,
            progress=update,
        )


def _region_options(func):
    for opt in reversed(
        [
            click.option("--scans", default=None, help="Scan range START:STOP (half-open)."),
            click.option("--roi", default=None, help="Rectangle 'x0:x1,y0:y1' (pixels)."),
            click.option("--layer", default=None, help="Layer name from --layers."),
            click.option("--layers", default=None, help="Layer specification (as `profile`)."),
            click.option(
                "--tof",
                type=click.Choice(["1", "2"]),
                default="1",
                show_default=True,
                help="1 | 2 (FullSpectra2).",
            ),
            click.option(
                "--calibration",
                default=None,
                type=click.Path(exists=True, dir_okay=False),
                help="Mass calibration JSON (from `sims mass-calibrate -o`) instead of the file's.",
            ),
        ]
    ):
        func = opt(func)
    return func


def _write_spectrum_csv(spec, path, *, force):
    from pathlib import Path

    import numpy as np

    from charsuite.io import write_text

    lines = ["sample,mass_Th,counts"]
    mass = np.asarray(spec["mass"].values, float)
    for i, (m, c) in enumerate(zip(mass, np.asarray(spec.values, float))):
        lines.append(f"{i},{m:.6f},{c:.6g}")
    write_text(Path(path), "\n".join(lines) + "\n", force=force)


@cli.command("spectrum")
@click.argument("file")
@_region_options
@click.option("--zoom", multiple=True, help="Zoom window(s) LO:HI in Th (repeatable).")
@click.option("--linear", is_flag=True, help="Linear intensity axis (default log).")
@click.option("--no-peaks", is_flag=True, help="Do not search and label peaks.")
@click.option(
    "--monoisotopic", default="", help="Elements not in natural abundance (primary beam), e.g. Ga."
)
@click.option(
    "--csv", "csv_path", default=None, type=click.Path(dir_okay=False), help="sample,mass,counts."
)
@plot_option()
@json_option
@force_option
def spectrum_cmd(
    file, scans, roi, layer, layers, tof, calibration, zoom, linear, no_peaks, monoisotopic,
    csv_path, plot_path, json_path, force,
):  # fmt: skip
    """Sum spectrum (or spectrum of scans / ROI / layer) in counts vs m/z."""
    import numpy as np

    from charsuite.model import jsonable
    from charsuite.sims import assign_peaks

    spec = _load_spectrum(file, scans, roi, layer, layers, tof, calibration)
    windows = _zoom_windows(zoom)
    mono = tuple(e.strip() for e in monoisotopic.split(",") if e.strip())
    found = None if no_peaks else assign_peaks(spec, monoisotopic=mono)
    if csv_path:
        _write_spectrum_csv(spec, csv_path, force=force)
        status(f"wrote {csv_path}")
    if plot_path:
        from charsuite.plotting.sims import plot_spectrum

        plot_spectrum(spec, peaks=found, zoom=windows, log=not linear, path=plot_path, force=force)
        status(f"wrote {plot_path}")
    total = float(np.sum(spec.values))
    mass = np.asarray(spec["mass"].values, float)
    if json_path is None:
        click.echo(
            f"{spec.attrs['source']} ({spec.attrs['region']}): {spec.sizes['sample']} samples, "
            f"m/z {np.nanmin(mass):.2f}-{np.nanmax(mass):.2f} Th, {total:.4g} counts"
        )
        if found is not None:
            click.echo(found.text())
    emit_json(
        {
            "file": spec.attrs["file"],
            "source": spec.attrs["source"],
            "region": spec.attrs["region"],
            "n_samples": spec.sizes["sample"],
            "mass_range_Th": [float(np.nanmin(mass)), float(np.nanmax(mass))],
            "total_counts": total,
            "calibration": spec.attrs["calibration"],
            "peaks": jsonable(found.peaks) if found is not None else None,
            "history": jsonable(spec.attrs["history"]),
        },
        json_path,
        force=force,
    )


@cli.command("mass-calibrate")
@click.argument("file")
@click.option(
    "--ions",
    default=None,
    help="Reference ions 'In+,Li+,Ga+' (names, '59Co+', 'X+:100.5') or a set: positive | "
    "negative | plasma. Default: the set of the file's polarity.",
)
@click.option(
    "--mode", type=click.IntRange(0, 5), default=None, help="TofDAQ mode (default file's)."
)
@click.option("--search-ppm", type=float, default=1000.0, show_default=True)
@click.option("--min-snr", type=float, default=5.0, show_default=True)
@_region_options
@click.option(
    "-o", "--output", default=None, type=click.Path(dir_okay=False), help="Write CAL.json."
)
@json_option
@force_option
def mass_calibrate_cmd(
    file, ions, mode, search_ppm, min_snr, scans, roi, layer, layers, tof, calibration, output,
    json_path, force,
):  # fmt: skip
    """Fit the mass calibration to reference ions; report residuals (ppm, mDa) and R."""
    import json
    from pathlib import Path

    from charsuite.io import write_text
    from charsuite.sims import mass_calibrate

    spec = _load_spectrum(file, scans, roi, layer, layers, tof, calibration)
    fit = mass_calibrate(spec, ions, mode=mode, search_ppm=search_ppm, min_snr=min_snr)
    if output:
        write_text(Path(output), json.dumps(fit.to_dict(), indent=2) + "\n", force=force)
        status(f"wrote {output}")
    if json_path is None:
        click.echo(fit.text())
    emit_json(fit, json_path, force=force)


@cli.command("peaks")
@click.argument("file")
@_region_options
@click.option("--candidates", default=None, help="Formula ions to consider, e.g. 'Li+,LiO+,Ni+'.")
@click.option(
    "--monoisotopic", default="", help="Elements not in natural abundance (primary beam), e.g. Ga."
)
@click.option("--tolerance-ppm", type=float, default=None, help="Matching tolerance (≥ FWHM/2).")
@click.option("--min-snr", type=float, default=5.0, show_default=True)
@click.option(
    "--peak-table",
    default=None,
    type=click.Path(dir_okay=False),
    help="Write the assigned peaks as a peak table CSV (for `sims reintegrate --peaks`).",
)
@click.option("--include-unassigned", is_flag=True, help="Also put unassigned peaks in the table.")
@json_option
@force_option
def peaks_cmd(
    file, scans, roi, layer, layers, tof, calibration, candidates, monoisotopic, tolerance_ppm,
    min_snr, peak_table, include_unassigned, json_path, force,
):  # fmt: skip
    """Peak search, resolution m/Δm per peak, assignment with isotope-pattern checks."""
    from charsuite.sims import assign_peaks, find_peaks

    spec = _load_spectrum(file, scans, roi, layer, layers, tof, calibration)
    result = assign_peaks(
        spec,
        find_peaks(spec, min_snr=min_snr),
        candidates=candidates,
        tolerance_ppm=tolerance_ppm,
        monoisotopic=tuple(e.strip() for e in monoisotopic.split(",") if e.strip()),
    )
    if peak_table:
        result.peak_table(include_unassigned=include_unassigned).write_csv(peak_table, force=force)
        status(f"wrote {peak_table}")
    if json_path is None:
        click.echo(result.text())
    emit_json(result, json_path, force=force)


@cli.command("reintegrate")
@click.argument("file")
@click.option(
    "--peaks",
    "peaks_path",
    default=None,
    type=click.Path(exists=True, dir_okay=False),
    help="Peak table CSV (from `sims peaks --peak-table`); default the file's PeakTable.",
)
@click.option(
    "--calibration",
    default=None,
    type=click.Path(exists=True, dir_okay=False),
    help="Mass calibration JSON (from `sims mass-calibrate -o`).",
)
@click.option("--tof", type=click.Choice(["1", "2"]), default="1", show_default=True)
@click.option(
    "-o", "--output", required=True, type=click.Path(dir_okay=False), help="Cube HDF5 to write."
)
@json_option
@force_option
def reintegrate_cmd(file, peaks_path, calibration, tof, output, json_path, force):
    """Integrate TofData into a peak table → (depth, y, x, species) counts cube (HDF5)."""
    from charsuite.sims import reintegrate, write_cube

    with progress("reintegrate") as update:
        cube = reintegrate(
            file,
            peaks_path,
            tof=int(tof),
            units="counts",
            calibration=calibration,
            progress=update,
        )
    written = write_cube(cube, output, force=force)
    status(f"wrote {output} ({cube.sizes['species']} species); read it with `sims profile`")
    summary = {
        "output": str(written),
        "dims": dict(cube.sizes),
        "species": [str(s) for s in cube["species"].values],
        "units": cube.attrs.get("units"),
        "history": cube.attrs.get("history", []),
    }
    emit_json(summary, json_path, force=force)


# ToF-SIMS II commands (tomogram reconstruction, multivariate analysis)
cli.add_command(tomogram)
cli.add_command(mva)
