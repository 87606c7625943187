"""Composition: reader overhead and the uncertainty-propagating merge."""

from __future__ import annotations

import numpy as np

from benchmarks import Case


def _idf_setup(workdir):
    """A SIMNRA-sized .xnra: 2 layers plus a 4096-channel simulated spectrum block."""
    from charsuite.datasets.composition import write_idf

    path = write_idf(workdir / "big.xnra", [(1000.0, {"O": 0.6, "Al": 0.4}), (1e4, {"C": 1.0})])
    text = path.read_text()
    channels = "".join(f"{i} " for i in range(4096))
    counts = "".join(f"{float(i % 97):.14E} " for i in range(4096))
    block = (
        "<simulations>"
        + "".join(
            f"<simulation><simpledata><x>{channels}</x><y>{counts}</y></simpledata></simulation>"
            for _ in range(20)
        )
        + "</simulations>"
    )
    path.write_text(text.replace("</reactions>", "</reactions><process>" + block + "</process>"))
    return path


def _et_parse(path):
    import xml.etree.ElementTree as ET

    return ET.parse(path).getroot()


def _read(path, **kw):
    from charsuite.io import read

    return read(path, **kw)


def _potku_setup(workdir):
    from charsuite.datasets.composition import write_potku_depth

    fr = {
        el: (lambda d, f=f: np.where(d >= 0, f, 0.0))
        for el, f in {"Li": 0.3, "O": 0.5, "Mn": 0.2}.items()
    }
    write_potku_depth(workdir, fr, depth=np.arange(-190.0, 20000.0, 20.0), window=(200, 9000))
    return sorted((workdir / "depthfiles").glob("depth.*"))


def _loadtxt_all(files):
    return [np.loadtxt(f) for f in files]


def _combine_setup(workdir):
    from charsuite.composition import ElementAmounts

    erda = ElementAmounts.from_values(
        {"Li": (39.0, 1.5), "Ni+Mn+Co": (20.0, 0.5), "O": (41.0, 1.0)},
        quantity="at_pct",
        technique="ERDA",
    )
    pixe = ElementAmounts.from_values(
        {"Ni": (83.0, 0.8), "Mn": (8.0, 0.4), "Co": (9.0, 0.45)},
        quantity="at_pct",
        technique="PIXE",
    )
    rbs = ElementAmounts.from_values(
        {"Ni+Mn+Co": (1300.0, 26.0)}, quantity="areal_density", technique="RBS"
    )
    return {"ERDA": erda, "PIXE": pixe, "RBS": rbs}


def _combine(sources):
    from charsuite.composition import combine

    for _ in range(50):
        combine(
            sources,
            rules=["Li from ERDA", "Ni,Mn,Co ratios from PIXE", "metal total from RBS"],
            target="Li1.6Ni0.8Mn0.1Co0.1Ox",
        )


def _combine_plain(sources):
    # the same arithmetic on nominal values only (no uncertainty propagation, no checks)
    for _ in range(50):
        e = {k: v.nominal_value for k, v in sources["ERDA"].values.items()}
        p = {k: v.nominal_value for k, v in sources["PIXE"].values.items()}
        tm = sum(p.values())
        out = {k: v / tm for k, v in p.items()}
        out["Li"] = e["Li"] / e["Ni+Mn+Co"]
        scale = sources["RBS"].values["Ni+Mn+Co"].nominal_value
        _ = {k: v * scale for k, v in out.items()}


CASES = {
    "read_xnra": Case(
        description="charsuite read of a 2.1 MB SIMNRA-like .xnra (layers only) vs ET.parse",
        setup=_idf_setup,
        baseline=_et_parse,
        target=_read,
        repeat=3,
    ),
    "read_potku": Case(
        description="read a Potku set (4 files x 1010 bins) with the window average vs "
        "numpy.loadtxt of the same files",
        setup=_potku_setup,
        baseline=_loadtxt_all,
        target=lambda files: _read(files[0]),
        repeat=5,
    ),
    "combine": Case(
        description="50 x combine(ERDA, PIXE, RBS) with uncertainties, rules, target vs the "
        "same arithmetic on plain floats",
        setup=_combine_setup,
        baseline=_combine_plain,
        target=_combine,
        repeat=3,
    ),
}
