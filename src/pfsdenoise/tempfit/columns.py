"""Names shared by the fits and the tables that read them (no numerical code, so a table or a
figure does not load the fitter)."""

from pfsdenoise.constants import STELLAR_AXES

PARAMS: tuple[str, ...] = (*STELLAR_AXES, "rv")
"""Non-linear parameters of a fit, in this order: the grid axes and the radial velocity [km/s]."""
NOT_FITTED = "not_fitted"
"""Status of a spectrum outside the configured subset."""
SEEDED = "seeded_"
"""Prefix of a downstream table's columns for the fit of the noisy input started from the
denoised fit."""
