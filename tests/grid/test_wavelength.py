"""Air/vacuum conversion and the Ca II triplet medium check."""

import numpy as np

from pfsdenoise.grid.wavelength import (
    CA_TRIPLET_VACUUM,
    air_to_vacuum,
    medium_from_ca_triplet,
    vacuum_to_air,
)


def test_ca_triplet_air_values_and_round_trip():
    np.testing.assert_allclose(
        vacuum_to_air(CA_TRIPLET_VACUUM), [8498.02, 8542.09, 8662.14], atol=0.01
    )
    w = np.linspace(6500, 9100, 7)
    np.testing.assert_allclose(air_to_vacuum(vacuum_to_air(w)), w, atol=1e-7)


def test_medium_detection_from_line_minima():
    wave = np.linspace(8450, 8700, 20000)
    for medium, centres in [
        ("vacuum", CA_TRIPLET_VACUUM),
        ("air", vacuum_to_air(CA_TRIPLET_VACUUM)),
    ]:
        flux = 1 - sum(0.6 * np.exp(-0.5 * ((wave - c) / 0.5) ** 2) for c in centres)
        assert medium_from_ca_triplet(wave, flux) == medium
