"""Template fitting: the simulator's forward model fitted to each spectrum by maximum likelihood.

The oracle of the evaluation (issue 15, SCIENCE.md §9): for spectra drawn from a grid, fitting
that grid with the true σ comes close to the best any denoiser can do. Modules:
:mod:`.forward` (the forward model and its Jacobian), :mod:`.calibration` (the linear
calibration curve), :mod:`.scan` (the global start), :mod:`.optimize` (Levenberg–Marquardt),
:mod:`.fisher` (Fisher matrix, covariance, propagated model σ), :mod:`.fit` (the fitter),
:mod:`.method` (the fitter as a denoising method), :mod:`.produce` (fits of test shards),
:mod:`.recovery` (the downstream table), :mod:`.columns` (names the tables share). The package imports nothing itself.
"""
