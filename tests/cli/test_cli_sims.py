import json

import pytest

from charsuite.cli import main
from charsuite.datasets.sims import battery_layer_spec, make_surfacelab_txt, make_tofdaq_stack


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    path = tmp_path_factory.mktemp("cli") / "stack.h5"
    return make_tofdaq_stack(path, n_scans=150, shape=(16, 16), seed=4)


def test_info(stack, capsys):
    assert main(["sims", "info", str(stack[0])]) == 0
    out = capsys.readouterr().out
    assert "tofdaq" in out and "NiO-" in out and "0.625" in out


def test_profile_json_csv_plot(stack, tmp_path):
    path, truth = stack
    spec = battery_layer_spec(truth)
    out = tmp_path / "p.json"
    code = main(
        [
            "sims",
            "profile",
            str(path),
            "--layers",
            spec,
            "--rate",
            "3",
            "-s",
            "NiO-",
            "-s",
            "Li+",
            "--normalize",
            "tic",
            "--json",
            str(out),
            "--csv",
            str(tmp_path / "p.csv"),
            "--plot",
            str(tmp_path / "p.png"),
        ]
    )
    assert code == 0
    d = json.loads(out.read_text())
    assert set(d) == {
        "file",
        "species",
        "n_scans",
        "normalization",
        "profiles",
        "depth_nm",
        "layers",
        "interfaces",
        "history",
    }
    assert d["species"] == ["NiO-", "Li+"] and d["n_scans"] == 150 and d["normalization"] == "tic"
    assert len(d["profiles"]["NiO-"]) == 150 and len(d["depth_nm"]) == 150
    assert [i["between"] for i in d["interfaces"]] == [t["between"] for t in truth["interfaces"]]
    for i, t in zip(d["interfaces"], truth["interfaces"]):
        assert abs(i["scan"] - t["scan"]) < 1.0
    assert {"name", "start_scan", "end_scan", "thickness_nm", "sputter_rate_nm_per_scan"} <= set(
        d["layers"][0]
    )
    assert (tmp_path / "p.png").stat().st_size > 10_000
    assert (tmp_path / "p.csv").read_text().startswith("scan,depth_nm,NiO- (dimensionless)")
    # no overwrite without --force
    assert main(["sims", "profile", str(path), "--json", str(out)]) == 2


def test_correlate_json(stack, tmp_path, capsys):
    path, truth = stack
    code = main(
        [
            "sims",
            "correlate",
            str(path),
            "-s",
            "NiO-,MnO-,CoO-",
            "--layer",
            "NMC811",
            "--layers",
            battery_layer_spec(truth),
            "--json",
            "-",
            "--plot",
            str(tmp_path / "c.png"),
        ]
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    d = json.loads(captured.out)
    assert d["layer"] == "NMC811" and d["segregated"] is False and 0 <= d["p_value"] <= 1
    assert set(d["pearson_by_binning"]) == {"1", "2", "4", "8"}
    assert "NiO-/MnO-" in d["pearson_by_binning"]["2"]


def test_errors_are_one_line(stack, tmp_path, capsys):
    path, _ = stack
    assert main(["sims", "profile", str(path), "-s", "Zr-"]) == 2
    err = capsys.readouterr().err
    assert "unknown species 'Zr-'" in err and "NiO-" in err and err.count("\n") == 1
    assert main(["sims", "correlate", str(path), "-s", "NiO-,MnO-"]) == 2
    assert main(["sims", "profile", str(path), "--normalize", "bad"]) == 2


def test_profile_text_export(tmp_path):
    path, truth = make_surfacelab_txt(tmp_path / "p.txt")
    out = tmp_path / "p.json"
    assert (
        main(["sims", "profile", str(path), "--layers", "top,middle,bottom", "--json", str(out)])
        == 0
    )
    d = json.loads(out.read_text())
    t = [i["scan"] * truth["cycle_time_s"] for i in d["interfaces"]]
    assert t == pytest.approx(truth["edges_s"], abs=truth["cycle_time_s"])


def test_profile_mask_dead_time_smooth(stack, tmp_path):
    import numpy as np

    from charsuite.sims import depth_profile

    path, _ = stack
    mask = np.zeros((16, 16), dtype=bool)
    mask[4:12, 2:9] = True
    np.save(tmp_path / "mask.npy", mask)
    out = tmp_path / "m.json"
    args = ["sims", "profile", str(path), "--roi", str(tmp_path / "mask.npy"), "--dead-time"]
    assert main([*args, "--smooth", "5", "-s", "Li+", "--json", str(out)]) == 0
    d = json.loads(out.read_text())
    ref = depth_profile(path, roi=mask, dead_time=True, species=["Li+"])
    np.testing.assert_allclose(d["profiles"]["Li+"], ref.intensity.values[:, 0])


def test_profile_normalize_current_from_file(tmp_path, capsys):
    import h5py
    import numpy as np

    path, _ = make_tofdaq_stack(tmp_path / "c.h5", n_scans=20, shape=(5, 5), bipolar=False)
    assert main(["sims", "profile", str(path), "--normalize", "current"]) == 2
    assert "primary current" in capsys.readouterr().err
    cur = np.linspace(1.0, 2.0, 20)
    with h5py.File(path, "a") as f:
        grp = f.create_group("FibParams/FibCurrent")
        grp["TwData"] = cur[:, None]
        grp["TwInfo"] = np.array([b"FIB current (nA)"])
    raw, norm = tmp_path / "raw.json", tmp_path / "norm.json"
    assert main(["sims", "profile", str(path), "-s", "Li+", "--json", str(raw)]) == 0
    args = ["sims", "profile", str(path), "-s", "Li+", "--normalize", "current"]
    assert main([*args, "--json", str(norm)]) == 0
    a = np.array(json.loads(raw.read_text())["profiles"]["Li+"])
    b = np.array(json.loads(norm.read_text())["profiles"]["Li+"])
    assert json.loads(norm.read_text())["normalization"] == "current"
    np.testing.assert_allclose(b, a * cur.mean() / cur, rtol=1e-5)
