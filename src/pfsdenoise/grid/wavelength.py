"""Air/vacuum wavelength conversion (Ciddor 1996 dispersion of standard air, as in Morton 2000)."""

from __future__ import annotations

import numpy as np


def vacuum_to_air(wave_vac: np.ndarray) -> np.ndarray:
    """Air wavelengths [A] of vacuum wavelengths [A] (valid above 2000 A)."""
    wave_vac = np.asarray(wave_vac, dtype=np.float64)
    s2 = (1e4 / wave_vac) ** 2
    n = 1.0 + 0.0000834254 + 0.02406147 / (130.0 - s2) + 0.00015998 / (38.9 - s2)
    return wave_vac / n


def air_to_vacuum(wave_air: np.ndarray) -> np.ndarray:
    """Vacuum wavelengths [A] of air wavelengths [A] (inverse of :func:`vacuum_to_air`)."""
    wave_air = np.asarray(wave_air, dtype=np.float64)
    wave = wave_air.copy()
    for _ in range(4):  # fixed-point iteration; converges to < 1e-8 A
        wave = wave_air * (wave / vacuum_to_air(wave))
    return wave


# Ca II infrared triplet, vacuum [A] (air: 8498.02, 8542.09, 8662.14); SCIENCE.md section 5.
CA_TRIPLET_VACUUM = np.array([8500.36, 8544.44, 8664.52])


def medium_from_ca_triplet(wave: np.ndarray, flux: np.ndarray, search: float = 6.0) -> str:
    """'vacuum' or 'air': which medium puts the Ca II triplet minima of a spectrum closer.

    Looks for the flux minimum within ``search`` A of each line (the lines are 2.3 A apart in
    the two media) and compares the mean offset from the vacuum and air positions.
    """
    wave = np.asarray(wave, dtype=np.float64)
    flux = np.asarray(flux, dtype=np.float64)
    found = []
    for centre in CA_TRIPLET_VACUUM - 1.17:  # search around the midpoint of air and vacuum
        window = np.abs(wave - centre) < search
        if window.sum() < 3:
            raise ValueError(
                f"cannot check air/vacuum: no samples near the Ca II line at {centre + 1.17} A"
            )
        found.append(wave[window][np.argmin(flux[window])])
    found = np.asarray(found)
    off_vac = np.mean(np.abs(found - CA_TRIPLET_VACUUM))
    off_air = np.mean(np.abs(found - vacuum_to_air(CA_TRIPLET_VACUUM)))
    return "vacuum" if off_vac < off_air else "air"
