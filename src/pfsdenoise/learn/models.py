"""Denoiser architectures, built by name from plain hyper-parameters (so a checkpoint rebuilds them).

Every model maps ``(flux, sigma, mask)``, each ``(batch, n_pix)`` in normalized units (masked
pixels already filled, see :func:`pfsdenoise.spectrum.prepare_inputs`), to the denoised flux
``(batch, n_pix)``. Models that do not use σ or the mask ignore them, so one calling convention
serves training, evaluation and the Python API.

* ``unet`` — the U-Net of Pál & Dobos (2025): four encoder/decoder levels of two
  conv + batch-norm + ReLU blocks, max-pooling, a bottleneck with dropout (the only dropout),
  transposed-convolution upsampling, skip connections by concatenation and a sigmoid output. A
  sigmoid cannot exceed 1 but median-normalized flux does, so the output is
  ``output_scale · sigmoid(z)``: with ``output_scale = 2`` the continuum level 1 sits in the
  sigmoid's linear middle and fluxes up to twice the median are reachable.
* ``dae`` — a dense, fully-connected denoising autoencoder as in Pál & Dobos (2024): an encoder
  of dense layers down to a bottleneck code and a mirrored decoder; ReLU inside, linear output
  around the continuum level 1.
* ``resunet`` — this project's model: σ and the mask as input channels (the network sees how noisy
  each pixel is, the S/N varies 100-fold across a training set), an optional residual output
  (``flux + correction``, off by default: measured worse at low S/N, docs/models.md),
  pre-activation residual blocks with group norm and GELU (batch-size independent, no
  train/eval mismatch), strided-convolution down-sampling, and a dense global path in the
  bottleneck (the whole spectrum through a small code, as in the dense autoencoder).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch
from torch import nn

from pfsdenoise.learn.geometry import RESUNET_WIDTHS, UNET_FILTERS, GeometryError, check_n_pix


class ConfigurationError(GeometryError):
    """Hyper-parameters that cannot build a model."""


def _pair_conv(c_in: int, c_out: int, kernel: int) -> nn.Sequential:
    """Two conv + batch-norm + ReLU blocks (one U-Net level)."""
    pad = kernel // 2
    return nn.Sequential(
        nn.Conv1d(c_in, c_out, kernel, padding=pad, bias=False),
        nn.BatchNorm1d(c_out),
        nn.ReLU(inplace=True),
        nn.Conv1d(c_out, c_out, kernel, padding=pad, bias=False),
        nn.BatchNorm1d(c_out),
        nn.ReLU(inplace=True),
    )


def _check_geometry(arch: str, n_pix: int, hyper: Mapping[str, Any]) -> None:
    try:
        check_n_pix(arch, n_pix, hyper)
    except GeometryError as exc:
        raise ConfigurationError(str(exc)) from None


class UNet1d(nn.Module):
    """The paper's 1-D U-Net (Pál & Dobos 2025; Ronneberger et al. 2015 layout)."""

    def __init__(
        self,
        n_pix: int,
        filters: Sequence[int] = UNET_FILTERS,
        bottleneck: int = 256,
        kernel_size: int = 3,
        dropout: float = 0.5,
        output_scale: float = 2.0,
    ) -> None:
        super().__init__()
        _check_geometry("unet", n_pix, {"filters": filters})
        if kernel_size % 2 == 0:
            raise ConfigurationError(f"unet: kernel_size must be odd, got {kernel_size}")
        self.output_scale = float(output_scale)
        self.down = nn.ModuleList()
        c_in = 1
        for f in filters:
            self.down.append(_pair_conv(c_in, f, kernel_size))
            c_in = f
        self.pool = nn.MaxPool1d(2)
        pad = kernel_size // 2
        self.bottleneck = nn.Sequential(
            nn.Conv1d(c_in, bottleneck, kernel_size, padding=pad, bias=False),
            nn.BatchNorm1d(bottleneck),
            nn.ReLU(inplace=True),
            nn.Dropout(dropout),
            nn.Conv1d(bottleneck, bottleneck, kernel_size, padding=pad, bias=False),
            nn.BatchNorm1d(bottleneck),
            nn.ReLU(inplace=True),
        )
        self.up = nn.ModuleList()
        self.merge = nn.ModuleList()
        c_in = bottleneck
        for f in reversed(filters):
            self.up.append(nn.ConvTranspose1d(c_in, f, 2, stride=2))
            self.merge.append(_pair_conv(2 * f, f, kernel_size))
            c_in = f
        self.head = nn.Conv1d(c_in, 1, 1)

    def forward(self, flux: torch.Tensor, sigma: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        x = flux.unsqueeze(1)
        skips = []
        for block in self.down:
            x = block(x)
            skips.append(x)
            x = self.pool(x)
        x = self.bottleneck(x)
        for up, merge, skip in zip(self.up, self.merge, reversed(skips), strict=True):
            x = merge(torch.cat([up(x), skip], dim=1))
        return self.output_scale * torch.sigmoid(self.head(x).squeeze(1))


class DenseDAE(nn.Module):
    """Dense denoising autoencoder (Pál & Dobos 2024): 4096 → hidden → code → hidden → 4096."""

    def __init__(
        self,
        n_pix: int,
        hidden: Sequence[int] = (1024, 256),
        code: int = 64,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        sizes = [n_pix, *hidden, code]
        enc: list[nn.Module] = []
        for a, b in itertools.pairwise(sizes):
            enc += [nn.Linear(a, b), nn.ReLU(inplace=True)]
            if dropout:
                enc.append(nn.Dropout(dropout))
        dec: list[nn.Module] = []
        rev = sizes[::-1]
        for i, (a, b) in enumerate(itertools.pairwise(rev)):
            dec.append(nn.Linear(a, b))
            if i < len(rev) - 2:
                dec.append(nn.ReLU(inplace=True))
        self.encoder = nn.Sequential(*enc)
        self.decoder = nn.Sequential(*dec)

    def forward(self, flux: torch.Tensor, sigma: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        # Centred on the continuum level 1 of median-normalized flux (a conditioning choice).
        return 1.0 + self.decoder(self.encoder(flux - 1.0))


class ResBlock(nn.Module):
    """Pre-activation residual block: (GroupNorm, GELU, conv) × 2 plus the identity."""

    def __init__(self, channels: int, kernel: int, groups: int) -> None:
        super().__init__()
        pad = kernel // 2
        self.body = nn.Sequential(
            nn.GroupNorm(min(groups, channels), channels),
            nn.GELU(),
            nn.Conv1d(channels, channels, kernel, padding=pad),
            nn.GroupNorm(min(groups, channels), channels),
            nn.GELU(),
            nn.Conv1d(channels, channels, kernel, padding=pad),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class ResUNet1d(nn.Module):
    """σ- and mask-aware residual U-Net (this project's model; see the module docstring)."""

    def __init__(
        self,
        n_pix: int,
        widths: Sequence[int] = RESUNET_WIDTHS,
        blocks: int = 1,
        kernel_size: int = 5,
        groups: int = 8,
        use_sigma: bool = True,
        residual: bool = False,
        sigma_clip: float = 10.0,
        global_channels: int = 16,
        global_code: int = 128,
    ) -> None:
        super().__init__()
        _check_geometry("resunet", n_pix, {"widths": widths})
        levels = len(widths) - 1
        self.use_sigma = bool(use_sigma)
        self.residual = bool(residual)
        self.sigma_clip = float(sigma_clip)
        c_in = 3 if self.use_sigma else 1
        self.stem = nn.Conv1d(c_in, widths[0], kernel_size, padding=kernel_size // 2)
        self.enc = nn.ModuleList()
        self.downs = nn.ModuleList()
        for i, w in enumerate(widths):
            self.enc.append(
                nn.Sequential(*[ResBlock(w, kernel_size, groups) for _ in range(blocks)])
            )
            if i < levels:
                self.downs.append(nn.Conv1d(w, widths[i + 1], 4, stride=2, padding=1))
        # Global path in the bottleneck: the whole spectrum squeezed into a dense code and back
        # (what makes dense autoencoders strong at low S/N: which lines exist is a global fact).
        self.global_path = None
        if global_code:
            length = n_pix // 2**levels
            self.global_path = nn.Sequential(
                nn.Conv1d(widths[-1], global_channels, 1),
                nn.Flatten(),
                nn.Linear(global_channels * length, global_code),
                nn.GELU(),
                nn.Linear(global_code, global_channels * length),
                nn.Unflatten(1, (global_channels, length)),
                nn.Conv1d(global_channels, widths[-1], 1),
            )
        self.ups = nn.ModuleList()
        self.dec = nn.ModuleList()
        for i in reversed(range(levels)):
            self.ups.append(nn.ConvTranspose1d(widths[i + 1], widths[i], 2, stride=2))
            self.dec.append(
                nn.Sequential(*[ResBlock(widths[i], kernel_size, groups) for _ in range(blocks)])
            )
        self.head = nn.Sequential(
            nn.GroupNorm(min(groups, widths[0]), widths[0]),
            nn.GELU(),
            nn.Conv1d(widths[0], 1, 1),
        )
        # Start at the identity (residual) or at the continuum level (direct output).
        nn.init.zeros_(self.head[-1].weight)
        nn.init.zeros_(self.head[-1].bias)

    def forward(self, flux: torch.Tensor, sigma: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        centred = flux - 1.0
        if self.use_sigma:
            sig = sigma.clamp(0.0, self.sigma_clip)
            x = torch.stack([centred, sig, mask.to(flux.dtype)], dim=1)
        else:
            x = centred.unsqueeze(1)
        x = self.stem(x)
        skips = []
        for i, block in enumerate(self.enc):
            x = block(x)
            if i < len(self.downs):
                skips.append(x)
                x = self.downs[i](x)
        if self.global_path is not None:
            x = x + self.global_path(x)
        for up, block, skip in zip(self.ups, self.dec, reversed(skips), strict=True):
            x = block(up(x) + skip)
        out = self.head(x).squeeze(1).to(flux.dtype)
        return flux + out if self.residual else 1.0 + out


ARCHITECTURES: dict[str, Callable[..., nn.Module]] = {
    "unet": UNet1d,
    "dae": DenseDAE,
    "resunet": ResUNet1d,
}


def build_model(arch: str, n_pix: int, hyper: Mapping[str, Any]) -> nn.Module:
    """Build architecture ``arch`` for ``n_pix`` pixels from plain hyper-parameters."""
    if arch not in ARCHITECTURES:
        raise ConfigurationError(
            f"unknown architecture {arch!r}; choose one of {sorted(ARCHITECTURES)}"
        )
    try:
        return ARCHITECTURES[arch](n_pix, **dict(hyper))
    except TypeError as exc:
        raise ConfigurationError(f"architecture {arch!r}: bad hyper-parameters ({exc})") from exc


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
