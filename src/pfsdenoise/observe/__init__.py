"""Observing a model spectrum with the PFS medium-resolution red arm: optics, sky, noise.

Public entry points: :class:`Observer` (the batched observe step), :class:`NoiseTable` and
:func:`produce_noise_table` (the precomputed ETC noise tables). Noise draws and calibration
curves are shared with training: :mod:`pfsdenoise.spectrum`.
"""

from pfsdenoise.observe.noise_table import (
    ConditionError,
    Conditions,
    NoiseTable,
    build_noise_table,
    produce_noise_table,
    write_noise_table,
)
from pfsdenoise.observe.pipeline import SNR_DEFINITION, Observation, Observer
from pfsdenoise.observe.star import FilterCoverageError

__all__ = [
    "SNR_DEFINITION",
    "ConditionError",
    "Conditions",
    "FilterCoverageError",
    "NoiseTable",
    "Observation",
    "Observer",
    "build_noise_table",
    "produce_noise_table",
    "write_noise_table",
]
