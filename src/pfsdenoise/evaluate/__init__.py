"""Evaluation of denoisers: classical baselines, per-spectrum error metrics, error binning and the
comparison table (SCIENCE.md §1 and §7; the paper's Eq. 1 and Fig. 1).

Modules: :mod:`~pfsdenoise.evaluate.baselines` (identity, Savitzky–Golay, inverse-variance
Gaussian smoothing, wavelet shrinkage, PCA with an MMSE projection), :mod:`.tuning` (per-S/N-bin
parameter choice on validation spectra), :mod:`.predict` (denoise a test shard),
:mod:`.alignment` (prediction ↔ test shard checks), :mod:`.metrics` and :mod:`.errors`
(per-spectrum errors), :mod:`.binning` (statistics per parameter bin with bootstrap intervals),
:mod:`.table` (comparison table per S/N bin).
"""
