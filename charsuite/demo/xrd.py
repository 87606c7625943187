"""Demo files: GI-XRD of the NMC811 film stack and of the substrate alone (as Fig. 1c)."""

from __future__ import annotations

from pathlib import Path

from charsuite.datasets import DemoSample


def generate(data: Path, sample: DemoSample, *, force: bool = False) -> tuple[dict, dict]:
    """Write film and substrate XRDML scans; return the TOML tables and the ground truth."""
    from charsuite.datasets.xrd import simulate_gixrd, write_xrdml

    s = sample
    common = {
        "a": s.lattice_a_angstrom,
        "c": s.lattice_c_angstrom,
        "incidence_angle_deg": s.incidence_angle_deg,
        "wavelength_angstrom": s.wavelength_angstrom,
        "substrate": "sapphire",  # the paper's XRD samples: NMC811/ITO/Pt/Ti/sapphire
        "seed": s.seed,
    }
    x, y, truth = simulate_gixrd(film_thickness_nm=s.film_thickness_nm, **common)
    xs, ys, _ = simulate_gixrd(film_thickness_nm=0.0, **common)
    omega = s.incidence_angle_deg
    film = write_xrdml(data / "xrd_film_gi.xrdml", x, y, incidence_angle_deg=omega,
                       sample=s.name, force=force)  # fmt: skip
    sub = write_xrdml(data / "xrd_substrate_gi.xrdml", xs, ys, incidence_angle_deg=omega,
                      sample="ITO/Pt/Ti/sapphire", force=force)  # fmt: skip
    tables = {
        "xrd": {
            "film": film.relative_to(data).as_posix(),
            "substrate": sub.relative_to(data).as_posix(),
            "instrument_fwhm": f"{truth['instrument_fwhm_deg']} deg",
        }
    }
    known = {
        "a_angstrom": s.lattice_a_angstrom,
        "c_angstrom": s.lattice_c_angstrom,
        "crystallite_size_nm": truth["crystallite_size_nm"],
    }
    return tables, {"xrd": known}
