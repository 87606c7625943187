"""Scripted FIB-ToF-SIMS depth-profile figure (plain script; executed in CI).

Usage: python notebooks/sims_depth_profile.py [FILE.h5 LAYERS OUT.png]

Without arguments a small battery-stack TofDAQ file is generated in a temporary folder.
"""

import sys
import tempfile
import warnings
from pathlib import Path

from charsuite.datasets.sims import battery_layer_spec, make_tofdaq_stack
from charsuite.plotting.sims import plot_depth_profile
from charsuite.sims import calibrate_depth, depth_profile


def main(argv):
    if argv:
        path, layers, out = Path(argv[0]), argv[1], Path(argv[2])
    else:
        tmp = Path(tempfile.mkdtemp(prefix="charsuite-sims-"))
        path, truth = make_tofdaq_stack(tmp / "stack.h5", n_scans=200, shape=(24, 24))
        layers, out = battery_layer_spec(truth), tmp / "depth_profile.png"
    profile = depth_profile(path, dead_time=True)
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        calibration = calibrate_depth(profile, layers, variable="counts")
    for itf in calibration.interfaces:
        print(
            f"{itf.between[0]:>10s}/{itf.between[1]:<10s} scan {itf.scan:7.2f}  "
            f"depth {itf.depth_nm:7.1f} nm  width {itf.width_nm:5.1f} nm"
        )
    plot_depth_profile(profile, calibration=calibration, path=out, force=True)
    print(f"wrote {out}")


if __name__ == "__main__":
    main(sys.argv[1:])
