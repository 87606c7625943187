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
    "charsuite.io.formats.xrd.brml",
    "charsuite.io.formats.xrd.bruker_raw",
    "charsuite.io.formats.xrd.rigaku_asc",
    "charsuite.io.formats.xrd.rigaku_ras",
    "charsuite.io.formats.xrd.rigaku_rasx",
    "charsuite.io.formats.xrd.uxd",
    "charsuite.io.formats.xrd.xrdml",
    "charsuite.io.formats.xrd.xy_text",
    # composition
    "charsuite.io.formats.iba.composition_sheet",
    "charsuite.io.formats.iba.gupix_out",
    "charsuite.io.formats.iba.idf",
    "charsuite.io.formats.iba.ndf_prf",
    "charsuite.io.formats.iba.ndf_res",
    "charsuite.io.formats.iba.potku_depth",
    "charsuite.io.formats.iba.rump_lcm",
    # sims
    "charsuite.io.formats.sims.hdf5_cube",
    "charsuite.io.formats.sims.surfacelab_txt",
    "charsuite.io.formats.sims.tofdaq",
    # echem
    "charsuite.io.formats.echem.arbin_csv",
    "charsuite.io.formats.echem.arbin_res",
    "charsuite.io.formats.echem.arbin_xlsx",
    "charsuite.io.formats.echem.biologic_mpr",
    "charsuite.io.formats.echem.biologic_mpt",
    "charsuite.io.formats.echem.cycler_metadata",
    "charsuite.io.formats.echem.gamry_dta",
    "charsuite.io.formats.echem.impedance_text",
    "charsuite.io.formats.echem.maccor_eis",
    "charsuite.io.formats.echem.maccor_text",
    "charsuite.io.formats.echem.neware_csv",
    "charsuite.io.formats.echem.neware_nda",
    "charsuite.io.formats.echem.novonix_csv",
    "charsuite.io.formats.echem.pec_csv",
    "charsuite.io.formats.echem.squidstat",
    "charsuite.io.formats.echem.squidstat_settings",
    "charsuite.io.formats.echem.versastudio_par",
    "charsuite.io.formats.echem.zplot",
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
