"""The charsuite data schema, documented in one place.

Arrays
------
Every reader returns an ``xarray.DataArray`` (one measured quantity) or an
``xarray.Dataset`` (several quantities on shared axes). Dimension names by technique:

============== ======================================= ==========================================
technique      dims                                     coordinates (units)
============== ======================================= ==========================================
xrd (1D scan)  ``("two_theta",)``                       ``two_theta`` (deg)
xrd (2D map)   ``("row", "two_theta")``                 ``two_theta`` (deg), ``omega`` (deg),
                                                        ``two_theta_row`` (deg, per row)
composition    ``("layer", "element")``                 ``element`` (symbol), ``layer`` (index)
sims cube      ``("depth", "y", "x", "species")``       ``depth`` (scan index or nm), ``y``/``x`` (µm),
                                                        ``species`` (label), ``mass`` (Th)
sims profile   ``("depth", "species")`` Dataset         as above; variables ``counts``, ``intensity``,
                                                        ``tic``, ``saturated``, optional ``smoothed``
echem cycling  ``("record",)`` Dataset                  ``time`` (s); variables ``voltage`` (V),
                                                        ``current`` (mA), ``charge`` (mAh), ``cycle``
echem EIS      ``("frequency",)`` Dataset               ``frequency`` (Hz); ``z_real``/``z_imag`` (ohm)
============== ======================================= ==========================================

Composition datasets
--------------------
Readers of ion-beam-analysis results return a Dataset over ``("layer", "element")``: ``layer`` is an
index or a label, ``element`` a symbol or a group such as ``"Ni+Mn+Co"`` (isotopes are folded into
elements). Amount variables are named by quantity — ``areal_density`` (``"1e15 at/cm2"``), ``at_pct``
(``"at.%"``), ``wt_pct`` (``"wt.%"``), ``ppm_mass`` (``"ppm"``), ``ratio`` (``"dimensionless"``) —
with ``attrs["quantity"]`` and ``attrs["technique"]``, and a ``<name>_sigma`` variable (1σ, NaN = not
given); ``layer_thickness`` is in 1e15 at/cm². ``metadata["iba_method"]`` names the technique.

Required attributes
-------------------
On every variable and coordinate
    ``units`` : str (UCUM-like text: ``"deg"``, ``"counts"``, ``"counts/s"``, ``"nm"``, ``"mA"``;
    ``"dimensionless"`` for ratios). :func:`charsuite.model.check_units` enforces it.

On the object (``attrs``)
    ``technique`` : one of ``"xrd"``, ``"composition"``, ``"sims"``, ``"echem"``.
    ``format`` : the reader name (see ``charsuite.io.formats()``).
    ``source_file`` : str, absolute path of the file read.
    ``metadata`` : dict of curated keys (below), the unit in each key name.
    ``original_metadata`` : dict, the vendor header verbatim (nested as in the file).
    ``history`` : list of provenance records (below), oldest first.

Curated metadata keys (present when the file has them)
    common : ``instrument``, ``sample``, ``operator``, ``start_time`` (ISO 8601)
    xrd : ``wavelength_angstrom``, ``wavelength_ka2_angstrom``, ``ka2_ratio``, ``anode``,
    ``scan_type`` (``"2theta"``, ``"2theta-omega"``, ``"gonio"``, ``"reflectivity"``, ...),
    ``incidence_angle_deg``, ``counting_time_s``, ``intensity_kind`` (``"counts"`` or
    ``"counts/s"``), ``step_deg``, ``sigma_source``, ``attenuation_applied``, ``n_ranges``,
    ``two_theta_range_deg``; ``scan_type`` also takes ``"area_map"`` and ``"omega"``
    sims : ``pixel_size_um``, ``field_of_view_um``, ``n_scans``, ``polarity``, ``primary_ion``,
    ``extractions_per_pixel``, ``binning``
    echem : ``instrument``, ``software``, ``measurement``, ``electrode_area_cm2``,
    ``active_mass_mg``, ``battery_capacity_mAh``, ``channel``, ``current_source``,
    ``voltage_definition``, ``z_imag_in_file`` (sign convention of the file's Z″ column),
    ``n_sweeps``, ``decimal_comma``

Provenance records
------------------
``attrs["history"]`` (and the ``history`` field of results) is a list of dicts::

    {"operation": "read", "function": "charsuite.io.read", "version": "0.1.0",
     "parameters": {...}, "input_file": "/abs/path", "time": "2026-11-25T18:00:00+00:00"}

Add records with :func:`charsuite.model.add_history`; never mutate the input's list.

Results
-------
Non-array results are frozen dataclasses deriving from :class:`charsuite.model.Result`;
``to_dict()`` gives JSON-ready dicts (uncertain numbers as ``{"value", "uncertainty"}``,
NaN as ``null``). JSON keys carry units as suffixes: ``_deg``, ``_nm``, ``_angstrom``,
``_mAh_g``, ``_ohm_cm2``.

Files written by charsuite
--------------------------
``charsuite-h5`` (``.h5``): an HDF5 file with root attribute ``charsuite_version`` and one
group per variable written by :func:`charsuite.io.write`; read back losslessly by
:func:`charsuite.io.read` (units, metadata, history kept as JSON attributes).
"""

REQUIRED_ATTRS = ("technique", "format", "source_file", "metadata", "original_metadata", "history")
TECHNIQUES = ("xrd", "composition", "sims", "echem")
