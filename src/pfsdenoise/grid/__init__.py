"""Spectral grids: one on-disk format (:mod:`.store`), the embedded synthetic model
(:mod:`.synthetic`, built by :mod:`.build`), importers of downloaded grids (:mod:`.bosz`), and
interpolation (:mod:`.interpolate`).

Downstream code needs only :func:`.store.open_grid`, :func:`.interpolate.interpolate` and
:func:`.interpolate.complete_cells`. The package imports nothing itself, so a step that needs
one module does not load (or depend on) the others.
"""
