"""Denoising spectra with a trained model: the Python API (:mod:`.api`) and file formats
(:mod:`.formats`)."""
