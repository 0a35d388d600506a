"""Template fitting: the simulator's forward model fitted to each spectrum by maximum likelihood.

The oracle of the evaluation (issue 15, SCIENCE.md §9): for spectra drawn from a grid, fitting
that grid with the true σ comes close to the best any denoiser can do. Modules:
:mod:`.forward` (the forward model and its Jacobian), :mod:`.calibration` (the linear
calibration curve), :mod:`.scan` (the global start), :mod:`.optimize` (Levenberg–Marquardt),
:mod:`.fisher` (Fisher matrix, covariance, propagated model σ), :mod:`.fit` (the fitter).
"""

from pfsdenoise.tempfit.fit import STATUSES, FitResult, FitSettings, TemplateFitter
from pfsdenoise.tempfit.forward import PARAMS, ForwardModel

__all__ = ["PARAMS", "STATUSES", "FitResult", "FitSettings", "ForwardModel", "TemplateFitter"]
