"""EC-Lab files by technique: impedance, mixed (Modulo Bat), rows at f = 0, short rows.

Generated EC-Lab text exports (layout as in the real files of ../shared/data) with known
content: what no public file with a permissive licence covers.
"""

import numpy as np
import pytest

from charsuite.echem import cycle_summary, fit_circuit, select_sweep, split_sweeps
from charsuite.exceptions import DataError, ParameterError
from charsuite.io import read

_HEAD = """EC-Lab ASCII FILE
Nb header lines : {n}

{technique}

Run on channel : 1 (SN 1)
{extra}"""


def _mpt(path, technique, columns, rows, extra=""):
    head = _HEAD.format(n=0, technique=technique, extra=extra).splitlines()
    n = len(head) + 1
    lines = [*_HEAD.format(n=n, technique=technique, extra=extra).splitlines()]
    lines.append("\t".join(columns) + "\t")
    lines += ["\t".join(r) for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="latin-1")
    return path


def _z(f, r0=10.0, r1=50.0, c=1e-5):
    w = 2 * np.pi * f
    return r0 + r1 / (1 + 1j * w * r1 * c)


def _geis_rows(n_wait=29, sweeps=(1, 2, 3)):
    freqs = np.logspace(5, -1, 25)
    rows = []
    t = 0.0
    for _ in range(n_wait):  # the technique's initial wait: E and I only, f = 0
        rows.append(["0", "0", "0", f"{t:.3f}", "0.05", "0.38", "1"])
        t += 1.0
    for cyc in sweeps:
        for f in freqs:
            z = _z(f)
            rows.append(
                [
                    f"{f:.6e}",
                    f"{z.real:.6f}",
                    f"{-z.imag:.6f}",
                    f"{t:.3f}",
                    "0.06",
                    "0.38",
                    str(cyc),
                ]
            )
            t += 1.0
    return rows


GEIS_COLS = ["freq/Hz", "Re(Z)/Ohm", "-Im(Z)/Ohm", "time/s", "<Ewe>/V", "<I>/mA", "cycle number"]


def test_geis_rows_at_zero_frequency_are_not_a_sweep(tmp_path):
    path = _mpt(
        tmp_path / "geis.mpt", "Galvano Electrochemical Impedance Spectroscopy", GEIS_COLS,
        _geis_rows(),
    )  # fmt: skip
    ds = read(path)
    assert ds.sizes["frequency"] == 3 * 25
    assert np.all(ds.frequency.values > 0)
    assert ds.attrs["metadata"]["non_impedance_rows"] == 29
    # EC-Lab's numbering: cycle number 1, 2, 3
    assert sorted(set(ds.sweep.values.tolist())) == [1, 2, 3]
    parts = split_sweeps(ds)
    assert [int(p.sweep[0]) for p in parts] == [1, 2, 3]
    first = select_sweep(ds, 1)
    fit = fit_circuit(first, circuit="R0-p(R1,C1)")
    assert fit.parameters["R0"] == pytest.approx(10.0, rel=1e-3)
    assert fit.parameters["R1"] == pytest.approx(50.0, rel=1e-3)
    with pytest.raises(ParameterError, match=r"sweep 0: the data hold sweeps 1, 2, 3"):
        select_sweep(ds, 0)


def _modulo_bat(tmp_path, short_rows: bool):
    """Rest → CC charge → PEIS → CC discharge → PEIS, EC-Lab Modulo Bat layout.

    With ``short_rows`` the rows of the CC/Rest steps stop after the last column they fill
    (EC-Lab writes fewer tab fields than the header in such exports)."""
    cols = [
        "mode", "Ns", "time/s", "Ewe/V", "I/mA", "(Q-Qo)/mA.h", "half cycle",
        "Q charge/discharge/mA.h", "cycle number", "freq/Hz", "Re(Z)/Ohm", "-Im(Z)/Ohm",
        "z cycle",
    ]  # fmt: skip
    rows, t, q, qcd, half_now = [], 0.0, 0.0, 0.0, 0
    freqs = np.logspace(4, 0, 9)

    def dc(ns, i, n, half, qstart):
        nonlocal t, q, qcd, half_now
        out = []
        half_now = half
        for k in range(n):
            t += 10.0
            q += i * 10.0 / 3600
            qcd = q - qstart
            r = ["1", str(ns), f"{t:.1f}", f"{3.7 + 0.01 * k * np.sign(i):.4f}", f"{i:.4f}",
                 f"{q:.8f}", str(half), f"{qcd:.8f}", "0"]  # fmt: skip
            out.append(r if short_rows else [*r, "0", "0", "0", "0"])
        return out

    def peis(ns, zc):
        nonlocal t
        out = []
        for f in freqs:
            t += 1.0
            z = _z(f)
            out.append(["3", str(ns), f"{t:.1f}", "3.8", "0.0", f"{q:.8f}", str(half_now),
                        f"{qcd:.8f}", "0",
                        f"{f:.6e}", f"{z.real:.6f}", f"{-z.imag:.6f}", str(zc)])  # fmt: skip
        return out

    rows += dc(0, 0.0, 3, 0, q)
    rows += dc(1, 1.0, 30, 0, q)
    rows += peis(2, 0)
    rows += dc(3, -1.0, 27, 1, q)
    rows += peis(4, 1)
    extra = (
        "Ns                  0                   1                   2                   3"
        "                   4\n"
        "ctrl_type           Rest                CC                  PEIS                CC"
        "                  PEIS\n"
    )
    return _mpt(tmp_path / "mb.mpt", "Modulo Bat", cols, rows, extra), len(rows)


@pytest.mark.parametrize("short_rows", [False, True])
def test_modulo_bat_is_a_time_series_keeping_every_row(tmp_path, short_rows):
    path, n_rows = _modulo_bat(tmp_path, short_rows)
    ds = read(path)
    assert ds.sizes["record"] == n_rows
    assert ds.attrs["metadata"]["measurement"] == "mixed"
    assert set(ds.technique.values.tolist()) == {"Rest", "CC", "PEIS"}
    # V and I kept on every row
    assert np.all(np.isfinite(ds.voltage.values)) and np.all(np.isfinite(ds.current.values))
    parts = split_sweeps(ds)
    assert [int(p.sweep[0]) for p in parts] == [0, 1]
    assert all(p.sizes["frequency"] == 9 and np.all(p.frequency.values > 0) for p in parts)
    fit = fit_circuit(select_sweep(ds, 1), circuit="R0-p(R1,C1)")
    assert fit.parameters["R1"] == pytest.approx(50.0, rel=1e-3)
    with pytest.raises(DataError, match="select_sweep"):
        fit_circuit(ds)
    s = cycle_summary(ds)
    row = s.cycles[0]
    assert row["capacity_source"] == "instrument"
    assert row["charge_mAh"] == pytest.approx(30 * 10 / 3600, rel=1e-6)
    assert row["discharge_mAh"] == pytest.approx(27 * 10 / 3600, rel=1e-6)


def test_row_with_more_fields_than_names_is_refused_naming_the_line(tmp_path):
    rows = _geis_rows(n_wait=0, sweeps=(1,))
    rows[3] = [*rows[3], "7"]
    path = _mpt(tmp_path / "bad.mpt", "Potentio Electrochemical Impedance Spectroscopy",
                GEIS_COLS, rows)  # fmt: skip
    from charsuite.exceptions import ReaderError

    with pytest.raises(ReaderError, match="line 11 has 8 fields"):
        read(path)


@pytest.mark.shared_data
def test_real_gcpl_with_impedance_columns_is_read_as_cycling(shared_data):
    """mb.issue_95 (Modulo Bat without an impedance step): cycling, no frequency."""
    ds = read(shared_data("echem") / "dgbowl_yadg/tests/test_x_eclab/mb.issue_95.mpt")
    assert "record" in ds.dims and ds.attrs["metadata"]["measurement"] == "cycling"


@pytest.mark.shared_data
@pytest.mark.parametrize("ext", [".mpt", ".mpr"])
def test_real_geis_sweeps_follow_eclab_cycle_number(shared_data, ext):
    ds = read(shared_data("echem") / f"dgbowl_yadg/tests/test_x_eclab/geis.issue_149{ext}")
    assert sorted(set(ds.sweep.values.tolist())) == [1, 2, 3, 4]
    assert ds.attrs["metadata"]["sweep_numbering"] == "EC-Lab 'cycle number'"
