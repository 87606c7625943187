"""``charsuite xrd`` commands, called in-process."""

from __future__ import annotations

import json

import pytest

from charsuite.cli import main


def test_identify_json_and_plot(gi_film, tmp_path, capsys, identify_json_keys):
    paths, truth = gi_film
    out, png = tmp_path / "id.json", tmp_path / "id.png"
    code = main(
        [
            "--quiet",
            "xrd",
            "identify",
            str(paths[0]),
            "--film-thickness",
            "600",
            "--json",
            str(out),
            "--plot",
            str(png),
        ]
    )
    assert code == 0
    d = json.loads(out.read_text())
    assert set(identify_json_keys) <= set(d)
    assert d["format"] == "xrdml"
    assert {"name", "score", "matched_peaks", "rwp", "lattice"} <= set(d["phases"][0])
    assert {
        "a",
        "c",
        "c_over_a",
        "shift_003_deg",
        "i003_i104",
        "texture",
        "crystallite_size_nm",
    } <= set(d["layered"])
    assert d["layered"]["a"] == pytest.approx(truth["a_angstrom"], abs=0.003)
    assert png.stat().st_size > 10_000
    assert (
        main(["--quiet", "xrd", "identify", str(paths[0]), "--json", str(out)]) == 2
    )  # no overwrite
    assert "exists" in capsys.readouterr().err


def test_lattice_json_schema(gi_film, capsys):
    paths, truth = gi_film
    assert (
        main(
            [
                "--quiet",
                "xrd",
                "lattice",
                str(paths[1]),
                "--phase",
                "NMC811",
                "--incidence-angle",
                "2",
                "--json",
                "-",
            ]
        )
        == 0
    )
    d = json.loads(capsys.readouterr().out)
    assert set(d) >= {"file", "phase", "lattice", "zero_offset_deg", "peaks_used", "history"}
    assert {"a", "a_err", "b", "c", "c_err", "alpha", "beta", "gamma"} <= set(d["lattice"])
    assert d["lattice"]["c"] == pytest.approx(truth["c_angstrom"], abs=0.01)


def test_reduce_writes_h5_and_xy(gi_film, tmp_path):
    from charsuite.io import read

    paths, _ = gi_film
    h5, xy = tmp_path / "r.h5", tmp_path / "r.xy"
    assert (
        main(
            [
                "--quiet",
                "xrd",
                "reduce",
                str(paths[0]),
                "-o",
                str(h5),
                "--strip-ka2",
                "--smooth",
                "0.05",
            ]
        )
        == 0
    )
    da = read(h5)
    assert "background" in da.coords
    assert {"strip_ka2", "subtract_background", "smooth"} <= set(da.attrs["corrections"])
    assert (
        main(["--quiet", "xrd", "reduce", str(paths[0]), "-o", str(xy), "--normalize", "max"]) == 0
    )
    assert read(xy).sizes["two_theta"] == read(paths[0]).sizes["two_theta"]


def test_bad_inputs_exit_2(tmp_path, capsys):
    from charsuite.datasets.xrd import write_xrdml

    xrr = write_xrdml(tmp_path / "xrr.xrdml", [0.1 * i for i in range(1, 60)], [1000] * 59)
    assert main(["--quiet", "xrd", "identify", str(xrr)]) == 2
    err = capsys.readouterr().err
    assert "low-angle" in err or "reflectivity" in err
    junk = tmp_path / "junk.xrdml"
    junk.write_bytes(b"<xrdMeasurements><xrdMeasurement><scan><dataPoints>")
    assert main(["--quiet", "xrd", "identify", str(junk)]) == 2
    assert main(["--quiet", "xrd", "lattice", str(xrr), "--phase", "Unobtainium"]) == 2


def test_identify_range_option(gi_film, tmp_path):
    """A two-range XRDML (second range = the film scan, first = its first 2000 points):
    --range 1 analyses the full film scan."""
    import re

    paths, _ = gi_film
    text = paths[0].read_text()
    scan = re.search(r"<scan .*</scan>", text, re.S).group(0)
    counts = re.search(r"(<(?:counts|intensities)[^>]*>)([^<]*)(</)", scan)
    short = scan.replace(counts.group(2), " ".join(counts.group(2).split()[:2000]))
    end = re.search(r"<endPosition>([^<]*)</endPosition>", short)
    start = float(re.search(r"<startPosition>([^<]*)</startPosition>", short).group(1))
    step = (float(end.group(1)) - start) / (len(counts.group(2).split()) - 1)
    short = short.replace(end.group(0), f"<endPosition>{start + 1999 * step:.5f}</endPosition>", 1)
    two = tmp_path / "two.xrdml"
    two.write_text(text.replace(scan, short + "\n" + scan, 1))
    out = tmp_path / "r.json"
    code = main(["--quiet", "xrd", "identify", str(two), "--range", "1", "--json", str(out)])
    assert code == 0
    d = json.loads(out.read_text())
    assert "NMC811" in {p["name"] for p in d["phases"]}


@pytest.mark.parametrize("mode,lines,source", [("ka1", "ka1", "option"), ("auto", "ka12", "data")])
def test_identify_radiation_option(gi_film, tmp_path, mode, lines, source):
    paths, _ = gi_film
    out = tmp_path / "id.json"
    code = main(
        ["--quiet", "xrd", "identify", str(paths[0]), "--radiation", mode, "--json", str(out)]
    )
    assert code == 0
    rad = json.loads(out.read_text())["radiation"]
    assert (rad["lines"], rad["source"]) == (lines, source)
    assert rad["ka2_ratio"] == (0.0 if lines == "ka1" else 0.5)
    assert rad["evidence"]["data"]["verdict"] == "ka12"  # the generated film has Kα2


def test_identify_map_without_map_rows_is_refused(tmp_path, capsys):
    import zipfile

    import numpy as np

    x = np.linspace(20, 40, 300)
    path = tmp_path / "map.rasx"
    with zipfile.ZipFile(path, "w") as zf:
        for i in range(2):
            y = 100 + 1e4 * np.exp(-((x - 28.44) ** 2) / 0.01)
            zf.writestr(
                f"Data0/Profile{i}.txt", "\r\n".join(f"{a:.4f}\t{b:.1f}\t1" for a, b in zip(x, y))
            )
        zf.writestr("root.xml", "<root/>")
    assert main(["--quiet", "xrd", "identify", str(path), "--json", str(tmp_path / "o.json")]) == 2
    assert "map-rows" in capsys.readouterr().err
