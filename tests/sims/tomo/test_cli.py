import json

import pytest
from click.testing import CliRunner

from charsuite.cli import main
from charsuite.cli._sims_tomogram import mva, tomogram
from charsuite.datasets.tomogram import tomogram as make_cube

LAYERS = "Li:160:Li,LiPON:60:PO2,NMC811:120:Ni,ITO:45:In,steel::Fe"


@pytest.fixture(scope="module")
def cube_file(tmp_path_factory):
    path, _ = make_cube(path=tmp_path_factory.mktemp("c") / "cube.h5", shape_yx=(32, 32))
    return path


def test_tomogram_cli_json(cube_file, tmp_path, capsys):
    out, js, png = tmp_path / "t.zarr", tmp_path / "t.json", tmp_path / "t.png"
    args = [
        "--quiet",
        "sims",
        "tomogram",
        str(cube_file),
        "--species",
        "Li,Ni,Mn",
        "--register",
        "--zcorrect",
        "--layers",
        LAYERS,
        "-o",
        str(out),
        "--render",
        str(png),
        "--json",
        str(js),
    ]
    assert main(args) == 0
    data = json.loads(js.read_text())
    assert {
        "file",
        "output",
        "species",
        "shape",
        "voxel_nm",
        "registration",
        "zcorrection",
        "history",
    } <= set(data)
    assert len(data["registration"]["shifts_px"]) == 150
    assert data["voxel_nm"][1] == pytest.approx(40.0)
    assert data["zcorrection"]["interfaces"][2] == "NMC811/ITO"
    assert out.is_dir() and png.stat().st_size > 1000
    assert main(args) == 2  # refuses to overwrite
    assert "--force" in capsys.readouterr().err


def test_tomogram_cli_errors(cube_file, tmp_path, capsys):
    base = ["--quiet", "sims", "tomogram", str(cube_file), "-o", str(tmp_path / "x.h5")]
    assert main([*base, "--species", "Xe"]) == 2
    assert "not in the cube" in capsys.readouterr().err
    assert main([*base, "--zcorrect"]) == 2
    assert main([*base, "--zcorrect", "--layers", "Li:160:Li,ITO:45:In,LiPON:60:PO2"]) == 2
    assert "top to bottom" in capsys.readouterr().err
    assert not (tmp_path / "x.h5").exists()


def test_tomogram_cli_bin_denoise_mesh(cube_file, tmp_path):
    import meshio

    js, ply = tmp_path / "t.json", tmp_path / "mn.ply"
    args = [
        "--quiet",
        "sims",
        "tomogram",
        str(cube_file),
        "--species",
        "Ni,Mn",
        "--zcorrect",
        "--layers",
        LAYERS,
        "--bin",
        "1,2,2",
        "--denoise",
        "gaussian",
        "--isosurface",
        f"Mn={ply}",
        "-o",
        str(tmp_path / "t.ome.tif"),
        "--json",
        str(js),
    ]
    assert main(args) == 0
    data = json.loads(js.read_text())
    assert data["shape"][1:] == [16, 16, 2]
    assert data["voxel_nm"][1] == pytest.approx(80.0)
    assert len(meshio.read(ply).points) > 10
    assert data["isosurfaces"]["Mn"]["area_nm2"] > 0
    assert main([*args[:-4], "--bin", "2,2", "-o", str(tmp_path / "u.h5")]) == 2


def test_mva_cli(cube_file, tmp_path):
    runner = CliRunner()
    res = runner.invoke(
        mva,
        [str(cube_file), "-n", "2", "--method", "pca", "--json", "-", "-o", str(tmp_path / "s.h5")],
    )
    assert res.exit_code == 0, res.output
    data = json.loads(res.output[res.output.index("{") :])
    assert data["method"] == "pca" and len(data["loadings"]) == 2
    assert (tmp_path / "s.h5").exists()
    res = runner.invoke(tomogram, ["--help"])
    assert "--scheduler" in res.output


def test_tomogram_cli_regions_and_interface_map(tmp_path, capsys):
    import charsuite

    path, truth = make_cube(path=tmp_path / "inc.h5", shape_yx=(40, 40), seed=1)
    js, imap = tmp_path / "t.json", tmp_path / "interfaces.h5"
    base = ["--quiet", "sims", "tomogram", str(path), "--species", "Mn,Ni"]
    args = [*base, "--register", "--zcorrect", "--layers", LAYERS]
    args += ["--regions", "Mn@NMC811", "--interface-map", str(imap), "--json", str(js)]
    assert main(args) == 0
    data = json.loads(js.read_text())
    (row,) = data["regions"]
    assert row["spec"] == "Mn@NMC811" and row["layer"] == "NMC811"
    assert row["n_regions"] == 1 == len(row["regions"])
    true = truth["inclusion"]["volume_nm3"]
    assert abs(row["regions"][0]["volume_nm3"] / true - 1) < 0.10
    summary = data["zcorrection"]["interface_map"]
    assert summary["file"] == str(imap) and summary["units"] == "nm"
    assert summary["interfaces"] == data["zcorrection"]["interfaces"]
    depth = charsuite.read(imap)
    assert depth.dims == ("interface", "y", "x") and depth.attrs["units"] == "nm"
    assert depth.shape[0] == 4 and depth.shape[1:] == tuple(data["shape"][1:3])
    assert abs(float(depth.isel(interface=2).mean()) - summary["mean_nm"][2]) < 1e-3
    assert float(depth.isel(interface=2).std()) > 1.0  # topography is mapped, not flat
    # bad requests fail before computing
    assert main([*base, "--regions", "Mn", "-o", str(tmp_path / "x.h5")]) == 2
    assert "--zcorrect" in capsys.readouterr().err
    bad = [*base, "--zcorrect", "--layers", LAYERS, "--regions", "Mn@Pt"]
    assert main(bad) == 2
    assert "not in the stack" in capsys.readouterr().err
