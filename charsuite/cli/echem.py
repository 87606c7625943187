"""``charsuite echem ...`` commands (parse, call :mod:`charsuite.echem`, write)."""

from __future__ import annotations

from pathlib import Path

import click

from charsuite.cli._common import (
    Quantity,
    emit_json,
    force_option,
    format_option,
    json_option,
    plot_option,
    status,
)


@click.group("echem")
def cli() -> None:
    """echem commands; see `charsuite echem --help`."""


def _pairs(values: tuple[str, ...], what: str) -> dict[str, str]:
    from charsuite.exceptions import ParameterError

    out = {}
    for item in values:
        if "=" not in item:
            raise ParameterError(f"{what} {item!r}: expected NAME=VALUE")
        k, v = item.split("=", 1)
        out[k.strip()] = v.strip()
    return out


def _read(file: str, format_: str | None):
    from charsuite.io import read

    return read(file, format=format_)


def _check_kind(ds, file: str, want: str) -> None:
    """Refuse data of another kind or technique in one line (a CharsuiteError)."""
    from charsuite.exceptions import DataError

    technique = ds.attrs.get("technique")
    if technique not in (None, "echem"):
        raise DataError(
            f"{file}: holds {technique} data, not electrochemistry; use the "
            f"'charsuite {technique}' commands"
        )
    kind = "impedance" if "frequency" in ds.dims else "time series"
    if want == "cycling" and kind == "impedance":
        raise DataError(
            f"{file}: holds an impedance spectrum, not cycling data; use 'charsuite echem eis'"
        )
    if want == "impedance" and kind != "impedance" and "z_real" not in ds.variables:
        raise DataError(
            f"{file}: holds a time series without impedance points, not an impedance "
            "spectrum; use 'charsuite echem cycles'"
        )


def _cycling(file: str, format_: str | None):
    ds = _read(file, format_)
    _check_kind(ds, file, "cycling")
    return ds


def _spectrum(file: str, format_: str | None, sweep: int | None):
    """The impedance spectrum of FILE (sweep number ``sweep`` when it holds several)."""
    from charsuite.echem import select_sweep, split_sweeps
    from charsuite.exceptions import DataError

    ds = _read(file, format_)
    _check_kind(ds, file, "impedance")
    if sweep is not None:
        return select_sweep(ds, sweep)
    if "record" in ds.dims:  # time series with impedance blocks
        parts = split_sweeps(ds)
        if len(parts) > 1:
            numbers = [int(p["sweep"].values[0]) for p in parts]
            raise DataError(
                f"{file}: mixed-technique file with {len(parts)} impedance sweeps "
                f"(numbers {numbers[0]}…{numbers[-1]}); choose one with --sweep N"
            )
        return parts[0]
    return ds


@cli.command("cycles")
@click.argument("file", type=click.Path(dir_okay=False, path_type=str))
@click.option("--mass", "mass_mg", type=Quantity("mg"), default=None, help="Active mass (mg).")
@click.option("--density", type=Quantity("g/cm**3"), default=None, help="Film density (g/cm³).")
@click.option("--thickness", type=Quantity("nm"), default=None, help="Film thickness (nm).")
@click.option("--area", type=Quantity("cm**2"), default=None, help="Electrode area (cm²).")
@click.option("--window-groups", is_flag=True, help="Retention and cycle life per voltage window.")
@click.option(
    "--first-direction",
    type=click.Choice(["charge", "discharge"]),
    default="charge",
    show_default=True,
    help="Half cycle that opens a cycle.",
)
@click.option("--reference-cycle", type=int, default=None, help="100 % retention cycle.")
@click.option("--persistence", type=int, default=3, show_default=True, help="Cycles below 80 %.")
@click.option(
    "--one-c",
    "one_c_uA_cm2",
    type=Quantity("uA/cm**2"),
    default=None,
    help="1C current density (µA/cm²).",
)
@click.option(
    "--capacity",
    "capacity_mAh",
    type=Quantity("mAh"),
    default=None,
    help="1C reference capacity (mAh).",
)
@plot_option()
@format_option
@json_option
@force_option
def cycles_cmd(
    file, mass_mg, density, thickness, area, window_groups, first_direction, reference_cycle,
    persistence, one_c_uA_cm2, capacity_mAh, plot_path, format_, json_path, force,
) -> None:  # fmt: skip
    """Per-cycle charge/discharge capacity, CE, retention and cycle life of FILE."""
    from charsuite.echem import cycle_summary
    from charsuite.exceptions import ParameterError

    if mass_mg is not None and density is not None:
        raise ParameterError("give either --mass or --density/--thickness/--area, not both")
    import warnings

    from charsuite.exceptions import CharsuiteWarning

    ds = _cycling(file, format_)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CharsuiteWarning)  # printed below, one line each
        result = cycle_summary(
            ds,
            mass_g=mass_mg * 1e-3 if mass_mg is not None else None,
            density_g_cm3=density,
            thickness_nm=thickness,
            area_cm2=area,
            first_direction=first_direction,
            reference_cycle=reference_cycle,
            persistence=persistence,
            window_groups=window_groups,
            one_c_uA_cm2=one_c_uA_cm2,
            nominal_capacity_mAh=capacity_mAh,
        )
    for note in result.warnings:
        status(f"warning: {note}")
    if plot_path:
        from charsuite.plotting import save_figure
        from charsuite.plotting.echem import plot_capacity_vs_cycle

        save_figure(plot_capacity_vs_cycle({Path(file).name: result}), plot_path, force=force)
        status(f"wrote {plot_path}")
    emit_json(result, json_path, force=force)
    if json_path == "-":
        return
    unit = "mAh/g" if result.mass_g else "mAh"
    click.echo(f"cycle  charge ({unit})  discharge ({unit})  CE (%)  window")
    for c in result.cycles:
        key = "_mAh_g" if result.mass_g else "_mAh"
        ch, di = c[f"charge{key}"], c[f"discharge{key}"]
        ce = c["coulombic_efficiency_pct"]
        click.echo(
            f"{c['cycle']:5d}  {'' if ch is None else f'{ch:.4g}':>14}  "
            f"{'' if di is None else f'{di:.4g}':>17}  {'' if ce is None else f'{ce:.2f}':>6}  "
            f"{c['voltage_window']}"
        )
    life = result.cycle_life_80
    click.echo(
        "cycle life (80 %): "
        + (
            f"{life['cycle']}"
            if life["cycle"] is not None
            else f"not reached (≥ {life.get('last_cycle_observed')})"
        )
    )


@cli.command("dqdv")
@click.argument("file", type=click.Path(dir_okay=False, path_type=str))
@click.option("--cycle", type=int, required=True, help="Cycle number.")
@click.option(
    "--smooth",
    "smooth_V",
    type=Quantity("V"),
    default=0.01,
    show_default=True,
    help="Gaussian FWHM (V).",
)
@click.option(
    "--step",
    "step_V",
    type=Quantity("V"),
    default=0.001,
    show_default=True,
    help="Voltage grid (V).",
)
@click.option(
    "--direction",
    type=click.Choice(["charge", "discharge", "both"]),
    default="both",
    show_default=True,
)
@click.option("--mass", "mass_mg", type=Quantity("mg"), default=None, help="Active mass (mg).")
@plot_option()
@format_option
@json_option
@force_option
def dqdv_cmd(
    file, cycle, smooth_V, step_V, direction, mass_mg, plot_path, format_, json_path, force
):
    """dQ/dV of one cycle of FILE (interpolate → smooth in volts → differentiate), with peaks."""
    from charsuite.echem import dqdv, voltage_curves

    ds = _cycling(file, format_)
    mass_g = mass_mg * 1e-3 if mass_mg is not None else None
    dirs = ("charge", "discharge") if direction == "both" else (direction,)
    results = [
        dqdv(ds, cycle=cycle, direction=d, smooth_V=smooth_V, step_V=step_V, mass_g=mass_g)
        for d in dirs
    ]
    if plot_path:
        from charsuite.plotting import save_figure
        from charsuite.plotting.echem import plot_first_cycle_dqdv

        curves = voltage_curves(ds, cycles=[cycle])
        save_figure(plot_first_cycle_dqdv(curves, results, mass_g=mass_g), plot_path, force=force)
        status(f"wrote {plot_path}")
    emit_json(
        {"file": ds.attrs.get("source_file"), "results": [r.to_dict() for r in results]},
        json_path,
        force=force,
    )
    if json_path == "-":
        return
    for r in results:
        click.echo(
            f"{r.direction}: capacity {r.capacity_mAh:.6g} mAh, ∫dQ/dV dV {r.integral_mAh:.6g} mAh"
        )
        for p in r.peaks:
            click.echo(f"  peak {p['voltage_V']:.4f} V  dQ/dV {p['dqdv_mAh_V']:.4g} mAh/V")


@cli.command("eis")
@click.argument("file", type=click.Path(dir_okay=False, path_type=str))
@click.option("--circuit", default="R0-p(R1,CPE1)-p(R2,CPE2)", show_default=True)
@click.option(
    "--area", type=Quantity("cm**2"), default=None, help="Electrode area (cm²) for Ω·cm²."
)
@click.option("--fix", multiple=True, help="Fixed parameter NAME=VALUE (repeatable).")
@click.option("--bound", multiple=True, help="Bounds NAME=LOW:HIGH (repeatable).")
@click.option("--guess", multiple=True, help="Initial value NAME=VALUE (repeatable).")
@click.option(
    "--weighting", type=click.Choice(["modulus", "unit"]), default="modulus", show_default=True
)
@click.option(
    "--capacitance",
    type=click.Choice(["hsu-mansfeld", "brug"]),
    default="hsu-mansfeld",
    show_default=True,
    help="CPE → capacitance conversion.",
)
@click.option("--no-kk", is_flag=True, help="Skip the lin-KK validity check.")
@click.option("--kk-valid-only", is_flag=True, help="Fit only points passing lin-KK (1 %).")
@click.option("--starts", type=int, default=1, show_default=True, help="Multi-start fits.")
@click.option(
    "--sweep",
    type=int,
    default=None,
    help="Sweep number when the file holds several (the instrument's numbering).",
)
@click.option("--fmin", type=Quantity("Hz"), default=None, help="Lowest frequency fitted (Hz).")
@click.option("--fmax", type=Quantity("Hz"), default=None, help="Highest frequency fitted (Hz).")
@click.option("--drop-inductive", is_flag=True, help="Leave out points with Z'' > 0.")
@plot_option()
@format_option
@json_option
@force_option
def eis_cmd(
    file, circuit, area, fix, bound, guess, weighting, capacitance, no_kk, kk_valid_only, starts,
    sweep, fmin, fmax, drop_inductive, plot_path, format_, json_path, force,
) -> None:  # fmt: skip
    """Fit an equivalent circuit to the impedance spectrum in FILE (Nyquist plot optional)."""
    from charsuite.echem import fit_circuit
    from charsuite.exceptions import ParameterError

    ds = _spectrum(file, format_, sweep)
    try:
        constants = {k: float(v) for k, v in _pairs(fix, "--fix").items()}
        guesses = {k: float(v) for k, v in _pairs(guess, "--guess").items()}
        bounds = {}
        for k, v in _pairs(bound, "--bound").items():
            lo, hi = v.split(":")
            bounds[k] = (float(lo), float(hi))
    except ValueError as err:
        raise ParameterError(f"could not parse a --fix/--guess/--bound value: {err}") from err
    result = fit_circuit(
        ds,
        circuit=circuit,
        constants=constants or None,
        bounds=bounds or None,
        initial_guess=guesses or None,
        weighting=weighting,
        area_cm2=area,
        capacitance_method=capacitance,
        check_kk=not no_kk,
        kk_valid_only=kk_valid_only,
        n_starts=starts,
        f_min=fmin,
        f_max=fmax,
        drop_inductive=drop_inductive,
    )
    if plot_path:
        from charsuite.plotting import save_figure
        from charsuite.plotting.echem import plot_nyquist

        fig = plot_nyquist([(Path(file).name, ds, result)], area_cm2=result.area_cm2)
        save_figure(fig, plot_path, force=force)
        status(f"wrote {plot_path}")
    emit_json(result, json_path, force=force)
    if json_path == "-":
        return
    click.echo(f"circuit: {result.circuit}   (χ² {result.chi2:.3g}, weighting {result.weighting})")
    for name, value in result.parameters.items():
        err = result.parameters_err[name]
        fixed = (
            " (fixed)"
            if name in result.fixed
            else (" (at bound)" if name in result.at_bounds else "")
        )
        click.echo(f"  {name:10s} {value:12.5g} ± {err:.2g} {result.units[name]}{fixed}")
    for name, value in result.area_normalized.items():
        if value is not None:
            click.echo(f"  {name:22s} {value:12.5g}")
    if result.lin_kk:
        kk = result.lin_kk
        click.echo(
            f"lin-KK: M={kk['M']} μ={kk['mu']:.3f} max residual {kk['max_residual']:.2%} ({'valid' if kk['valid'] else 'check data'})"
        )


@cli.command("drt")
@click.argument("file", type=click.Path(dir_okay=False, path_type=str))
@click.option("--lambda", "lam", type=float, default=None, help="Regularisation (default: GCV).")
@click.option(
    "--weighting", type=click.Choice(["unit", "modulus"]), default="unit", show_default=True
)
@click.option(
    "--sweep",
    type=int,
    default=None,
    help="Sweep number when the file holds several (the instrument's numbering).",
)
@plot_option()
@format_option
@json_option
@force_option
def drt_cmd(file, lam, weighting, sweep, plot_path, format_, json_path, force):
    """Distribution of relaxation times of the spectrum in FILE (Tikhonov + NNLS)."""
    from charsuite.echem import drt

    ds = _spectrum(file, format_, sweep)
    result = drt(ds, lam=lam, weighting=weighting)
    if plot_path:
        from charsuite.plotting import save_figure
        from charsuite.plotting.echem import plot_drt

        save_figure(plot_drt([(Path(file).name, result)]), plot_path, force=force)
        status(f"wrote {plot_path}")
    emit_json(result, json_path, force=force)
    if json_path == "-":
        return
    click.echo(
        f"R∞ {result.r_inf_ohm:.5g} ohm, L {result.inductance_H:.3g} H, ∫γ dlnτ "
        f"{result.total_polarisation_ohm:.5g} ohm (λ {result.lam:.3g}, {result.lambda_method})"
    )
    for p in result.peaks:
        click.echo(
            f"  peak τ {p['tau_s']:.4g} s (f {p['frequency_Hz']:.4g} Hz): "
            f"{p['resistance_ohm']:.5g} ohm"
        )
