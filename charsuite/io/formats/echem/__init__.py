"""Electrochemistry readers (BioLogic, Arbin, Neware, Maccor, Novonix, PEC, Gamry, Squidstat, VersaStudio, ZPlot, impedance text); shared helpers in :mod:`charsuite.io.formats.echem.common`."""
