"""Molecular bands from spectroscopic constants: positions, line strengths, band strengths."""

import dataclasses

import numpy as np
import pytest

from pfsdenoise.grid import diatomic
from pfsdenoise.grid.linedata import read_data
from pfsdenoise.grid.wavelength import vacuum_to_air


def r_heads(molecule, upper, lower, vu, vl, min_h=0.02):
    """Air wavelengths [A] of the R-branch heads of the main (Delta Sigma = 0) sub-bands."""
    st = diatomic.states()
    up, lo = st[(molecule, upper)], st[(molecule, lower)]
    j = diatomic.j_values(lo)
    e_lo, c_lo = diatomic.rotational_levels(lo, vl, j)
    e_up, c_up = diatomic.rotational_levels(up, vu, j + 1)
    sig = np.arange(-lo.S, lo.S + 0.5)
    t = diatomic.wigner3j_1(
        (j + 1)[:, None], j[:, None], -(up.Lambda + sig)[None, :], up.Lambda - lo.Lambda,
        (lo.Lambda + sig)[None, :],
    ) * np.sqrt(2 * j[:, None] + 3)  # fmt: skip
    h = np.einsum("jsa,js,jsb->jab", c_up, t, c_lo) ** 2
    with np.errstate(invalid="ignore"):
        nu = e_up[:, :, None] - e_lo[:, None, :]
    heads = [
        nu[(h[:, a, b] > min_h) & np.isfinite(nu[:, a, b]), a, b].max()
        for a in range(len(sig))
        for b in range(len(sig))
        if ((h[:, a, b] > min_h) & np.isfinite(nu[:, a, b])).sum() > 3
    ]
    return np.sort(vacuum_to_air(1e8 / np.array(heads)))


# Measured R heads [A, air] (Pearse & Gaydon 1976, The Identification of Molecular Spectra).
# gamma (0,0) 7087.9 and epsilon (0,0) 8442 anchor the origins (tools/derive_molecules.py);
# the others are predictions of the constants.
@pytest.mark.parametrize(
    "system, band, measured, tol",
    [
        (("TiO", "A3Phi", "X3Delta"), (0, 0), [7054.2, 7087.9, 7125.6], 2.0),
        (("TiO", "A3Phi", "X3Delta"), (1, 0), [6651.3, 6680.8, 6714.5], 2.0),
        (("TiO", "A3Phi", "X3Delta"), (0, 1), [7589.3, 7628.0, 7672.0], 2.5),
        (("TiO", "b1Pi", "a1Delta"), (0, 0), [8859.6], 2.0),
        (("TiO", "E3Pi", "X3Delta"), (0, 0), [8432.0, 8442.0, 8452.0], 3.0),
        (("CN", "A2Pi", "X2Sigma+"), (2, 0), [7872.9], 2.0),
        (("CN", "A2Pi", "X2Sigma+"), (1, 0), [9141.1], 2.0),
        (("CN", "A2Pi", "X2Sigma+"), (3, 0), [6925.9], 2.0),
    ],
)
def test_band_heads_where_nature_puts_them(system, band, measured, tol):
    heads = r_heads(*system, *band)
    for w in measured:
        assert np.min(np.abs(heads - w)) < tol, (system, band, w, heads)


def test_line_strengths_sum_to_the_band_f_value_per_lower_level():
    st = diatomic.states()
    up, lo = st[("CN", "A2Pi")], st[("CN", "X2Sigma+")]
    _, e_lo, gf = diatomic.band_lines(up, lo, 0, 0, 1.0)
    j = diatomic.j_values(lo)
    energies, _ = diatomic.rotational_levels(lo, 0, j)
    for k in (10, 40):  # levels well inside the J range: all their upper levels exist
        for level in energies[k]:
            sel = np.abs(e_lo - level) < 1e-6
            assert gf[sel].sum() / (2 * j[k] + 1) == pytest.approx(1.0, rel=1e-6)


def test_pure_case_b_has_no_satellite_branches_at_high_j():
    st = diatomic.states()
    up = dataclasses.replace(st[("CN", "A2Pi")], A=0.0)
    lo = st[("CN", "X2Sigma+")]
    _, e_lo, gf = diatomic.band_lines(up, lo, 0, 0, 1.0)
    energies, _ = diatomic.rotational_levels(lo, 0, diatomic.j_values(lo))
    for level in energies[40]:  # J'' = 40.5: P, Q, R of the spin component (Delta N = Delta J)
        share = np.sort(gf[np.abs(e_lo - level) < 1e-6])[::-1]
        assert share[:3].sum() > 0.995 * share.sum()


def test_franck_condon_factors_sum_to_one_over_the_lower_levels():
    bands = read_data("molecules_bands.csv")
    gamma = bands[(bands.molecule == "TiO") & (bands.system == "gamma") & (bands.v_up == 0)]
    # v' = 0 of A3Phi: the kept v'' = 0..3 hold nearly all of the overlap
    assert gamma.fcf.sum() == pytest.approx(1.0, abs=0.01)
    assert gamma.fcf.iloc[0] == pytest.approx(0.72, abs=0.05)  # q00 ~ 0.7 (Plez 1998)


def test_molecular_equilibrium_tables_are_complete():
    eq = read_data("molecules_equilibrium.csv")
    systems = read_data("molecules_systems.csv")
    assert set(systems.molecule) <= set(eq.species)
    assert eq.set_index("species").loc["TiO", "d0"] == pytest.approx(6.87)
