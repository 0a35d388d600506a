"""The Doppler shift of :func:`pfsdenoise.observe.star.doppler_shift` on torch tensors.

One torch implementation for the two users of the observe step on a device: training straight
from the grid (:mod:`pfsdenoise.learn.generate`) and the template fit's forward model
(:mod:`pfsdenoise.tempfit.forward`). The shifts in samples come from
:func:`pfsdenoise.observe.star.doppler_samples`; this module only applies them.
"""

from __future__ import annotations

import torch


def doppler_shift(flux: torch.Tensor, shifts: torch.Tensor) -> torch.Tensor:
    """Rows of ``flux`` (n, …, n_samples) shifted by ``shifts`` (n,) samples, by gathering:
    out[k] = (1 − φ) f[k − m] + φ f[k − m − 1] with m = ⌊s⌋, φ = s − m, indices clamped to the
    edges (the numpy version repeats the edge samples: the same values)."""
    n = flux.shape[-1]
    lead = (-1,) + (1,) * (flux.dim() - 1)
    m = torch.floor(shifts)
    phi = (shifts - m).to(flux.dtype).reshape(lead)
    k = torch.arange(n, device=flux.device) - m.to(torch.int64).reshape(lead)
    k = k.expand(flux.shape)
    lo = flux.gather(-1, k.clamp(0, n - 1))
    hi = flux.gather(-1, (k - 1).clamp(0, n - 1))
    return (1 - phi) * lo + phi * hi
