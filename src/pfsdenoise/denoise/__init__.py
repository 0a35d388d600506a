"""Denoising spectra with a trained model, in the user's units and files.

:mod:`.model` (the network on normalized arrays), :mod:`.api` (``SpectrumDenoiser``: any grid,
any units, specutils via :mod:`.spectrum1d`), :mod:`.arm` and :mod:`.rebin` (the MR arm and the
rebinning onto it), :mod:`.units`, :mod:`.masks`, :mod:`.checks`; files: :mod:`.formats` and
:mod:`.products` (readers), :mod:`.output` (writer), :mod:`.run` (one file), :mod:`.batch` (many
files), :mod:`.cli` (``pfsdenoise denoise``); :mod:`.testdata` (stand-in PFS files).
"""
