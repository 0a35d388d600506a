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
* ``resunet`` — this project's model: σ (as log σ) and the mask as input channels (the network
  sees how noisy each pixel is, the S/N varies 100-fold across a training set), a σ-aware output
  that falls back to the input where the noise is small (``output: precond``), an optional
  noise-weighted PCA (MMSE) first stage that the network refines (``prior_components``),
  pre-activation residual blocks with group norm and GELU (batch-size independent, no
  train/eval mismatch), strided-convolution down-sampling, a dense global path in the
  bottleneck (the whole spectrum through a small code, as in the dense autoencoder), optional
  FiLM conditioning on log S/N and a wavelength channel, and an optional per-pixel σ̂ head.
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
    """Pre-activation residual block: (GroupNorm, GELU, conv) × 2 plus the identity.

    With ``cond_dim``, the first normalization is modulated by a per-spectrum conditioning vector
    (FiLM, Perez et al. 2018: ``x · (1 + γ) + β``, γ and β zero at the start).
    """

    def __init__(self, channels: int, kernel: int, groups: int, cond_dim: int = 0) -> None:
        super().__init__()
        pad = kernel // 2
        self.norm1 = nn.GroupNorm(min(groups, channels), channels)
        self.conv1 = nn.Conv1d(channels, channels, kernel, padding=pad)
        self.norm2 = nn.GroupNorm(min(groups, channels), channels)
        self.conv2 = nn.Conv1d(channels, channels, kernel, padding=pad)
        self.act = nn.GELU()
        self.film = nn.Linear(cond_dim, 2 * channels) if cond_dim else None
        if self.film is not None:
            nn.init.zeros_(self.film.weight)
            nn.init.zeros_(self.film.bias)

    def forward(self, x: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        h = self.norm1(x)
        if self.film is not None and cond is not None:
            gamma, beta = self.film(cond).unsqueeze(-1).chunk(2, dim=1)
            h = h * (1 + gamma) + beta
        h = self.conv1(self.act(h))
        h = self.conv2(self.act(self.norm2(h)))
        return x + h


class MmsePrior(nn.Module):
    """Noise-weighted PCA (MMSE, Wiener) reconstruction in a fixed basis of clean training spectra.

    The posterior mean μ + Vᵀa with (Λ⁻¹ + V W Vᵀ) a = V W (y − μ), W = diag(1/σ²) (0 on masked
    pixels), as the ``pca`` baseline computes it; here inside the network as a first stage whose
    output the convolutional part refines. The system is solved by ``iterations`` steps of
    conjugate gradients with the exact diagonal as preconditioner: each step costs two products
    with V (4 k n_pix operations per spectrum) instead of the k² n_pix of forming V W Vᵀ, so
    k = 256 components cost what k = 64 cost with the direct solve; on the default validation
    spectra 10 steps reproduce the direct solution to 2e-4 of the flux, and 5 steps give the same
    mean error. The basis is a buffer (saved with the weights, never trained), set once from the
    training set by :meth:`set_basis`.
    """

    def __init__(self, n_pix: int, components: int, iterations: int = 8) -> None:
        super().__init__()
        self.iterations = int(iterations)
        self.register_buffer("mean", torch.ones(n_pix))
        self.register_buffer("basis", torch.zeros(components, n_pix))
        self.register_buffer("inv_eig", torch.ones(components))

    def set_basis(self, mean: Any, components: Any, eigenvalues: Any) -> None:
        """Copy a fitted basis in (its first ``components`` rows)."""
        k = self.basis.shape[0]
        if len(eigenvalues) < k:
            raise ConfigurationError(
                f"prior_components={k} but the training set gives only {len(eigenvalues)} "
                "principal components; lower prior_components or train on more spectra"
            )
        with torch.no_grad():
            self.mean.copy_(torch.as_tensor(mean, dtype=torch.float32))
            self.basis.copy_(torch.as_tensor(components[:k], dtype=torch.float32))
            self.inv_eig.copy_(1.0 / torch.as_tensor(eigenvalues[:k], dtype=torch.float32))

    @torch.no_grad()
    @torch.autocast("cuda", enabled=False)  # float32: the weights span 8 decades
    def forward(self, flux: torch.Tensor, sigma: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        w = torch.where(mask, 0.0, sigma.float().clamp_min(1e-6) ** -2)
        basis = self.basis

        def apply(p: torch.Tensor) -> torch.Tensor:
            return self.inv_eig * p + ((p @ basis) * w) @ basis.T

        rhs = ((flux.float() - self.mean) * w) @ basis.T
        diag = self.inv_eig + w @ (basis**2).T
        coef = rhs / diag
        resid = rhs - apply(coef)
        z = resid / diag
        direction = z
        rz = (resid * z).sum(1, keepdim=True)
        for _ in range(self.iterations):
            step = apply(direction)
            curv = (direction * step).sum(1, keepdim=True)
            alpha = torch.where(curv > 0, rz / curv.clamp_min(1e-30), 0.0)
            coef = coef + alpha * direction
            resid = resid - alpha * step
            z = resid / diag
            rz_new = (resid * z).sum(1, keepdim=True)
            direction = z + torch.where(rz > 0, rz_new / rz.clamp_min(1e-30), 0.0) * direction
            rz = rz_new
        return self.mean + coef @ basis


OUTPUTS = ("direct", "residual", "precond")

# Bins of observable S/N for the σ̂ calibration: those of the evaluation's S/N bins
# (config evaluate.bins.snr), where the coverage is judged.
ERROR_SNR_EDGES = (2.0, 5.0, 10.0, 20.0, 40.0, 80.0)


def observable_snr(flux: torch.Tensor, sigma: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Median over usable pixels of flux/σ per spectrum (the baselines' tuning S/N); 0.1 at least."""
    ratio = torch.where(mask, torch.nan, flux / sigma)
    return torch.nanmedian(ratio, dim=1).values.nan_to_num(0.1).clamp_min(0.1)


class ResUNet1d(nn.Module):
    """σ- and mask-aware residual U-Net (this project's model; see the module docstring).

    ``output`` chooses how the network's output F becomes the denoised flux, around a base b
    (the MMSE prior's reconstruction with ``prior_components``, else the continuum level 1):

    * ``direct``: b + F;
    * ``residual``: y + F (y the noisy input);
    * ``precond``: b + c_skip (y − b) + c_out F with c_skip = s²/(σ² + s²) and
      c_out = σ s/√(σ² + s²) per pixel (s = ``sigma_data``; the preconditioning of Karras et al.
      2022, EDM). Where the noise is small against s the output tends to the input plus a
      correction of the size of σ (the network falls back to the identity), where it is large
      to the base plus a correction of the size of s; the network's target has unit scale at
      every S/N. The network's flux input is (y − b)/√(σ² + s²).

    ``error_head`` adds a per-pixel uncertainty σ̂ (:meth:`forward_with_error`) from a small
    convolutional head on the detached decoder features, σ̂ = r · exp(h) with r = c_out
    (``precond``) or σ: it learns the error of the mean without changing the mean's training.
    """

    def __init__(
        self,
        n_pix: int,
        widths: Sequence[int] = RESUNET_WIDTHS,
        blocks: int = 1,
        kernel_size: int = 5,
        groups: int = 8,
        use_sigma: bool = True,
        output: str = "direct",
        sigma_data: float = 0.05,
        sigma_clip: float = 10.0,
        global_channels: int = 16,
        global_code: int = 128,
        prior_components: int = 0,
        prior_iterations: int = 8,
        wave_channel: bool = False,
        film: bool = False,
        error_head: bool = False,
    ) -> None:
        super().__init__()
        _check_geometry("resunet", n_pix, {"widths": widths})
        levels = len(widths) - 1
        if output not in OUTPUTS:
            raise ConfigurationError(f"resunet: output {output!r}; choose one of {OUTPUTS}")
        self.use_sigma = bool(use_sigma)
        self.output = output
        self.sigma_data = float(sigma_data)
        self.sigma_clip = float(sigma_clip)
        self.has_error = bool(error_head)
        self.prior = (
            MmsePrior(n_pix, int(prior_components), prior_iterations) if prior_components else None
        )
        if wave_channel:
            self.register_buffer("coord", torch.linspace(-1.0, 1.0, n_pix))
        else:
            self.coord = None
        c_in = 1 + 2 * self.use_sigma + (self.prior is not None) + bool(wave_channel)
        cond = 32 if film else 0
        self.cond = (
            nn.Sequential(nn.Linear(1, cond), nn.GELU(), nn.Linear(cond, cond)) if film else None
        )
        self.stem = nn.Conv1d(c_in, widths[0], kernel_size, padding=kernel_size // 2)
        self.enc = nn.ModuleList()
        self.downs = nn.ModuleList()
        for i, w in enumerate(widths):
            self.enc.append(
                nn.ModuleList([ResBlock(w, kernel_size, groups, cond) for _ in range(blocks)])
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
                nn.ModuleList(
                    [ResBlock(widths[i], kernel_size, groups, cond) for _ in range(blocks)]
                )
            )
        self.head = _zero_head(widths[0], groups)
        self.error = None
        if error_head:
            self.error = nn.Sequential(
                nn.Conv1d(widths[0], widths[0], kernel_size, padding=kernel_size // 2),
                _zero_head(widths[0], groups),
            )
            # σ̂ calibration per bin of observable S/N, set on validation spectra after
            # training (:func:`pfsdenoise.learn.calibrate.calibrate_error`); 1 = uncalibrated.
            edges = torch.as_tensor(ERROR_SNR_EDGES, dtype=torch.float32)
            self.register_buffer("error_snr_edges", edges)
            self.register_buffer("error_scale", torch.ones(edges.numel() + 1))

    def _inputs(
        self, flux: torch.Tensor, sigma: torch.Tensor, mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Network input channels, the base b and the clipped σ."""
        sig = sigma.clamp(1e-6, self.sigma_clip)
        base = self.prior(flux, sig, mask) if self.prior is not None else torch.ones_like(flux)
        if self.output == "precond":
            scaled = (flux - base) * torch.rsqrt(sig**2 + self.sigma_data**2)
        else:
            scaled = flux - 1.0
        chans = [scaled]
        if self.use_sigma:
            chans += [torch.log(sig), mask.to(flux.dtype)]
        if self.prior is not None:
            chans.append(base - 1.0)
        if self.coord is not None:
            chans.append(self.coord.expand_as(flux))
        return torch.stack(chans, dim=1), base, sig

    def _condition(self, flux: torch.Tensor, sig: torch.Tensor, mask: torch.Tensor):
        """log S/N embedded for FiLM, or None."""
        if self.cond is None:
            return None
        return self.cond(torch.log(observable_snr(flux, sig, mask)).unsqueeze(1))

    def error_bin(
        self, flux: torch.Tensor, sigma: torch.Tensor, mask: torch.Tensor
    ) -> torch.Tensor:
        """Index of each spectrum's σ̂-calibration bin (of its observable S/N)."""
        snr = observable_snr(flux, sigma.clamp(1e-6, self.sigma_clip), mask)
        return torch.bucketize(snr, self.error_snr_edges)

    def _features(self, x: torch.Tensor, cond: torch.Tensor | None) -> torch.Tensor:
        x = self.stem(x)
        skips = []
        for i, blocks in enumerate(self.enc):
            for block in blocks:
                x = block(x, cond)
            if i < len(self.downs):
                skips.append(x)
                x = self.downs[i](x)
        if self.global_path is not None:
            x = x + self.global_path(x)
        for up, blocks, skip in zip(self.ups, self.dec, reversed(skips), strict=True):
            x = up(x) + skip
            for block in blocks:
                x = block(x, cond)
        return x

    def forward_with_error(
        self, flux: torch.Tensor, sigma: torch.Tensor, mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Denoised flux and its per-pixel σ̂ (None without ``error_head``)."""
        x, base, sig = self._inputs(flux, sigma, mask)
        feats = self._features(x, self._condition(flux, sig, mask))
        out = self.head(feats).squeeze(1).to(flux.dtype)
        s2 = self.sigma_data**2
        if self.output == "precond":
            c_out = sig * self.sigma_data * torch.rsqrt(sig**2 + s2)
            mean = base + s2 / (sig**2 + s2) * (flux - base) + c_out * out
        elif self.output == "residual":
            mean = flux + out
        else:
            mean = base + out
        if self.error is None:
            return mean, None
        ref = c_out if self.output == "precond" else sig
        log_ratio = self.error(feats.detach()).squeeze(1).to(flux.dtype)
        scale = self.error_scale[self.error_bin(flux, sigma, mask)].unsqueeze(1)
        return mean, scale * ref * torch.exp(log_ratio.clamp(-20.0, 20.0))

    def forward(
        self, flux: torch.Tensor, sigma: torch.Tensor, mask: torch.Tensor, with_error: bool = False
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor | None]:
        """Denoised flux; with ``with_error`` also σ̂ (:meth:`forward_with_error`: the training
        step calls the model through this, so a DDP wrapper sees the σ̂ head's forward too)."""
        mean, sig_hat = self.forward_with_error(flux, sigma, mask)
        return (mean, sig_hat) if with_error else mean


def _zero_head(channels: int, groups: int) -> nn.Sequential:
    """GroupNorm, GELU, 1×1 conv to one channel, zero-initialized (the output starts at its
    base: the continuum level, the input, or a unit σ̂ ratio)."""
    head = nn.Sequential(
        nn.GroupNorm(min(groups, channels), channels), nn.GELU(), nn.Conv1d(channels, 1, 1)
    )
    nn.init.zeros_(head[-1].weight)
    nn.init.zeros_(head[-1].bias)
    return head


class Fallback(nn.Module):
    """A fixed σ-gate around any denoiser: x̂ = c y + (1 − c) f(y, σ, m), c = s²/(σ² + s²).

    Where the noise is small against s (``sigma``) the output is the noisy input y, where it is
    large the wrapped network's f: a network that is worse than its input at high S/N (a flat
    error floor) then cannot be. Masked pixels (σ = the clip value) take f. Used on the papers'
    ``unet`` and ``dae`` (``fallback_sigma``); at S/N below ~10 (σ > 0.1 for unit flux) c < 0.04,
    so the papers' regime is barely touched.
    """

    def __init__(self, inner: nn.Module, sigma: float) -> None:
        super().__init__()
        self.inner = inner
        self.sigma = float(sigma)

    def forward(self, flux: torch.Tensor, sigma: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        c = self.sigma**2 / (sigma.float() ** 2 + self.sigma**2)
        c = torch.where(mask, 0.0, c)
        return c * flux + (1 - c) * self.inner(flux, sigma, mask).to(flux.dtype)


ARCHITECTURES: dict[str, Callable[..., nn.Module]] = {
    "unet": UNet1d,
    "dae": DenseDAE,
    "resunet": ResUNet1d,
}


def build_model(arch: str, n_pix: int, hyper: Mapping[str, Any]) -> nn.Module:
    """Build architecture ``arch`` for ``n_pix`` pixels from plain hyper-parameters; a
    ``fallback_sigma`` (number, or null = none) wraps it in :class:`Fallback`."""
    if arch not in ARCHITECTURES:
        raise ConfigurationError(
            f"unknown architecture {arch!r}; choose one of {sorted(ARCHITECTURES)}"
        )
    hyper = dict(hyper)
    fallback = hyper.pop("fallback_sigma", None)
    try:
        model = ARCHITECTURES[arch](n_pix, **hyper)
    except TypeError as exc:
        raise ConfigurationError(f"architecture {arch!r}: bad hyper-parameters ({exc})") from exc
    return Fallback(model, fallback) if fallback else model


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
