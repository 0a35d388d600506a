"""Facts used across stages, defined once: physical constants, axis and column names."""

C_KMS = 299_792.458
"""Speed of light [km/s] (exact, SI definition)."""

STELLAR_AXES: tuple[str, ...] = ("teff", "logg", "mh", "alpha")
"""Stellar parameters of a spectral grid, in the grid's axis order: effective temperature [K],
surface gravity log g [dex, cgs], metallicity [M/H] [dex], α enhancement [α/M] [dex]."""

DENOISED_COLUMN = "flux_denoised"
"""Spectral column of prediction shards and of denoised Parquet outputs."""
DENOISED_ERR_COLUMN = "sigma_denoised"
"""Spectral column of the per-pixel 1σ uncertainty of the denoised flux, where a method gives one."""
C_CGS = C_KMS * 1e5
"""Speed of light [cm/s]."""
C_ANGSTROM_S = C_KMS * 1e13
"""Speed of light [Å/s] (f_ν ↔ f_λ conversions)."""
H_CGS = 6.62607015e-27
"""Planck constant [erg s] (exact, SI definition)."""
K_CGS = 1.380649e-16
"""Boltzmann constant [erg/K] (exact, SI definition)."""
