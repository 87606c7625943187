"""A report from real public exports (../shared/data), and --init on a folder of them."""

from __future__ import annotations

import json

import pytest

from charsuite.cli import main
from charsuite.report import detect, load_spec

pytestmark = pytest.mark.shared_data


def _files(shared_data) -> dict:
    """One of each: XRD film + substrate, Potku ERDA set, TofDAQ, EC-Lab cycling, impedance."""
    xrd, iba = shared_data("xrd") / "tlinnala__XRD-data", shared_data("iba")
    echem = shared_data("echem")
    return {
        "film": xrd / "220615_0s_GIXRD.xrdml",  # CsPb(Br,Cl)3 film, GI ω = 1°
        "substrate": xrd / "Si-reference_GIXRD.xrdml",  # same GI geometry, Si reference
        "erda": iba / "JYU-IBA_potku/sample_data/Ecaart-11-mini/Tof-E_65-mini/depthfiles/depth.Li",
        "tofdaq": shared_data("sims") / "djdt+spcal/tofwerk_testdata.h5",
        "cycling": echem / "dgbowl_yadg/tests/test_x_eclab/gcpl.issue_211.mpt",
        "eis": echem / "ECSHackWeek_impedance.py/data/exampleDataBioLogic.mpt",
    }


def test_report_from_real_exports(shared_data, tmp_path, render_page):
    f = {k: json.dumps(str(v)) for k, v in _files(shared_data).items()}
    toml = tmp_path / "sample.toml"
    toml.write_text(
        f"""[sample]
name = "real public exports"
area = "1 cm^2"

[xrd]
film = {f["film"]}
substrate = {f["substrate"]}

[composition]
files = {{ERDA = {f["erda"]}}}
basis = "Mn=1"
oxygen = "measured"

[sims]
file = {f["tofdaq"]}

[echem]
mass = "0.790 mg"  # active mass stated in the EC-Lab file (PROVENANCE.md)

[[echem.cycling]]
file = {f["cycling"]}

[echem.dqdv]
file = {f["cycling"]}

[[echem.eis]]
file = {f["eis"]}
""",
        encoding="utf-8",
    )
    out = tmp_path / "out"
    code = main(["--quiet", "report", str(toml), "--out", str(out), "--jobs", "2"])
    summary = json.loads((out / "summary.json").read_text())
    for name, step in summary["steps"].items():  # green, or failed with a one-line reason
        assert step["status"] == "ok" or (step["reason"] and "\n" not in step["reason"]), name
        assert "internal error" not in step.get("reason", ""), (name, step["reason"])
    assert code == (2 if any(s["status"] != "ok" for s in summary["steps"].values()) else 0)
    steps = summary["steps"]

    def number(step, key):
        return next(n for n in steps[step]["numbers"] if n["key"] == key)

    # known answers from the PROVENANCE files
    at = {el: number("composition", f"at_pct:{el}")["value"] for el in ("Li", "Mn", "O")}
    assert at == pytest.approx({"Li": 4.01, "Mn": 32.83, "O": 61.54}, abs=0.006)
    first = number("cycling", next(n["key"] for n in steps["cycling"]["numbers"]
                                   if n["key"].startswith("first_discharge")))  # fmt: skip
    assert first["value"] == pytest.approx(67.6, abs=0.1)  # mAh/g, mass 0.790 mg
    assert "Si" in [n["label"] for n in steps["xrd"]["numbers"] if n["key"].startswith("substrate")]
    seen, console = render_page(out / "index.html", tmp_path)
    assert console == []
    assert all(width > 0 for _, _, width in seen["imgs"])


def test_init_detects_every_technique_in_mixed_exports(shared_data, tmp_path, capsys):
    files = _files(shared_data)
    folder = tmp_path / "exports"
    folder.mkdir()
    for key, path in files.items():
        (folder / f"{key}_{path.name}").symlink_to(path)
    det = detect(folder)
    kinds = {rel.split("_", 1)[0]: row["kind"] for rel, row in det.files.items()}
    assert kinds == {
        "film": "xrd", "substrate": "xrd", "erda": "composition", "tofdaq": "sims",
        "cycling": "cycling", "eis": "eis",
    }, (kinds, det.unread)  # fmt: skip
    assert main(["--quiet", "report", "--init", str(folder)]) == 0
    text = (folder / "sample.toml").read_text()
    spec = load_spec(folder / "sample.toml")  # the starting TOML is valid as written
    assert set(spec.steps()) == {"xrd", "composition", "sims", "cycling", "eis"}
    assert "# incidence_angle = " in text  # options as commented defaults
    assert main(["--quiet", "report", "--init", str(folder)]) == 2  # no overwrite
