"""Session fixtures of the template-fit tests: a synthetic grid, the real noise table, an
observer and a fitter on them (helpers in tempfit_helpers.py)."""

from __future__ import annotations

import pytest
from tempfit_helpers import config, fit_settings, make_grid

from pfsdenoise.observe.noise_table import build_noise_table, write_noise_table
from pfsdenoise.observe.pipeline import Observer
from pfsdenoise.tempfit.fit import TemplateFitter


@pytest.fixture(scope="session")
def grid(tmp_path_factory):
    return make_grid(tmp_path_factory.mktemp("grid") / "grid")


@pytest.fixture(scope="session")
def noise_table(tmp_path_factory):
    path = tmp_path_factory.mktemp("noise") / "noise_table.npz"
    write_noise_table(path, build_noise_table(config()["noise"]))
    return path


@pytest.fixture(scope="session")
def observer(grid, noise_table):
    return Observer(grid.wave, grid.log_step, str(noise_table), config()["observe"])


@pytest.fixture(scope="session")
def fitter(grid, observer):
    return TemplateFitter(grid, observer, fit_settings())
