"""Observing a model spectrum with the PFS medium-resolution red arm: optics, sky, noise."""
