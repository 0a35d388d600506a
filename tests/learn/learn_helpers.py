"""Shared test data for the learn tests: a small wavelength grid (tiny model settings are in
:mod:`pfsdenoise.learn.testdata`).

A module of its own (not conftest.py) so that test modules can import it by a unique name.
"""

from __future__ import annotations

import numpy as np

WAVE = np.linspace(8400.0, 8700.0, 512)
