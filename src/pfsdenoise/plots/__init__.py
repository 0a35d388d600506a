"""Figures of the evaluation: the paper's Fig. 1, error ratios, example spectra, training curves.

Every function takes plain data (DataFrames, arrays) and returns a matplotlib Figure;
:func:`pfsdenoise.plots.style.save_figure` writes it as PNG and PDF with provenance sidecars.
"""

FIG1_PARAMS = ("snr", "teff", "logg", "mh")
"""The four panels' parameters of the paper's Fig. 1 (importable without matplotlib)."""
