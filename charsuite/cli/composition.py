"""``charsuite composition ...`` commands (parse, call :mod:`charsuite.composition`, write)."""

from __future__ import annotations

import warnings

import click

from charsuite.cli._common import Quantity, emit_json, force_option, json_option, status


@click.group("composition")
def cli() -> None:
    """Composition from RBS / ToF-ERDA / PIXE results: merge, capacity, loading."""


def _pairs(values, option: str) -> dict[str, str]:
    from charsuite.exceptions import ParameterError

    out = {}
    for item in values:
        if "=" not in item:
            raise ParameterError(f"{option} {item!r}: expected KEY=VALUE")
        key, value = item.split("=", 1)
        out[key.strip()] = value.strip()
    return out


def _range(text: str | None, option: str):
    from charsuite.exceptions import ParameterError

    if text is None:
        return None
    try:
        lo, hi = (float(v) for v in text.replace(",", ":").split(":"))
    except ValueError:
        raise ParameterError(f"{option} {text!r}: expected LOW:HIGH, e.g. 200:600") from None
    return lo, hi


def _option_value(text: str):
    """'3' -> 3.0, '200:600' -> (200.0, 600.0), anything else stays a string."""
    try:
        if ":" in text:
            return tuple(float(v) for v in text.split(":"))
        return float(text)
    except ValueError:
        return text


@cli.command("combine")
@click.option("--erda", type=click.Path(exists=True, dir_okay=False), help="ToF-ERDA result file.")
@click.option("--pixe", type=click.Path(exists=True, dir_okay=False), help="PIXE result file.")
@click.option("--rbs", type=click.Path(exists=True, dir_okay=False), help="RBS result file.")
@click.option(
    "--source",
    "sources",
    multiple=True,
    metavar="LABEL=FILE",
    help="Another technique's result file (e.g. NRA=nra.csv); repeatable.",
)
@click.option(
    "--sheet",
    "sheets",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False),
    help="A charsuite result sheet (CSV/TOML/JSON); each technique in it is one source.",
)
@click.option(
    "--rule",
    "rules",
    multiple=True,
    help="Merge rule, e.g. 'Li from ERDA', 'Ni,Mn,Co ratios from PIXE', 'metal total from RBS'.",
)
@click.option("--basis", default="Ni+Mn+Co=1", show_default=True, help="Normalisation.")
@click.option(
    "--oxygen",
    default="unknown",
    show_default=True,
    help="Oxygen policy: unknown, measured, charge-balance, or a number per formula unit.",
)
@click.option(
    "--oxidation-states", default=None, metavar="El=N,...", help="For charge-balance, e.g. Ni=3."
)
@click.option("--target", default=None, help="Target formula to compare with (Li excess).")
@click.option(
    "--relabel",
    "relabels",
    multiple=True,
    metavar="LABEL:OLD=NEW",
    help="Rename an entry, e.g. ERDA:Mn=Ni+Mn+Co (heavy ERDA cut holding all metals).",
)
@click.option("--layer", "layers", multiple=True, metavar="LABEL=LAYER", help="Layer to use.")
@click.option("--depth-range", default=None, metavar="FROM:TO", help="Potku window (1e15 at/cm2).")
@click.option(
    "--read-option",
    "read_options",
    multiple=True,
    metavar="LABEL:KEY=VALUE",
    help="Reader option for one input, e.g. ERDA:systematic_pct=3 or RBS:structure=sample.",
)
@click.option(
    "--on-disagreement",
    type=click.Choice(["warn", "inflate", "error"]),
    default="warn",
    show_default=True,
)
@json_option
@force_option
def combine_cmd(
    erda,
    pixe,
    rbs,
    sources,
    sheets,
    rules,
    basis,
    oxygen,
    oxidation_states,
    target,
    relabels,
    layers,
    depth_range,
    read_options,
    on_disagreement,
    json_path,
    force,
):
    """Merge RBS / ERDA / PIXE results into one normalised formula with uncertainties."""
    from charsuite.composition import DisagreementWarning, amounts_from, combine, sources_from
    from charsuite.exceptions import ParameterError
    from charsuite.io import read, resolve_format

    files = {k: v for k, v in (("ERDA", erda), ("PIXE", pixe), ("RBS", rbs)) if v}
    files.update({k.upper(): v for k, v in _pairs(sources, "--source").items()})
    if not files and not sheets:
        raise ParameterError(
            "no input; give --erda/--pixe/--rbs FILE, --source LABEL=FILE or --sheet FILE"
        )
    relabel: dict[str, dict[str, str]] = {}
    for item in relabels:
        if ":" not in item:
            raise ParameterError(f"--relabel {item!r}: expected LABEL:OLD=NEW")
        label, pair = item.split(":", 1)
        relabel.setdefault(label.upper(), {}).update(_pairs([pair], "--relabel"))
    layer_of = {k.upper(): v for k, v in _pairs(layers, "--layer").items()}
    window = _range(depth_range, "--depth-range")
    per_file: dict[str, dict] = {}
    for item in read_options:
        if ":" not in item:
            raise ParameterError(f"--read-option {item!r}: expected LABEL:KEY=VALUE")
        label, pair = item.split(":", 1)
        for key, value in _pairs([pair], "--read-option").items():
            per_file.setdefault(label.upper(), {})[key] = _option_value(value)
    amounts = {}
    for label, path in files.items():
        options = dict(per_file.get(label, {}))
        if window is not None and resolve_format(path) == "potku-depth":
            options.setdefault("depth_range", window)
        ds = read(path, **options)
        try:
            amounts[label] = amounts_from(ds, layer=layer_of.get(label), relabel=relabel.get(label))
        except ParameterError:  # a sheet with several techniques: select by label
            amounts[label] = amounts_from(
                ds, technique=label, layer=layer_of.get(label), relabel=relabel.get(label)
            )
    for sheet in sheets:
        for label, src in sources_from(sheet).items():
            if label in amounts:
                raise ParameterError(f"technique {label} given twice ({sheet} and another input)")
            amounts[label] = amounts_from(src, relabel=relabel.get(label))
    states = None
    if oxidation_states:
        states = {
            k: float(v)
            for k, v in _pairs(oxidation_states.split(","), "--oxidation-states").items()
        }
    try:
        oxygen_value = float(oxygen)
    except ValueError:
        oxygen_value = oxygen
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DisagreementWarning)  # listed in result.warnings
        result = combine(
            amounts,
            rules=list(rules),
            basis=basis,
            oxygen=oxygen_value,
            oxidation_states=states,
            target=target,
            on_disagreement=on_disagreement,
        )
    click.echo(f"formula: {result.formula}")
    click.echo(f"with 1σ: {result.formula_with_uncertainty}")
    click.echo(f"basis: {result.basis}; oxygen: {result.oxygen_policy}")
    at = result.at_pct()
    for el, n in result.amounts.items():
        amount = format(n, ".2uP") if hasattr(n, "std_dev") else f"{n:g}"
        pct = format(at[el], ".2uP") if hasattr(at[el], "std_dev") else f"{at[el]:.4g}"
        click.echo(f"  {el:<3s} {amount:>16s}   at.% {pct:>14s}   {result.sources.get(el, '')}")
    if result.target:
        for el, row in result.target["elements"].items():
            if row["relative_pct"] is not None:
                click.echo(
                    f"  vs target {el}: {row['target']:.4g} → {row['film']:.2uP} "
                    f"({row['relative_pct']:+.1uP} %)"
                )
    for note in result.warnings:
        status(f"note: {note}")
    emit_json(result, json_path, force=force)


@cli.command("show")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--format", "format_", default=None, help="Input format (see `charsuite formats`).")
@json_option
@force_option
def show_cmd(file, format_, json_path, force):
    """Show the amounts a composition file holds (per layer, with 1σ)."""
    from charsuite.composition import amount_table
    from charsuite.io import read

    table = amount_table(read(file, format=format_))
    click.echo(f"{table.file} [{table.format}]")
    for name, var in table.variables.items():
        click.echo(f"{name} ({var['technique']}, {var['units']}):")
        for layer, row in var["layers"].items():
            thick = table.layer_thickness_1e15_at_cm2.get(layer)
            head = f"  layer {layer}" + (f" ({thick:.6g} ×1e15 at/cm²)" if thick else "")
            cells = [
                f"{el} {v['value']:.6g}" + (f"±{v['uncertainty']:.2g}" if v["uncertainty"] else "")
                for el, v in row.items()
            ]
            click.echo(head + ": " + ", ".join(cells))
    emit_json(table, json_path, force=force)


@cli.command("capacity")
@click.argument("formula")
@click.option("--electrons", type=float, default=1.0, show_default=True, help="n per formula unit.")
@click.option(
    "--oxygen", default=None, metavar="X|LOW:HIGH", help="O per formula unit if the formula has Ox."
)
@json_option
@force_option
def capacity_cmd(formula, electrons, oxygen, json_path, force):
    """Theoretical gravimetric capacity Q = n·F/(3.6·M) of FORMULA (mAh/g)."""
    from charsuite.composition import theoretical_capacity

    oxy = None
    if oxygen is not None:
        oxy = _range(oxygen, "--oxygen") if ":" in oxygen else float(oxygen)
    result = theoretical_capacity(formula, electrons=electrons, oxygen=oxy)
    if result.capacity_mAh_g is not None:
        click.echo(
            f"{result.formula}: M = {result.molar_mass_g_mol:.4f} g/mol, n = {electrons:g}, "
            f"Q = {result.capacity_mAh_g:.2f} mAh/g (oxygen: {result.oxygen})"
        )
    else:
        lo, hi = result.capacity_range_mAh_g
        click.echo(
            f"{result.formula}: oxygen {result.oxygen}: Q = {hi:.2f} … {lo:.2f} mAh/g "
            f"(M = {result.molar_mass_range_g_mol[0]:.4f} … "
            f"{result.molar_mass_range_g_mol[1]:.4f} g/mol)"
        )
    status(f"atomic masses: {result.mass_table}")
    emit_json(result, json_path, force=force)


@cli.command("loading")
@click.option(
    "--density",
    type=Quantity("g/cm**3"),
    default=None,
    help="Film density (bare number: g/cm³), e.g. 3.8g/cm3.",
)
@click.option(
    "--thickness",
    type=Quantity("nm"),
    default=None,
    help="Film thickness (bare number: nm), e.g. 600nm.",
)
@click.option(
    "--area",
    type=Quantity("cm**2"),
    default=None,
    help="Electrode area (bare number: cm²), e.g. 0.008cm2.",
)
@click.option("--formula", default=None, help="Composition (for areal density ↔ mass).")
@click.option(
    "--areal-density",
    default=None,
    type=float,
    help="Film areal density in 1e15 at/cm2 (IBA route; needs --formula).",
)
@json_option
@force_option
def loading_cmd(density, thickness, area, formula, areal_density, json_path, force):
    """Film mass and loading: density × thickness × area, or areal density × composition."""
    from charsuite.composition import film_loading, loading_from_areal_density, parse_quantity
    from charsuite.exceptions import ParameterError

    area_cm2 = parse_quantity(area, kind="area") if area is not None else None
    density_g_cm3 = parse_quantity(density, kind="density") if density is not None else None
    if areal_density is not None:
        if thickness is not None:
            raise ParameterError("give --thickness or --areal-density, not both")
        if formula is None:
            raise ParameterError("--areal-density needs --formula (atoms → mass)")
        result = loading_from_areal_density(
            areal_density, composition=formula, area_cm2=area_cm2, density_g_cm3=density_g_cm3
        )
    else:
        missing = [
            n
            for n, v in (("--density", density), ("--thickness", thickness), ("--area", area))
            if v is None
        ]
        if missing:
            raise ParameterError(
                f"missing {', '.join(missing)}; give density, thickness and area, or "
                "--areal-density with --formula"
            )
        result = film_loading(
            density_g_cm3=density_g_cm3,
            thickness_nm=parse_quantity(thickness, kind="thickness"),
            area_cm2=area_cm2,
            composition=formula,
        )
    parts = [f"loading = {result.loading_mg_cm2:.4g} mg/cm²"]
    if result.mass_g is not None:
        parts.insert(0, f"mass = {result.mass_g * 1e6:.4g} µg")
    if result.areal_density_1e15_at_cm2 is not None:
        parts.append(f"areal density = {result.areal_density_1e15_at_cm2:.5g} ×1e15 at/cm²")
    if result.thickness_nm is not None:
        parts.append(f"thickness = {result.thickness_nm:.4g} nm")
    click.echo(", ".join(parts))
    emit_json(result, json_path, force=force)
