"""Calibration of a model's σ̂ on validation spectra, per bin of observable S/N.

The σ̂ head is trained by the likelihood of the training residuals; after a few epochs its
coverage on held-out spectra still drifts with S/N (measured on the default validation set:
60-68 % below S/N 5, 80-92 % above S/N 10 against the nominal 68.3 %). A scale factor per S/N bin
(temperature scaling, Guo et al. 2017, per bin) fixes that: in each bin of the validation
spectra's observable S/N, the 68.27 % quantile q of |x̂ − x|/σ̂ over the usable pixels becomes the
bin's factor, so that |x̂ − x| < q σ̂ holds for 68.27 % of them. A bin without validation
spectra takes the factor of the nearest bin that has some.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import torch

from pfsdenoise.learn.data import Batch
from pfsdenoise.learn.epoch import to_device

COVERAGE = 0.6827  # P(|z| < 1) of a normal variable


@torch.no_grad()
def calibrate_error(
    model: torch.nn.Module, batches: Iterable[Batch], device: torch.device
) -> list[float]:
    """Set ``model.error_scale`` from the validation ``batches``; return the factors."""
    model.eval()
    model.error_scale.fill_(1.0)
    n_bins = model.error_scale.numel()
    ratios: list[list[np.ndarray]] = [[] for _ in range(n_bins)]
    for batch in batches:
        flux, sigma, mask, target, _ = to_device(batch, device)
        pred, sig_hat = model.forward_with_error(flux, sigma, mask)
        z = ((pred - target).abs() / sig_hat).float().cpu().numpy()
        usable = batch.weight > 0
        for row, b in enumerate(model.error_bin(flux, sigma, mask).cpu().numpy()):
            ratios[int(b)].append(z[row][usable[row]])
    filled = [np.quantile(np.concatenate(r), COVERAGE) if r else np.nan for r in ratios]
    have = [i for i, v in enumerate(filled) if np.isfinite(v)]
    if not have:
        raise ValueError("σ̂ calibration: no usable validation pixels")
    scales = [float(filled[min(have, key=lambda j: abs(j - i))]) for i in range(n_bins)]
    model.error_scale.copy_(torch.as_tensor(scales, dtype=model.error_scale.dtype))
    return scales
