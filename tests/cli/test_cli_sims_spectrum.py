"""`charsuite sims spectrum | mass-calibrate | peaks | reintegrate` (issue 14)."""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from charsuite.cli import main
from charsuite.datasets.sims import make_fibtof_spectrum, make_tofdaq_stack
from charsuite.sims import MassCalibration, PeakTable, ion


@pytest.fixture(scope="module")
def gen(tmp_path_factory):
    return make_fibtof_spectrum(tmp_path_factory.mktemp("cli") / "fibtof.h5")


def test_mass_calibrate_json_and_output(gen, tmp_path, capsys):
    import hashlib

    path, truth = gen
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    cal_path = tmp_path / "cal.json"
    code = main(
        ["sims", "mass-calibrate", str(path), "--ions", "Li+,Na+,K+,Ga+,In+",
         "-o", str(cal_path), "--json", "-"]
    )  # fmt: skip
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    assert data["mode"] == 0 and set(data["parameters"]) == {"p1", "p2"}
    assert data["parameters"]["p1"] == pytest.approx(truth["calibration"]["parameters"][0], 1e-5)
    for row in data["ions"]:
        assert {"ion", "mass", "time_samples", "residual_ppm", "resolution"} <= set(row)
        assert abs(row["residual_ppm"]) < 10
    assert data["history"][-1]["operation"] == "mass calibration"
    cal = MassCalibration.read_json(cal_path)  # the -o file is usable by read/reintegrate
    assert cal.parameters[0] == pytest.approx(data["parameters"]["p1"])
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before  # input never modified


def test_spectrum_plot_csv_json(gen, tmp_path, capsys):
    path, _ = gen
    code = main(
        ["sims", "spectrum", str(path), "--plot", str(tmp_path / "s.png"), "--zoom", "54:62",
         "--csv", str(tmp_path / "s.csv"), "--monoisotopic", "Ga", "--json", "-"]
    )  # fmt: skip
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    assert data["source"] == "SumSpectrum" and data["n_samples"] == 36000
    assert any(p["ion"] == "In+" for p in data["peaks"])
    assert (tmp_path / "s.png").stat().st_size > 10_000
    lines = (tmp_path / "s.csv").read_text().splitlines()
    assert lines[0] == "sample,mass_Th,counts" and len(lines) == 36001


def test_peaks_table_feeds_reintegrate_and_profile(tmp_path, capsys):
    path, _ = make_tofdaq_stack(tmp_path / "s.h5", n_scans=12, shape=(3, 2), tofdata=True)
    table = tmp_path / "t.csv"
    # the stack generator writes Li+ without its 6Li partner: declare it monoisotopic
    args = ["--candidates", "Li+", "--monoisotopic", "Li", "--peak-table", str(table)]
    assert main(["sims", "peaks", str(path), *args]) == 0
    assert PeakTable.read_csv(table).label == ("Li+",)
    out = tmp_path / "cube.h5"
    assert main(["sims", "reintegrate", str(path), "--peaks", str(table), "-o", str(out)]) == 0
    capsys.readouterr()
    assert main(["sims", "profile", str(out), "--json", "-"]) == 0
    prof = json.loads(capsys.readouterr().out)
    assert "Li+" in json.dumps(prof)


@pytest.mark.shared_data
def test_all_zero_sum_spectrum_one_line_exit_2(shared_data, capsys):
    path = shared_data("sims") / "djdt+spcal" / "tofwerk_testdata.h5"
    assert main(["sims", "spectrum", str(path), "--plot", "never.png"]) == 2
    err = capsys.readouterr().err
    assert "all zero" in err and err.count("\n") == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--ions", "Li+,Zz+"], "Zz"),  # unknown ion
        (["--ions", "Li+,In+", "--mode", "2"], "at least 3"),  # too few reference peaks
        (["--ions", "U+,Pu+:244.06"], "not found"),  # ions outside the spectrum
        (["--ions", "A+:59.95,B+:59.96,Li+"], "both located"),  # one peak, two ions
    ],
)
def test_mass_calibrate_bad_input(gen, capsys, args, message):
    path, _ = gen
    assert main(["sims", "mass-calibrate", str(path), *args]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_spectrum_bad_inputs(gen, tmp_path, capsys):
    path, _ = gen
    for args in (
        ["--scans", "0:5"],  # SumSpectrum cannot be cut
        ["--zoom", "60:50"],
        ["--scans", "a:b"],
        ["--calibration", str(path)],  # not a JSON calibration
    ):
        assert main(["sims", "spectrum", str(path), *args]) == 2, args
        assert capsys.readouterr().err.count("\n") == 1
    empty = tmp_path / "empty.h5"
    import h5py

    with h5py.File(empty, "w") as f:
        f.attrs["TofDAQ Version"] = 1.99
    assert main(["sims", "spectrum", str(empty)]) == 2
    assert "no spectra" in capsys.readouterr().err


# --------------------------------------------------------------------------- fuzz
_ION_TEXT = st.text(alphabet="ABCDEFGHILNOPUabcdeilnorux0123456789+-:[]^. ,", max_size=14)


@settings(max_examples=200, deadline=None)
@given(_ION_TEXT)
def test_fuzz_ion_names(text):
    from charsuite.exceptions import ParameterError

    try:
        parsed = ion(text)
    except ParameterError:
        return
    assert parsed.mz > 0 and 0 < parsed.abundance <= 1


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(_ION_TEXT, min_size=1, max_size=4), st.sampled_from([None, "0", "2", "5"]))
def test_fuzz_mass_calibrate_cli(gen, capsys, ions, mode):
    path, _ = gen
    args = ["sims", "mass-calibrate", str(path), "--ions", ",".join(ions)]
    if mode:
        args += ["--mode", mode]
    code = main(args)
    err = capsys.readouterr().err
    assert code in (0, 2)
    if code == 2:
        assert err.count("\n") == 1


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.binary(max_size=300))
def test_fuzz_peak_table_csv(tmp_path, data):
    from charsuite.exceptions import DataError

    path = tmp_path / "t.csv"
    path.write_bytes(b"label,mass_Th,lower_Th,upper_Th\n" + data)
    try:
        table = PeakTable.read_csv(path)
    except DataError:
        return
    assert all(table.lower < table.upper)


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.binary(min_size=0, max_size=2048))
def test_fuzz_spectrum_on_garbage(tmp_path, capsys, data):
    path = tmp_path / "g.h5"
    path.write_bytes(b"\x89HDF\r\n\x1a\n" + data)
    assert main(["sims", "spectrum", str(path)]) == 2
    assert capsys.readouterr().err.count("\n") == 1


@pytest.fixture(scope="module")
def tof_cube(tmp_path_factory):
    path = tmp_path_factory.mktemp("fuzz") / "s.h5"
    return make_tofdaq_stack(path, n_scans=10, shape=(3, 2), tofdata=True, seed=5)


_RANGE = st.one_of(
    st.none(),
    st.text(alphabet="0123456789:,-x ", max_size=9),
    st.tuples(st.integers(-3, 15), st.integers(-3, 15)).map(lambda t: f"{t[0]}:{t[1]}"),
)


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(_RANGE, _RANGE)
def test_fuzz_spectrum_regions(tof_cube, capsys, scans, roi):
    path, _ = tof_cube
    args = ["sims", "spectrum", str(path), "--no-peaks", "--json", "-"]
    if scans is not None:
        args += ["--scans", scans]
    if roi is not None:
        args += ["--roi", roi]
    code = main(args)
    captured = capsys.readouterr()
    assert code in (0, 2)
    if code == 0:
        data = json.loads(captured.out)
        assert data["total_counts"] >= 0 and data["source"] in ("SumSpectrum", "TofData")
    else:
        assert captured.err.count("\n") == 1


def test_outputs_never_replace_the_input(gen, capsys):
    import hashlib

    path, _ = gen
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    for args in (
        ["spectrum", str(path), "--no-peaks", "--csv", str(path), "--force"],
        ["mass-calibrate", str(path), "--ions", "Li+,K+,In+", "-o", str(path), "--force"],
        ["peaks", str(path), "--peak-table", str(path), "--force"],
    ):
        assert main(["sims", *args]) == 2, args
        assert "input" in capsys.readouterr().err
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before
