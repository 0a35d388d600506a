"""Simulated Subaru PFS medium-resolution stellar spectra and neural denoisers."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("pfsdenoise")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__", "load_model", "load_spectrum_denoiser"]


def __getattr__(name: str):
    """``pfsdenoise.load_model`` / ``load_spectrum_denoiser`` without importing torch at
    package import."""
    if name == "load_model":
        from pfsdenoise.denoise.model import load_model

        return load_model
    if name == "load_spectrum_denoiser":
        from pfsdenoise.denoise.api import load_spectrum_denoiser

        return load_spectrum_denoiser
    raise AttributeError(f"module 'pfsdenoise' has no attribute {name!r}")
