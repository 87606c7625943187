"""The reader registry: an explicit list of format modules.

Each module in :data:`FORMAT_MODULES` defines ``SPEC`` (:class:`FormatSpec`),
``can_read(path, head) -> bool`` (never raises; ``head`` is the first 4 KiB) and
``read(path, *, lazy=False, **options)`` returning an xarray object. Format modules
import their heavy dependencies inside ``read`` so the registry stays cheap to load.

Third-party readers come in through the entry-point group ``charsuite.readers``
(the entry point names a module with the same three members).
"""

from __future__ import annotations

import importlib
from functools import cache
from types import ModuleType

# One line per format, grouped by technique. Keep each group sorted.
FORMAT_MODULES: tuple[str, ...] = (
    # generic
    "charsuite.io.formats.charsuite_h5",
    # xrd
    "charsuite.io.formats.brml",
    "charsuite.io.formats.bruker_raw",
    "charsuite.io.formats.rigaku_ras",
    "charsuite.io.formats.rigaku_rasx",
    "charsuite.io.formats.uxd",
    "charsuite.io.formats.xrdml",
    "charsuite.io.formats.xy_text",
    # composition
    "charsuite.io.formats.composition_sheet",
    "charsuite.io.formats.gupix_out",
    "charsuite.io.formats.idf",
    "charsuite.io.formats.ndf_prf",
    "charsuite.io.formats.ndf_res",
    "charsuite.io.formats.potku_depth",
    "charsuite.io.formats.rump_lcm",
    # sims
    "charsuite.io.formats.hdf5_cube",
    "charsuite.io.formats.surfacelab_txt",
    "charsuite.io.formats.tofdaq",
    # echem
    "charsuite.io.formats.arbin_csv",
    "charsuite.io.formats.arbin_res",
    "charsuite.io.formats.arbin_xlsx",
    "charsuite.io.formats.biologic_mpr",
    "charsuite.io.formats.biologic_mpt",
    "charsuite.io.formats.cycler_metadata",
    "charsuite.io.formats.gamry_dta",
    "charsuite.io.formats.impedance_text",
    "charsuite.io.formats.maccor_eis",
    "charsuite.io.formats.maccor_text",
    "charsuite.io.formats.neware_csv",
    "charsuite.io.formats.neware_nda",
    "charsuite.io.formats.novonix_csv",
    "charsuite.io.formats.pec_csv",
    "charsuite.io.formats.squidstat",
    "charsuite.io.formats.squidstat_settings",
    "charsuite.io.formats.versastudio_par",
    "charsuite.io.formats.zplot",
)


@cache
def format_modules() -> dict[str, ModuleType]:
    """Return ``{name: module}`` for every registered format, built-in first."""
    from importlib.metadata import entry_points

    modules: dict[str, ModuleType] = {}
    names = list(FORMAT_MODULES)
    names += [ep.value for ep in entry_points(group="charsuite.readers")]
    for modname in names:
        module = importlib.import_module(modname)
        spec = module.SPEC
        if spec.name in modules:
            raise RuntimeError(f"format name {spec.name!r} registered twice ({modname})")
        modules[spec.name] = module
    return modules
