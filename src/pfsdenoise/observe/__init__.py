"""Observing a model spectrum with the PFS medium-resolution red arm: optics, sky, noise.

Entry points: :class:`.pipeline.Observer` (the batched observe step), :class:`.noise_table.NoiseTable`
and :func:`.noise_table.produce_noise_table` (the precomputed ETC noise tables). Noise draws and
calibration curves are shared with training: :mod:`pfsdenoise.spectrum`. The package imports
nothing itself, so a step that needs one module does not load (or depend on) the others.
"""
