"""``charsuite sims tomogram`` and ``charsuite sims mva`` (parse, call the API, write).

Both are module-level click commands, added to the ``sims`` group in
:mod:`charsuite.cli.sims`.
"""

from __future__ import annotations

import click

from charsuite.cli._common import Quantity, emit_json, force_option, json_option, progress, status


def _species(text):
    return [s.strip() for s in text.split(",") if s.strip()] if text else None


@click.command("tomogram")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--species", default=None, help="Comma-separated species to keep (default all).")
@click.option("--register/--no-register", default=False, help="Correct lateral drift.")
@click.option(
    "--register-on",
    default="tic",
    show_default=True,
    help="Registration image: 'tic' or comma-separated species.",
)
@click.option("--integer-shifts", is_flag=True, help="Whole-pixel shifts (keep Poisson counts).")
@click.option("--zcorrect", is_flag=True, help="Depth in nm from interfaces (needs --layers).")
@click.option(
    "--layers",
    default=None,
    help="Stack top to bottom as name:thickness_nm:marker,... e.g. "
    "'Li:2000:Li,LiPON:500:PO2,NMC811:600:Ni,ITO:180:In,steel::Fe'.",
)
@click.option(
    "--voxel-nm", type=Quantity("nm"), default=None, help="z step of the corrected grid (nm)."
)
@click.option(
    "--resample",
    type=click.Choice(["linear", "nearest"]),
    default="linear",
    show_default=True,
    help="z resampling; 'nearest' keeps integer counts.",
)
@click.option("--bin", "bin_", default=None, help="Sum counts in Z,Y,X voxel blocks, e.g. 1,2,2.")
@click.option(
    "--denoise",
    type=click.Choice(["gaussian", "nlmeans"]),
    default=None,
    help="Gaussian (σ = 1 voxel) or Anscombe non-local means.",
)
@click.option(
    "--isosurface",
    "isosurfaces",
    multiple=True,
    help="SPECIES=PATH mesh (.ply/.obj/.vtk) at the 50 % level; repeatable.",
)
@click.option(
    "--regions",
    "regions",
    multiple=True,
    help="Segregated regions (connected components, sizes in nm³) of SPECIES or "
    "SPECIES@LAYER (only inside that layer); repeatable or comma-separated. Needs --zcorrect.",
)
@click.option(
    "--interface-map",
    type=click.Path(dir_okay=False),
    default=None,
    help="Write the interface depth map (nm, per interface) to .h5 or .tif. Needs --zcorrect.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=True),
    default=None,
    help="Tomogram output: .h5, .tif, .ome.tif or .zarr.",
)
@click.option("--render", type=click.Path(dir_okay=False), default=None, help="PNG render.")
@click.option("--scheduler", default=None, help="dask scheduler address (default: local threads).")
@json_option
@force_option
def tomogram(
    file,
    species,
    register,
    register_on,
    integer_shifts,
    zcorrect,
    layers,
    voxel_nm,
    resample,
    bin_,
    denoise,
    isosurfaces,
    regions,
    interface_map,
    output,
    render,
    scheduler,
    json_path,
    force,
):
    """Reconstruct a 3D tomogram from a SIMS cube FILE (register, z-correct, export)."""
    from charsuite.exceptions import ParameterError
    from charsuite.io import check_output
    from charsuite.sims.tomo import reconstruct

    if zcorrect and not layers:
        raise ParameterError("--zcorrect needs --layers name:thickness_nm:marker,...")
    if layers and not zcorrect:
        raise ParameterError("--layers is only used with --zcorrect; add --zcorrect")
    region_specs = [r for item in regions for r in _species(item) or []]
    if (region_specs or interface_map) and not zcorrect:
        raise ParameterError(
            "--regions and --interface-map need --zcorrect --layers (sizes and depths in nm)"
        )
    for path in (output, render, interface_map):  # fail before hours of computing
        if path is not None:
            check_output(path, force=force)
    image = "tic" if register_on.lower() == "tic" else _species(register_on)
    bins = None
    if bin_:
        try:
            bins = tuple(int(v) for v in bin_.split(","))
        except ValueError:
            bins = ()
        if len(bins) != 3:
            raise ParameterError(f"--bin expects three integers Z,Y,X; got {bin_!r}")
    meshes = {}
    for item in isosurfaces:
        name, sep, path = item.partition("=")
        if not sep or not name or not path:
            raise ParameterError(f"--isosurface expects SPECIES=PATH; got {item!r}")
        check_output(path, force=force)
        meshes[name] = path
    with progress("tomogram") as update:
        _, result = reconstruct(
            file,
            species=_species(species),
            register=register,
            register_image=image,
            integer_shifts=integer_shifts,
            layers=layers if zcorrect else None,
            voxel_nm=voxel_nm,
            resample=resample,
            bin=bins,
            denoise=denoise,
            isosurfaces=meshes,
            regions=region_specs,
            interface_map=interface_map,
            output=output,
            render=_renderer(render, force=force),
            force=force,
            scheduler=scheduler,
            progress=update,
        )
    status(f"tomogram {result.shape} → {output or '(not written)'}")
    for row in result.regions:
        status(
            f"regions {row['spec']}: {row['n_regions']} (total {row['total_volume_nm3']:.4g} nm³)"
        )
    emit_json(result, json_path, force=force)


@click.command("mva")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--components", "-n", type=int, default=4, show_default=True)
@click.option("--method", type=click.Choice(["pca", "nmf"]), default="pca", show_default=True)
@click.option("--species", default=None, help="Comma-separated species (default all).")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False),
    default=None,
    help="Scores as .h5/.tif/.zarr (component axis in place of species).",
)
@click.option(
    "--plot", type=click.Path(dir_okay=False), default=None, help="PNG of loadings/scores."
)
@click.option("--scheduler", default=None, help="dask scheduler address (default: local).")
@json_option
@force_option
def mva(file, components, method, species, output, plot, scheduler, json_path, force):
    """Poisson-scaled PCA or Poisson NMF over the species of a SIMS cube FILE."""
    from charsuite.io import check_output
    from charsuite.sims.tomo import compute_context, export_tomogram, open_cube
    from charsuite.sims.tomo import mva as run_mva

    for path in (output, plot):
        if path is not None:
            check_output(path, force=force)
    with compute_context(scheduler) as client:
        cube = open_cube(file)
        names = _species(species)
        if names:
            from charsuite.sims.tomo import check_species

            check_species(cube, names)
            cube = cube.sel(species=names)
        result = run_mva(cube, method=method, n_components=components, scheduler=client)
        if output is not None:
            scores = result.scores.rename(component="species")
            scores = scores.assign_coords(
                species=(
                    "species",
                    [f"{method}{i + 1}" for i in range(components)],
                    {"units": "label"},
                )
            )
            scores.attrs = {**cube.attrs, "units": scores.attrs["units"], "mva": result.to_dict()}
            with progress("writing scores"):
                export_tomogram(scores, output, force=force)
        if plot is not None:
            from charsuite.plotting.tomogram import plot_mva

            plot_mva(result, plot, force=force)
    out = result.to_dict() | {"file": str(file), "output": output}
    status(f"{method.upper()} of {len(result.species)} species: {components} components")
    emit_json(out, json_path, force=force)


def _renderer(path, *, force: bool):
    """Return ``render(tomogram) -> path`` for ``--render PATH`` (None without it)."""
    if path is None:
        return None

    def render(tomo):
        from charsuite.plotting.tomogram import plot_tomogram

        plot_tomogram(tomo, path, force=force)
        return path

    return render
