"""TofDAQ ``EventList`` decoding and integration into a peak table, one write at a time.

Used by the TofDAQ reader for "raw" fibTOF files (EventList, no PeakData) and by
:func:`charsuite.sims.eventlist_cube`. Encodings (sims.md §1.8):

- VL uint32: official 32-bit words. A header word has bits 31–24 = number of data words
  that follow and bits 23–0 = timestamp in ``ClockPeriod`` units; a header without data
  words is a TDC event (one ion); data words are float32 ADC samples (mV).
- VL uint8: the same words, zlib- or LZ4-compressed per element; the ``Compression``
  attribute's bits 15–8 give the method (1 zlib, 2 LZ4; default 257 = zlib).
- VL uint16: fibTOF TDC ticks as described by RosettaSciIO: sample = tick //
  round(SampleInterval/ClockPeriod); counts are divided by the number of recorded TDC
  channels (``Ch*Record=1`` in the INI), because each channel records every ion.

Windows are ``[round(i(lower)), round(i(upper)))`` (end excluded, as TOFWERK's
``TwGenerateSegmentProfilesFromEventList``) with the write's mass calibration, or, when
the calibration cannot describe the stored ``MassAxis`` (warning), the samples with
``lower ≤ MassAxis < upper``; ADC data words add ``mV · SampleInterval[ns] /
SingleIonSignal`` ions.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from charsuite.exceptions import DataError, MissingDependencyError, ReaderError
from charsuite.io._budget import check_bytes, decompress_bounded

__all__ = ["EventListIntegrator", "decode_event_list", "decompress_words"]


def decompress_words(raw: np.ndarray, compression: int, max_words: int | None) -> np.ndarray:
    """Decompress one VL uint8 EventList element into 32-bit words."""
    method = (compression >> 8) & 0xFF
    data = np.asarray(raw, dtype=np.uint8).tobytes()
    if method == 1:
        return np.frombuffer(decompress_bounded(data, what="an EventList element"), dtype="<u4")
    if method == 2:
        try:
            import lz4.block
        except ImportError as err:  # pragma: no cover - lz4 is a dependency
            raise MissingDependencyError(
                "LZ4-compressed EventList needs the 'lz4' package (pip install lz4)"
            ) from err
        size = (max_words or max(len(data) * 255, 64)) * 4
        check_bytes(size, what="an LZ4 EventList element")
        return np.frombuffer(lz4.block.decompress(data, uncompressed_size=size), dtype="<u4")
    if method == 0:
        return np.frombuffer(data, dtype="<u4")
    raise DataError(f"EventList Compression={compression}: unknown method {method} (1 zlib, 2 LZ4)")


def decode_event_list(
    words: np.ndarray, *, clock_ratio: float
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Decode one uncompressed TofDAQ EventList element (32-bit words).

    Parameters
    ----------
    words : ndarray of uint32
    clock_ratio : float
        ``ClockPeriod / SampleInterval`` (sample index = round(timestamp · ratio)).

    Returns
    -------
    tdc_samples : ndarray of int64
        Sample index of each TDC event.
    adc_samples, adc_mv : ndarray or None
        Sample index and signal (mV) of each ADC data word, if any.

    References
    ----------
    TOFWERK, "Tofwerk HDF5 data format 1.99" (EventList) and ``DecodeEventList`` in
    pasturm/TofDaqR ``src/SupplementaryFunctions.cpp``.
    """
    words = np.asarray(words, dtype=np.uint32)
    counts = words >> 24
    if not counts.any():  # fast path: every word is a TDC-only header
        return np.rint((words & 0xFFFFFF) * clock_ratio).astype(np.int64), None, None
    tdc, adc_s, adc_v = [], [], []
    i, n = 0, len(words)
    while i < n:
        h = int(words[i])
        k, ts = h >> 24, h & 0xFFFFFF
        start = round(ts * clock_ratio)
        if k == 0:
            tdc.append(start)
        else:
            if i + 1 + k > n:
                raise DataError(f"EventList element truncated: header promises {k} data words")
            adc_s.extend(range(start, start + k))
            adc_v.append(words[i + 1 : i + 1 + k].view(np.float32))
            i += k
        i += 1
    return (
        np.asarray(tdc, dtype=np.int64),
        np.asarray(adc_s, dtype=np.int64),
        np.concatenate(adc_v).astype(np.float64) if adc_v else np.zeros(0),
    )


class EventListIntegrator:
    """Array-like ``(write, y, x, peak)`` of counts integrated from an EventList on demand.

    Indexing along the first axis integrates only the requested writes (one h5py call per
    write), so ``dask.array.from_array(integrator, chunks=(1, ny, nx, n_peaks))`` streams
    the file write by write.

    Parameters
    ----------
    f : h5py.File
        Open file (kept open by the caller while the integrator is used).
    group : {"FullSpectra", "FullSpectra2"}
    table : PeakTable
        Mass windows (Th).
    path : Path
        For error messages.
    n_writes : int, optional
        Use only the first ``n_writes`` writes (EventLists can hold one partial extra write).
    calibration : (mode, parameters), optional
        Mass calibration for every write instead of the file's (e.g. from
        ``charsuite sims mass-calibrate``).
    """

    def __init__(
        self, f, group: str, table, path, *, n_writes: int | None = None, calibration=None
    ):
        import h5py

        from charsuite.io.formats.sims.tofdaq import attrs_dict, parse_ini, require_dataset

        self.path = path
        self.group = require_dataset(f, group, path)
        self.events = require_dataset(f, f"{group}/EventList", path)
        base = h5py.check_vlen_dtype(self.events.dtype)
        if base is None or self.events.ndim != 3:
            raise ReaderError(
                f"{self.events.name} is {self.events.dtype} with shape {self.events.shape}; "
                "expected a 3-D (write, buf, segment) variable-length array",
                path=path,
            )
        self.base = np.dtype(base)
        if self.base not in (np.uint8, np.uint16, np.uint32):
            raise ReaderError(
                f"{self.events.name} elements are {self.base}; expected uint8 (compressed), "
                "uint16 (TDC ticks) or uint32 (words)",
                path=path,
            )
        self.table = table
        ga = attrs_dict(self.group)
        self.sample_interval = float(ga.get("SampleInterval") or 0)
        if self.sample_interval <= 0:
            raise ReaderError(
                f"{self.group.name} has no SampleInterval; cannot place events", path=path
            )
        self.clock = float(ga.get("ClockPeriod") or 0) or self.sample_interval
        self.single_ion = float(ga.get("Single Ion Signal") or 1.0)
        eattrs = attrs_dict(self.events)
        self.compression = int(eattrs.get("Compression", 257))
        self.max_words = eattrs.get("MaxElementLength")
        self.n_samples = None
        for name in ("MassAxis", "SumSpectrum", "TofData"):
            if name in self.group:
                self.n_samples = self.group[name].shape[-1]
                break
        self.calibration = calibration  # (mode, parameters) replacing the file's, or None
        self.axis_windows = None if calibration is not None else self._check_calibration()
        self.channels = 1
        self.ratio = 1
        if self.base == np.uint16:
            ini = parse_ini(str(attrs_dict(f).get("Configuration File Contents", "")))
            flags = [v for s in ini.values() for k, v in s.items() if k.endswith("Record")]
            self.channels = max(1, sum(1 for v in flags if v.strip() == "1"))
            self.ratio = max(1, round(self.sample_interval / self.clock))
        nw, nb, ns = self.events.shape
        nw = nw if n_writes is None else min(nw, int(n_writes))
        self.shape = (nw, nb, ns, len(table.label))
        self.dtype = np.dtype(np.float32)
        self.ndim = 4

    def _check_calibration(self) -> tuple[np.ndarray, np.ndarray] | None:
        """Sample windows from the stored MassAxis when the calibration cannot be right.

        Without per-write recalibration, ``MassAxis`` and the calibration describe the same
        axis (real files agree to 1e-7, sims.md §1.6). If the calibration is not monotonic
        over the samples or disagrees with ``MassAxis`` by more than 0.1 %, the parameters
        are not usable (seen in synthetic fixtures): warn and integrate with ``MassAxis``
        (samples with lower ≤ m < upper), as RosettaSciIO does.
        """
        import warnings

        from charsuite.exceptions import CharsuiteWarning
        from charsuite.io.formats.sims.tofdaq import index_to_mass, mass_calibration

        if "MassAxis" not in self.group or "MassCalibration" in self.group:
            return None
        axis = np.asarray(self.group["MassAxis"][()], dtype=float)
        if axis.size < 2 or not np.all(np.diff(axis) > 0):
            return None  # no usable stored axis to fall back on
        try:
            m = np.asarray(
                index_to_mass(*mass_calibration(self.group), np.arange(axis.size, dtype=float))
            )
        except DataError:
            m = np.full(axis.size, np.nan)
        span = float(axis[-1] - axis[0])
        if (
            np.all(np.isfinite(m))
            and np.all(np.diff(m) > 0)
            and np.max(np.abs(m - axis)) <= 1e-3 * span
        ):
            return None
        warnings.warn(
            f"{self.path}: the mass calibration of {self.group.name} gives "
            f"{np.nanmin(m):.4g}–{np.nanmax(m):.4g} Th over its {axis.size} samples (not "
            f"monotonic or not matching), but the stored MassAxis spans {axis[0]:.4g}–"
            f"{axis[-1]:.4g} Th; integrating the EventList with MassAxis windows.",
            CharsuiteWarning,
            stacklevel=4,
        )
        lo = np.searchsorted(axis, self.table.lower, side="left")
        hi = np.searchsorted(axis, self.table.upper, side="left")
        return lo.astype(np.int64), hi.astype(np.int64)

    @property
    def parameters(self) -> dict[str, Any]:
        """What the integration did (for history)."""
        out: dict[str, Any] = {
            "group": self.group.name,
            "element_dtype": str(self.base),
            "n_peaks": len(self.table.label),
            "window": "[round(i(lower)), round(i(upper)))"
            if self.axis_windows is None
            else "lower <= MassAxis < upper",
        }
        out["windows_from"] = "MassAxis" if self.axis_windows is not None else "calibration"
        if self.calibration is not None:
            out["calibration"] = {"mode": self.calibration[0], "parameters": self.calibration[1]}
        if self.base == np.uint16:
            out["tdc_channels"] = self.channels
            out["ticks_per_sample"] = self.ratio
        return out

    def write_events(self, w: int) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """Sample index, flat pixel index (y·nx + x) and weight (None = 1) of write ``w``'s events."""
        return self._events(w)

    def _events(self, w: int) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """Sample index, flat pixel index and weight (None = 1) of every event of write w."""
        flat = self.events[w].reshape(-1)  # one h5py call per write
        lengths = np.fromiter((e.size for e in flat), dtype=np.int64, count=flat.size)
        npix = flat.size
        if not lengths.sum():
            empty = np.zeros(0, np.int64)
            return empty, empty, None
        if self.base == np.uint16:
            ticks = np.concatenate([np.asarray(e) for e in flat])
            pix = np.repeat(np.arange(npix), lengths)
            return ticks.astype(np.int64) // self.ratio, pix, None
        if self.base == np.uint32:
            words = np.concatenate([np.asarray(e).view("<u4") for e in flat])
            if not (words >> 24).any():  # TDC-only headers: decode all pixels at once
                s = np.rint((words & 0xFFFFFF) * (self.clock / self.sample_interval))
                return s.astype(np.int64), np.repeat(np.arange(npix), lengths), None
            elements = [np.asarray(e).view("<u4") for e in flat]
        else:
            elements = [
                decompress_words(e, self.compression, self.max_words) if e.size else e for e in flat
            ]
        samples, pix, wts = [], [], []
        adc = False
        for p, words in enumerate(elements):
            if words.size == 0:
                continue
            tdc, adc_s, adc_v = decode_event_list(
                words, clock_ratio=self.clock / self.sample_interval
            )
            samples.append(tdc)
            pix.append(np.full(tdc.size, p))
            wts.append(np.ones(tdc.size))
            if adc_s is not None and adc_s.size:
                adc = True
                samples.append(adc_s)
                pix.append(np.full(adc_s.size, p))
                wts.append(adc_v * self.sample_interval * 1e9 / self.single_ion)
        if not samples:
            empty = np.zeros(0, np.int64)
            return empty, empty, None
        return (
            np.concatenate(samples),
            np.concatenate(pix),
            np.concatenate(wts) if adc else None,
        )

    def integrate(self, w: int) -> np.ndarray:
        """Counts ``(y, x, peak)`` (float64) of write ``w``."""
        from charsuite.io.formats.sims.tofdaq import mass_calibration, mass_to_index

        _, nb, ns, npk = self.shape
        if self.axis_windows is not None:
            lo, hi = self.axis_windows
        else:
            cal = self.calibration or mass_calibration(
                self.group, write=w if "MassCalibration" in self.group else None
            )
            lo = np.rint(mass_to_index(*cal, self.table.lower)).astype(np.int64)
            hi = np.rint(mass_to_index(*cal, self.table.upper)).astype(np.int64)
        s, px, wt = self._events(w)
        out = np.zeros((nb * ns, npk))
        if s.size:
            if self.n_samples is not None and s.max() >= self.n_samples:
                raise DataError(
                    f"EventList write {w} has sample index {s.max()} beyond the "
                    f"{self.n_samples}-sample spectrum; wrong ClockPeriod/SampleInterval?"
                )
            # sort once by sample: each window is then one contiguous run of events
            order = np.argsort(s, kind="stable")
            s, px = s[order], px[order]
            wt = wt[order] if wt is not None else None
            i0 = np.searchsorted(s, lo, side="left")
            i1 = np.searchsorted(s, hi, side="left")
            for k in range(npk):
                if i1[k] > i0[k]:
                    out[:, k] = np.bincount(
                        px[i0[k] : i1[k]],
                        weights=None if wt is None else wt[i0[k] : i1[k]],
                        minlength=nb * ns,
                    )
        if self.channels != 1:
            out /= self.channels
        return out.reshape(nb, ns, npk)

    def __getitem__(self, key) -> np.ndarray:
        key = key if isinstance(key, tuple) else (key,)
        first = key[0] if key else slice(None)
        rest = key[1:]
        if isinstance(first, int | np.integer):
            return self.integrate(int(range(self.shape[0])[first])).astype(np.float32)[rest]
        if not isinstance(first, slice):
            raise TypeError(f"EventListIntegrator index {first!r}: use an int or a slice")
        writes = range(self.shape[0])[first]
        if len(writes) == 0:
            out = np.zeros((0, *self.shape[1:]), np.float32)
        else:
            out = np.stack([self.integrate(w) for w in writes]).astype(np.float32)
        return out[(slice(None), *rest)]
