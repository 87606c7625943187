"""ToF-SIMS readers: TOFWERK TofDAQ HDF5 (sub-package :mod:`charsuite.io.formats.sims.tofdaq`), charsuite/generic HDF5 cubes, IONTOF SurfaceLab text."""
