"""``charsuite xrd ...`` commands (parse, call :mod:`charsuite.xrd`, write)."""

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
    renamed_option,
    status,
)


@click.group("xrd")
def cli() -> None:
    """Xrd commands; see `charsuite xrd --help`."""


def _load(path, fmt, map_rows, read_opts=None):
    """Read a scan (``read_opts``: e.g. ``range`` of a multi-range file).

    A 2D map is collapsed by ``--map-rows`` (``sum`` or a row index).
    """
    from charsuite.io import read
    from charsuite.xrd import integrate_rows

    da = read(path, format=fmt, **(read_opts or {}))
    if map_rows is not None and "row" in da.dims:
        da = integrate_rows(da, rows=None if map_rows == "sum" else int(map_rows))
    return da


def _map_rows(ctx, param, value):
    if value is None or value == "sum" or value.lstrip("-").isdigit():
        return value
    raise click.BadParameter(f"{value!r}: expected 'sum' or a row index")


map_rows_option = click.option(
    "--map-rows",
    default=None,
    callback=_map_rows,
    help="For 2D maps: 'sum' (integrate all rows) or a row index.",
)


radiation_option = click.option(
    "--radiation",
    type=click.Choice(["auto", "ka1", "ka12"]),
    default="auto",
    show_default=True,
    help="Kα1 only (ka1) or Kα1+Kα2 doublet (ka12); auto decides from the data, then the "
    "file's statement, else assumes the doublet (reported under 'radiation').",
)


def _identify_line(res: dict) -> str:
    """One human line per file: phases (score, weight %), unidentified peaks, library gap."""

    def phase(p):
        wf = (p.get("weight_fraction") or {}).get("value")
        twins = p.get("indistinguishable_from") or []
        text = f"{p['name']} ({p['score']:.2f}" + (f", {100 * wf:.1f} wt%)" if wf else ")")
        if twins:
            text += f" [same lattice as {'/'.join(twins)}: positions cannot tell them apart]"
        return text

    names = ", ".join(phase(p) for p in res["phases"]) or "none"
    line = f"{res['file']}: phases {names}; {len(res['unidentified_peaks'])} unidentified peaks"
    gap = res.get("library_gap") or {}
    if gap.get("main_phase_not_in_library"):
        line += (
            f"; main phase NOT in the library ({100 * gap['unexplained_intensity_fraction']:.0f} %"
            f" of the intensity unexplained; closest library phase, a hint only: "
            f"{gap.get('closest_library_phase') or 'none'})"
        )
    for name, note in (gap.get("ambiguous") or {}).items():
        line += f"; {name} AMBIGUOUS ({note.split(':')[0]}; see library_gap.ambiguous)"
    return line


def _analyze_one(args):
    from charsuite.xrd import analyze

    path, fmt, opts, map_rows, read_opts = args
    return analyze(_load(path, fmt, map_rows, read_opts), **opts).to_dict()


#: ``--library`` (repeatable): user CIFs added to the built-in library.
library_option = click.option(
    "--library",
    multiple=True,
    type=click.Path(exists=True),
    help="Extra CIF file or folder (repeatable).",
)
#: ``--instrument``: an instrument file written by ``xrd calibrate -o``.
instrument_option = click.option(
    "--instrument",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="Instrument file from `xrd calibrate -o`: zero and instrumental widths (size/strain).",
)


@cli.command("identify")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--incidence-angle",
    type=Quantity("deg"),
    default=None,
    help="Fixed incidence angle ω (deg); default from the file.",
)
@click.option(
    "--thickness",
    "film_thickness",
    type=Quantity("nm"),
    default=None,
    help="Film thickness (nm) for the absorption factor.",
)
@renamed_option("--film-thickness", "--thickness", dest="film_thickness", type=Quantity("nm"))
@click.option(
    "--phases", default=None, help="Comma-separated library phases to search (default: all)."
)
@library_option
@click.option(
    "--expected", default="", help="Comma-separated phases expected (substrates): lower threshold."
)
@click.option(
    "--zero-offset",
    type=Quantity("deg"),
    default=None,
    help="Known zero offset (deg), e.g. from `xrd calibrate`.",
)
@click.option("--no-refraction", is_flag=True, help="Do not remove the GI refraction shift.")
@click.option(
    "--instrument-fwhm",
    type=Quantity("deg"),
    default=None,
    help="Instrumental FWHM (deg) for Scherrer.",
)
@instrument_option
@click.option(
    "--jobs", type=int, default=1, show_default=True, help="Parallel processes for many files."
)
@click.option(
    "--whole-pattern",
    type=click.Choice(["pawley", "lebail", "none"]),
    default="pawley",
    show_default=True,
    help="Whole-pattern confirmation: Pawley-type (fast), Le Bail (refines cells/zero/widths).",
)
@click.option(
    "--range",
    "range_",
    type=int,
    default=None,
    help="Data range of multi-range files (.raw/.brml/.xrdml/.uxd), 0-based; default 0 with a warning.",
)
@radiation_option
@click.option(
    "--refine/--no-refine",
    "do_refine",
    default=True,
    show_default=True,
    help="Rietveld refinement of the accepted phases: weight fractions and the pattern's Rwp.",
)
@map_rows_option
@plot_option("Write the pattern figure (PNG; first file).")
@format_option
@json_option
@force_option
def identify(
    files,
    incidence_angle,
    film_thickness,
    phases,
    library,
    expected,
    zero_offset,
    no_refraction,
    instrument_fwhm,
    instrument,
    jobs,
    whole_pattern,
    range_,
    radiation,
    do_refine,
    map_rows,
    plot_path,
    format_,
    json_path,
    force,
):
    """Identify phases in FILES and refine the layered phase (JSON schema in README)."""
    from charsuite.xrd import load_instrument

    opts = {
        "incidence_angle_deg": incidence_angle,
        "film_thickness_nm": film_thickness,
        "phases": [p.strip() for p in phases.split(",")] if phases else None,
        "library": list(library) or None,
        "expected": tuple(p.strip() for p in expected.split(",") if p.strip()),
        "zero_offset_deg": zero_offset,
        "refraction": not no_refraction,
        "instrument_fwhm_deg": instrument_fwhm,
        "whole_pattern": {"pawley": True, "lebail": "lebail", "none": False}[whole_pattern],
        "radiation": radiation,
        "refine": do_refine,
        "instrument": load_instrument(instrument) if instrument else None,
    }
    read_opts = {} if range_ is None else {"range": range_}
    results = []
    first = None
    with progress("identifying", total=len(files)) as update:
        rest = list(files)
        if plot_path:  # the figure needs the analysis object of the first file: keep it
            from charsuite.xrd import analyze

            da0 = _load(files[0], format_, map_rows, read_opts)
            first = analyze(da0, **opts)
            results.append(first.to_dict())
            update(1)
            rest = rest[1:]
        if jobs > 1 and len(rest) > 1:
            from concurrent.futures import ProcessPoolExecutor

            with ProcessPoolExecutor(max_workers=jobs) as pool:
                for res in pool.map(
                    _analyze_one, [(f, format_, opts, map_rows, read_opts) for f in rest]
                ):
                    results.append(res)
                    update(1)
        else:
            for f in rest:
                results.append(_analyze_one((f, format_, opts, map_rows, read_opts)))
                update(1)
    for res in results:
        status(_identify_line(res))
    if first is not None:
        from charsuite.plotting.xrd import plot_identification

        plot_identification(da0, first, path=plot_path, force=force)
    emit_json(results[0] if len(results) == 1 else results, json_path, force=force)


@cli.command("lattice")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--phase", required=True, help="Library phase to refine (e.g. NMC811, Al2O3).")
@click.option("--incidence-angle", type=Quantity("deg"), default=None)
@click.option(
    "--zero-offset",
    type=Quantity("deg"),
    default=None,
    help="Known zero offset (deg); otherwise refined.",
)
@library_option
@instrument_option
@radiation_option
@map_rows_option
@format_option
@json_option
@force_option
def lattice(
    file,
    phase,
    incidence_angle,
    zero_offset,
    library,
    instrument,
    radiation,
    map_rows,
    format_,
    json_path,
    force,
):
    """Refine the cell of one phase in FILE."""
    from charsuite.xrd import lattice_of, load_instrument

    res = lattice_of(
        _load(file, format_, map_rows),
        phase=phase,
        incidence_angle_deg=incidence_angle,
        zero_offset_deg=zero_offset,
        library=list(library) or None,
        radiation=radiation,
        instrument=load_instrument(instrument) if instrument else None,
    )
    lat = res["lattice"]
    status(
        f"{res['phase']}: a = {lat['a']:.5f} ± {lat['a_err']:.5f} Å, c = {lat['c']:.5f} ± {lat['c_err']:.5f} Å, "
        f"zero {res['zero_offset_deg']:+.4f}°, {res['peaks_used']} peaks"
    )
    emit_json(res, json_path, force=force)


@cli.command("calibrate")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--standard",
    default="Si",
    show_default=True,
    help="Standard: Si, LaB6 or Al2O3 (library phase).",
)
@click.option("--incidence-angle", type=Quantity("deg"), default=None)
@click.option(
    "--max-offset",
    type=Quantity("deg"),
    default=1.0,
    show_default=True,
    help="Largest zero offset searched (deg).",
)
@click.option(
    "--displacement",
    is_flag=True,
    help="Also fit specimen displacement (focusing optics, ≥3 lines; symmetric or fixed incidence).",
)
@click.option(
    "--radius",
    type=Quantity("mm"),
    default=240.0,
    show_default=True,
    help="Goniometer radius (mm).",
)
@click.option(
    "-o",
    "--instrument-out",
    type=click.Path(dir_okay=False),
    default=None,
    help="Also fit U, V, W, X, Y by Rietveld on the standard and write this instrument file (JSON).",
)
@click.option("--radiation", type=click.Choice(["ka1", "ka12"]), default="ka12", show_default=True)
@click.option(
    "--texture", default=None, help="March–Dollase axis h,k,l of the standard (e.g. 0,0,1)."
)
@click.option(
    "--library",
    multiple=True,
    type=click.Path(exists=True),
    help="Extra CIF file or folder (repeatable): a standard not in the built-in library.",
)
@format_option
@json_option
@force_option
def calibrate(
    file,
    standard,
    incidence_angle,
    max_offset,
    displacement,
    radius,
    instrument_out,
    radiation,
    texture,
    library,
    format_,
    json_path,
    force,
):
    """Zero offset from a standard scan; with -o also the instrument profile file."""
    from charsuite.io import check_output, read
    from charsuite.xrd import calibrate_zero

    if instrument_out:
        check_output(instrument_out, force=force)
    da = read(file, format=format_)
    res = calibrate_zero(
        da,
        standard=standard,
        incidence_angle_deg=incidence_angle,
        max_zero_offset_deg=max_offset,
        displacement=displacement,
        goniometer_radius_mm=radius,
        library=list(library) or None,
    )
    status(
        f"{standard}: zero offset {res.zero_offset_deg:+.4f} ± {res.zero_offset_err_deg:.4f}° "
        f"(refraction {res.refraction_shift_deg:.4f}° removed)"
    )
    out = res.to_dict()
    if instrument_out:
        axis = _parse_texture([f"{standard}:{texture}"])[standard] if texture else None
        out["instrument"] = _write_instrument(
            da, standard, radiation, incidence_angle, axis, instrument_out, force,
            library=list(library) or None, zero_deg=res.zero_offset_deg,
        )  # fmt: skip
    emit_json(out, json_path, force=force)


def _write_instrument(
    da, standard, radiation, incidence_angle, axis, path, force, *, library, zero_deg
):
    import dataclasses

    from charsuite.xrd import calibrate_instrument, save_instrument

    inst, fit = calibrate_instrument(
        da,
        standard=standard,
        radiation=radiation,
        incidence_angle_deg=incidence_angle,
        preferred_orientation=axis,
        library=library,
    )
    # the file's zero is the one of the standard's peak positions (calibrate_zero): in
    # Bragg–Brentano the Rietveld zero correlates ≈ 1 with the specimen displacement refined
    # beside it, so alone it does not place the lines (identify/lattice apply only the zero)
    inst = dataclasses.replace(inst, zero_deg=float(zero_deg))
    save_instrument(inst, path, force=force)
    status(
        f"instrument: U {inst.u:.5f}, V {inst.v:.5f}, W {inst.w:.5f} deg², X {inst.x:.4f}, "
        f"Y {inst.y:.4f} deg, zero {inst.zero_deg:+.4f}° (Rwp {100 * fit.rwp:.2f}%, "
        f"GoF {fit.gof:.2f}) → {path}"
    )
    return inst.to_dict()


def _parse_texture(value):
    """``PHASE:h,k,l`` (repeatable) → {phase: (h, k, l)}."""
    out = {}
    for item in value or ():
        name, _, hkl = item.partition(":")
        try:
            out[name] = tuple(int(v) for v in hkl.split(","))
        except ValueError:
            raise click.BadParameter(f"{item!r}: expected PHASE:h,k,l, e.g. NMC811:0,0,1") from None
        if len(out[name]) != 3 or not any(out[name]):
            raise click.BadParameter(f"{item!r}: expected three Miller indices, not all zero")
    return out


@cli.command("refine")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--phases", required=True, help="Comma-separated library phases to refine.")
@click.option(
    "--incidence-angle",
    type=Quantity("deg"),
    default=None,
    help="Fixed incidence angle ω (deg); default symmetric Bragg–Brentano.",
)
@click.option(
    "--thickness",
    "film_thickness",
    type=Quantity("nm"),
    default=None,
    help="Film thickness (nm), GI absorption.",
)
@renamed_option("--film-thickness", "--thickness", dest="film_thickness", type=Quantity("nm"))
@click.option("--radiation", type=click.Choice(["ka1", "ka12"]), default="ka12", show_default=True)
@click.option(
    "--instrument",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="Instrument file from `xrd calibrate -o` (fixes U, V, W, X, Y).",
)
@click.option("--texture", multiple=True, help="March–Dollase axis PHASE:h,k,l (repeatable).")
@click.option(
    "--axial-divergence",
    default=None,
    metavar="S/L,H/L",
    help="Finger–Cox–Jephcoat axial-divergence asymmetry: sample and receiving-slit "
    "half-heights over the goniometer radius, e.g. 0.02,0.02 (default: symmetric lines).",
)
@click.option("--no-mixing", is_flag=True, help="Do not refine Li/Ni exchange of layered phases.")
@click.option(
    "--library", multiple=True, type=click.Path(exists=True), help="Extra CIF file or folder."
)
@plot_option("Write the Rietveld figure (PNG).")
@format_option
@json_option
@force_option
def refine_cmd(
    file,
    phases,
    incidence_angle,
    film_thickness,
    radiation,
    instrument,
    texture,
    axial_divergence,
    no_mixing,
    library,
    plot_path,
    format_,
    json_path,
    force,
):
    """Rietveld refinement: weight fractions, cells, Li/Ni exchange, Rwp/GoF."""
    from charsuite.io import read
    from charsuite.xrd import load_instrument, refine

    inst = load_instrument(instrument) if instrument else None
    axial = None
    if axial_divergence is not None:
        try:
            axial = tuple(float(v) for v in axial_divergence.split(","))
        except ValueError:
            raise click.BadParameter(
                f"{axial_divergence!r}: expected two numbers S/L,H/L, e.g. 0.02,0.02",
                param_hint="--axial-divergence",
            ) from None
    res = refine(
        read(file, format=format_),
        phases=[p.strip() for p in phases.split(",") if p.strip()],
        radiation=radiation,
        incidence_angle_deg=incidence_angle,
        film_thickness_nm=film_thickness,
        instrument=inst,
        preferred_orientation=_parse_texture(texture) or None,
        cation_mixing=not no_mixing,
        library=list(library) or None,
        axial_divergence=axial,
    )
    for ph in res.phases:
        cell = ", ".join(
            f"{k} {v['value']:.5f}({v['uncertainty']:.5f})" for k, v in ph.cell.items()
        )
        status(
            f"{ph.name}: {100 * ph.weight_fraction:.2f} ± {100 * ph.weight_fraction_esd:.2f} wt%, "
            f"{cell}, R_Bragg {100 * ph.bragg_r:.2f}%"
        )
    for name, why in res.skipped_phases.items():
        status(f"{name}: skipped ({why})")
    for note in res.notes:
        status(f"note: {note}")
    status(
        f"Rwp {100 * res.rwp:.2f}%, Rexp {100 * res.rexp:.2f}%, GoF {res.gof:.2f}; "
        + ("converged" if res.converged else res.message)
    )
    if plot_path:
        from charsuite.plotting.xrd import plot_rietveld

        plot_rietveld(res, path=plot_path, force=force)
    emit_json(res, json_path, force=force)


@cli.command("reduce")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(dir_okay=False),
    help="Output (.h5 charsuite-h5 or .xy).",
)
@click.option(
    "--background", default="snip", show_default=True, help="pybaselines method, or 'none'."
)
@click.option("--strip-ka2/--keep-ka2", default=False, show_default=True)
@click.option(
    "--smooth",
    "smooth_deg",
    type=Quantity("deg"),
    default=None,
    help="Savitzky–Golay window (deg).",
)
@click.option(
    "--normalize",
    "norm",
    type=click.Choice(["none", "max", "area", "time"]),
    default="none",
    show_default=True,
)
@click.option("--zero-offset", type=Quantity("deg"), default=None)
@click.option(
    "--displacement",
    type=Quantity("mm"),
    default=None,
    help="Specimen displacement (mm) to remove (focusing optics; α from the file or --incidence-angle).",
)
@map_rows_option
@format_option
@json_option
@force_option
def reduce_cmd(
    file,
    output,
    background,
    strip_ka2,
    smooth_deg,
    norm,
    zero_offset,
    displacement,
    map_rows,
    format_,
    json_path,
    force,
):
    """Reduce a scan (background, Kα2, smoothing, normalisation, zero) and write it."""
    from pathlib import Path

    import charsuite.xrd as red
    from charsuite.io import write

    da = _load(file, format_, map_rows)
    red.check_scan(da, purpose="reduction")
    if zero_offset:
        da = red.correct_zero(da, offset_deg=zero_offset)
    if displacement:
        da = red.correct_displacement(da, displacement_mm=displacement)
    if strip_ka2:
        da = red.strip_ka2(da)
    if background != "none":
        da = red.subtract_background(da, method=background)
    if smooth_deg:
        da = red.smooth(da, window_deg=smooth_deg)
    if norm != "none":
        da = red.normalize(da, method=norm)
    out = Path(output)
    if out.suffix.lower() in (".xy", ".txt", ".dat"):
        from charsuite.io import write_text

        lines = [f"{a:.5f} {b:.6g}" for a, b in zip(da.two_theta.values, da.values)]
        write_text(
            out,
            "# 2theta_deg intensity (reduced by charsuite)\n" + "\n".join(lines) + "\n",
            force=force,
        )
    else:
        write(da, out, force=force)
    status(f"wrote {out} ({', '.join(da.attrs.get('corrections', {})) or 'no corrections'})")
    emit_json(
        {
            "file": str(file),
            "output": str(out),
            "corrections": da.attrs.get("corrections", {}),
            "history": da.attrs.get("history", []),
        },
        json_path,
        force=force,
    )
