"""X-ray diffraction readers (Bruker, Rigaku, PANalytical, two-column text) and their shared parsing helpers (:mod:`charsuite.io.formats.xrd.common`)."""
