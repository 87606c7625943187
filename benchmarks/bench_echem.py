"""Electrochemistry: Squidstat reading, cycle summary and circuit fit.

Baselines are what an analyst would otherwise run: pandas.read_csv on the export, a
pandas groupby over the Squidstat step labels, and impedance.py ``CustomCircuit.fit`` when
installed (else a plain scipy ``curve_fit`` of the same model). impedance.py 1.7.1's
``linKK`` fails under numpy 2 once M reaches 10 (its progress print evaluates a circuit
string without numpy in scope), so lin-KK has no benchmark case.
"""

from __future__ import annotations

import numpy as np

from benchmarks import Case


def _cycling(workdir, cycles=1000):
    from charsuite.datasets.echem import write_squidstat_cycling

    truth = write_squidstat_cycling(
        workdir, windows=((3.0, 4.3),), cycles_per_window=cycles, points_per_half=10, rest_points=2
    )
    return truth["csv"]


def _read(path):
    from charsuite.io import read

    return read(path)


def _pandas_read(path):
    import pandas as pd

    return pd.read_csv(path, encoding="latin-1")


def _summary_setup(workdir):
    import pandas as pd

    from charsuite.io import read

    path = _cycling(workdir)
    return pd.read_csv(path, encoding="latin-1"), read(path)


def _pandas_summary(state):
    """Typical lab script: capacity per step label from the cumulative charge column."""

    df = state[0]
    g = df.groupby("Step number", sort=False)["Cumulative Charge (mAh)"]
    cap = (g.max() - g.min()).abs()
    return cap.groupby(cap.index.str.split("_").str[-1]).sum()


def _summary(state):
    from charsuite.echem import cycle_summary

    return cycle_summary(state[1], mass_g=3.42e-5, window_groups=True)


def _eis_setup(workdir):
    from charsuite.datasets.echem import write_squidstat_eis
    from charsuite.io import read

    ds = read(write_squidstat_eis(workdir)["csv"])
    f = ds["frequency"].values
    z = ds["z_real"].values + 1j * ds["z_imag"].values
    guess = [100, 1200, 4.5e-9, 0.93, 1460, 3e-6, 0.85]
    return ds, f, z, guess


def _fit(state):
    from charsuite.echem import fit_circuit

    return fit_circuit(
        state[1], state[2], circuit="R0-p(R1,CPE1)-p(R2,CPE2)", initial_guess=state[3]
    )


def _impedance_py_fit(state):
    try:
        from impedance.models.circuits import CustomCircuit
    except ImportError:  # scipy curve_fit of the same model instead
        from scipy.optimize import curve_fit

        from charsuite.echem import parse_circuit

        c = parse_circuit("R0-p(R1,CPE1)-p(R2,CPE2)")
        f, z = state[1], state[2]
        lo, hi = c.default_bounds()

        def model(ff, *p):
            zz = c.impedance(ff[: ff.size // 2], p)
            return np.concatenate([zz.real, zz.imag])

        return curve_fit(
            model, np.concatenate([f, f]), np.concatenate([z.real, z.imag]), p0=state[3],
            bounds=(lo, hi), maxfev=100000,
        )  # fmt: skip
    circuit = CustomCircuit("R0-p(R1,CPE1)-p(R2,CPE2)", initial_guess=state[3])
    return circuit.fit(state[1], state[2], weight_by_modulus=True)


CASES = {
    "read_squidstat": Case(
        description="charsuite.read of a 1000-cycle Squidstat CSV (~26k rows, sniff + map + "
        "settings file) vs pandas.read_csv",
        setup=_cycling,
        baseline=_pandas_read,
        target=_read,
    ),
    "cycle_summary": Case(
        description="cycle_summary (segmentation, capacities, CE, retention, cycle life, windows) "
        "on 1000 cycles vs a pandas groupby of capacity per step label (both on loaded data)",
        setup=_summary_setup,
        baseline=_pandas_summary,
        target=_summary,
    ),
    "fit_two_arcs": Case(
        description="fit_circuit R0-p(R1,CPE1)-p(R2,CPE2), 71 points, |Z| weights vs impedance.py "
        "CustomCircuit.fit",
        setup=_eis_setup,
        baseline=_impedance_py_fit,
        target=_fit,
    ),
}
