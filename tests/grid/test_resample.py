"""Flux-conserving rebinning onto a log-uniform grid, and the resolution a sampling supports."""

import itertools

import numpy as np
import pytest

from pfsdenoise.grid.resample import pixel_edges, rebin, sampling_resolution
from pfsdenoise.grid.store import log_uniform_wave


def test_rebin_is_exact_for_piecewise_linear_flux():
    """The mean of a piecewise-linear function over each pixel, computed by hand."""
    wave = np.array([8000.0, 8001.0, 8003.0, 8004.0])
    flux = np.array([1.0, 3.0, -1.0, 2.0])
    target = 8000.5 * np.exp(1e-4 * np.arange(4))  # edges 8000.1-8003.3, inside the samples
    edges = pixel_edges(target)
    fine = np.linspace(edges[0], edges[-1], 2_000_001)
    curve = np.interp(fine, wave, flux)
    expected = [curve[(fine >= a) & (fine <= b)].mean() for a, b in itertools.pairwise(edges)]
    np.testing.assert_allclose(rebin(wave, flux, target), expected, atol=2e-5)


def test_rebin_conserves_the_integral_of_a_line():
    wave = 8500.0 * np.exp(np.arange(20000) / 500000)  # R = 500 000 sampling
    flux = 1 - 0.8 * np.exp(-0.5 * ((wave - 8510.0) / 0.05) ** 2)  # narrower than a target pixel
    target = log_uniform_wave(8501.0, 8830.0, 1e-5)
    out = rebin(wave, flux, target)
    edges = pixel_edges(target)
    assert np.sum((1 - out) * np.diff(edges)) == pytest.approx(
        0.8 * 0.05 * np.sqrt(2 * np.pi), rel=1e-6
    )
    assert out.min() > 0.2  # the line is spread over its pixel, not lost between samples


def test_edges_are_geometric_midpoints():
    target = log_uniform_wave(8000.0, 8100.0, 1e-5)
    edges = pixel_edges(target)
    assert edges.size == target.size + 1
    np.testing.assert_allclose(np.diff(np.log(edges)), 1e-5, rtol=1e-6)
    np.testing.assert_allclose(np.sqrt(edges[:-1] * edges[1:]), target, rtol=1e-12)


def test_sampling_resolution_of_a_log_uniform_grid():
    wave = log_uniform_wave(7000.0, 9000.0, 1 / (2 * 50000))
    np.testing.assert_allclose(sampling_resolution(wave), 50000, rtol=1e-5)
