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
@click.option("--tof", default=None, help="TofDAQ: all | 1 | 2 (which TOF / polarity).")
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
@click.option("--tof", default=None, help="TofDAQ: all | 1 | 2.")
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


# ToF-SIMS II commands (tomogram reconstruction, multivariate analysis)
cli.add_command(tomogram)
cli.add_command(mva)
