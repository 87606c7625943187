"""Small synthetic files in each vendor layout, for the reader contract tests."""

from __future__ import annotations

import struct
import zipfile
from pathlib import Path

import numpy as np


def pattern(n: int = 300, start: float = 10.0, step: float = 0.05, *, nan: bool = False):
    x = start + step * np.arange(n)
    y = np.round(
        100 + 2000 * np.exp(-((x - 18.7) ** 2) / 0.02) + 800 * np.exp(-((x - 24.0) ** 2) / 0.03)
    )
    if nan:
        y[5] = np.nan
    return x, y


def write_uxd(path: Path, *, nan: bool = False) -> Path:
    x, y = pattern()
    rows = [f"{a:.3f}\t{int(b)}" for a, b in zip(x, y)]
    if nan:
        rows[5] = f"{x[5]:.3f}\tnan"
    head = [
        "; test UXD",
        "_FILEVERSION=2",
        "_SAMPLE='test'",
        "_WL1=1.540600",
        "_WL2=1.544390",
        "_WLRATIO=0.500000",
        "; (Data for Range number 1)",
        "_DRIVE='COUPLED'",
        "_STEPTIME=1.000000",
        "_STEPSIZE=0.050000",
        "_START=10.000000",
        "_2THETACOUNTS",
    ]
    path.write_text("\n".join(head + rows) + "\n")
    return path


def write_ras(path: Path, *, nan: bool = False) -> Path:
    x, y = pattern()
    rows = [f"{a:.4f} {b:.4f} 1.0000" for a, b in zip(x, y)]
    if nan:
        rows[5] = f"{x[5]:.4f} nan 1.0000"
    head = [
        "*RAS_DATA_START",
        "*RAS_HEADER_START",
        '*FILE_SAMPLE "test"',
        '*HW_XG_WAVE_LENGTH_ALPHA1 "1.540593"',
        '*HW_XG_WAVE_LENGTH_ALPHA2 "1.544414"',
        '*MEAS_SCAN_AXIS_X "TwoThetaTheta"',
        '*MEAS_SCAN_SPEED "10.0"',
        '*MEAS_SCAN_STEP "0.05"',
        '*MEAS_SCAN_UNIT_Y "counts"',
        "*RAS_HEADER_END",
        "*RAS_INT_START",
    ]
    path.write_bytes(
        ("\r\n".join([*head, *rows, "*RAS_INT_END", "*RAS_DATA_END"]) + "\r\n").encode()
    )
    return path


def write_rasx(path: Path, *, nan: bool = False) -> Path:
    x, y = pattern(nan=nan)
    prof = "\r\n".join(f"{a:.4f}\t{b}\t1" for a, b in zip(x, y))
    cond = (
        '<?xml version="1.0" encoding="utf-8"?><MeasurementConditions><GeneralInformation>'
        "<SampleName>test</SampleName></GeneralInformation><ScanInformation><AxisName>TwoTheta</AxisName>"
        "<Mode>CONTINUOUS</Mode><Start>10</Start><Stop>24.95</Stop><Step>0.05</Step><Speed>5</Speed>"
        "<IntensityUnit>counts</IntensityUnit></ScanInformation><RASHeader><Pair><string>*HW_XG_WAVE_LENGTH_ALPHA1"
        "</string><string>1.540593</string></Pair></RASHeader></MeasurementConditions>"
    )
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("Data0/Profile0.txt", "\ufeff" + prof)
        zf.writestr("Data0/MesurementConditions0.xml", cond)
        zf.writestr("root.xml", "<root/>")
    return path


def write_brml(path: Path, *, nan: bool = False) -> Path:
    x, y = pattern(nan=nan)
    datum = "\n".join(f"      <Datum>1,1,{a:.4f},{a / 2:.4f},{b:.0f}</Datum>" for a, b in zip(x, y))
    raw = f"""<?xml version="1.0"?>
<RawData xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <TimeStampStarted>2020-01-01T00:00:00</TimeStampStarted>
  <DataRoutes>
    <DataRoute RouteFlag="Measured">
      <ScanInformation ScanName="LockedCoupled"><TimePerStep>1</TimePerStep></ScanInformation>
      <DataViews>
        <RawDataView xsi:type="FixedRawDataView" Start="0" Length="1" LogicName="MeasuredTime" Unit="s" />
        <RawDataView xsi:type="FixedRawDataView" Start="1" Length="1" LogicName="AbsorptionFactor" Unit="" />
        <RawDataView xsi:type="VaryingRawDataView" Start="2" Length="2">
          <Varying LogicName="ScanAxes"><FieldDefinitions FieldName="TwoTheta" /><FieldDefinitions FieldName="Theta" /></Varying>
        </RawDataView>
        <RawDataView xsi:type="RecordedRawDataView" Start="4" Length="1"><Recording LogicName="c" /></RawDataView>
      </DataViews>
{datum}
    </DataRoute>
  </DataRoutes>
  <FixedInformation><Instrument><Tube><WaveLengthAlpha1 Value="1.5406" /><WaveLengthAlpha2 Value="1.54439" />
  <WaveLengthRatio Value="0.5" /><TubeMaterial>Cu</TubeMaterial></Tube></Instrument></FixedInformation>
</RawData>
"""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("Experiment0/RawData0.xml", raw)
        zf.writestr("experimentCollection.xml", "<ExperimentCollection/>")
    return path


def write_raw1(path: Path, *, nan: bool = False) -> Path:
    """RAW1.01: 712-byte header + one 304-byte range header + float32 counts."""
    x, y = pattern(nan=nan)
    head = bytearray(712)
    head[0:8] = b"RAW1.01\x00"
    struct.pack_into("<I", head, 8, 1)
    struct.pack_into("<I", head, 12, 1)
    head[326:330] = b"test"
    head[608:610] = b"Cu"
    struct.pack_into("<ddddd", head, 616, 1.5418, 1.5406, 1.54439, 1.39222, 0.5)
    rng = bytearray(304)
    struct.pack_into("<II", rng, 0, 304, x.size)
    struct.pack_into("<dd", rng, 8, x[0] / 2, x[0])
    struct.pack_into("<d", rng, 176, 0.05)
    struct.pack_into("<f", rng, 192, 1.0)
    struct.pack_into("<I", rng, 256, 0)
    path.write_bytes(bytes(head) + bytes(rng) + np.asarray(y, "<f4").tobytes())
    return path
