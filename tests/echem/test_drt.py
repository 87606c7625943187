"""DRT: generated two-arc spectra and pyDRTtools' synthetic ZARC ground truth."""

import json

import numpy as np
import pytest

from charsuite.cli import main
from charsuite.datasets.echem import write_squidstat_eis
from charsuite.echem import drt
from charsuite.exceptions import ParameterError
from charsuite.io import read


def test_two_arcs_total_and_time_constants(tmp_path):
    truth = write_squidstat_eis(tmp_path, noise=0.001)
    ds = read(truth["csv"])
    r = drt(ds)
    p = truth["params_ohm"]
    assert r.r_inf_ohm == pytest.approx(p["R0"], rel=0.05)
    assert r.total_polarisation_ohm == pytest.approx(p["R1"] + p["R2"], rel=0.03)
    taus = [(p[f"R{k}"] * p[f"Q{k}"]) ** (1 / p[f"a{k}"]) for k in (1, 2)]
    main_peaks = sorted(
        sorted(r.peaks, key=lambda q: -q["resistance_ohm"])[:2], key=lambda q: q["tau_s"]
    )
    for peak, tau in zip(main_peaks, taus):
        assert np.log10(peak["tau_s"]) == pytest.approx(np.log10(tau), abs=0.3)
    assert r.history[-1]["operation"] == "drt"
    with pytest.raises(ParameterError):
        drt(ds, lam=-1)


@pytest.mark.shared_data
def test_pydrttools_two_equal_zarcs(shared_data):
    path = shared_data("echem") / "ciuccislab_pyDRTtools/tutorial/data/2ZARCs/2XZARCequal.csv"
    r = drt(read(path))
    assert r.r_inf_ohm == pytest.approx(10.0, rel=0.05)
    assert r.total_polarisation_ohm == pytest.approx(100.0, rel=0.02)
    big = sorted(sorted(r.peaks, key=lambda q: -q["resistance_ohm"])[:2], key=lambda q: q["tau_s"])
    assert big[0]["tau_s"] == pytest.approx(1e-4, rel=0.2)
    assert big[1]["tau_s"] == pytest.approx(0.1, rel=0.2)


def test_cli_drt(tmp_path, capsys):
    truth = write_squidstat_eis(tmp_path)
    png = tmp_path / "drt.png"
    assert main(["echem", "drt", str(truth["csv"]), "--json", "-", "--plot", str(png)]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["lambda_method"] == "generalised cross-validation"
    assert png.stat().st_size > 1000
