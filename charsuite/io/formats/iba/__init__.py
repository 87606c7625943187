"""Ion-beam-analysis result readers (SIMNRA/NDF, Potku, RUMP, GUPIX, IDF, composition sheets); shared helpers in :mod:`charsuite.io.formats.iba.common`."""
