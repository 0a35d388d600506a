"""Denoise spectra in the user's units, each on its own wavelength grid, with a trained model.

:class:`SpectrumDenoiser` wraps a trained :class:`~pfsdenoise.denoise.model.TrainedModel` (which
works on normalized arrays on its own pixel grid). For each spectrum it

1. places the wavelength grid on the model's arm (:mod:`.arm`): pixels outside the arm are cut
   (flagged ``outside``), a grid without the arm or sampled more coarsely is refused;
2. rebins flux and σ flux-conservingly onto the model's pixels (:mod:`.rebin`); masked, NaN and
   σ ≤ 0 pixels are left out, not propagated;
3. divides by the shards' normalization (median noisy flux in the normalization window, the
   function the simulator uses), denoises, multiplies back;
4. rebins the result back onto its input grid (or keeps it on the model's, ``on_input_grid``).

Spectra may share one wavelength array or have one each (a 2-D array or a list of arrays of
any lengths). :meth:`SpectrumDenoiser.denoise_units` takes wavelengths and flux in any astropy
units (f_ν is converted to f_λ and back, :mod:`.units`). Where the model gives a per-pixel
uncertainty (``has_error`` and ``denoise_with_error``, the uncertainty contract of TEAM.md), the
result carries it as ``sigma``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pfsdenoise.denoise.arm import ArmGrid, Placement, SpectrumError
from pfsdenoise.denoise.rebin import MIN_COVERAGE, rebin, rebin_mean
from pfsdenoise.denoise.units import flambda_factor, parse_unit, to_angstrom
from pfsdenoise.spectrum import masked_median, unusable_reason

__all__ = ["Denoised", "SpectrumDenoiser", "SpectrumError", "load_spectrum_denoiser"]


def norm_window(normalization: Any, wave: np.ndarray) -> np.ndarray:
    """Model pixels in the normalization window recorded with the model (``window: [lo, hi]``
    in the shards' ``normalization`` metadata); all pixels when none is recorded."""
    lo, hi = (normalization or {}).get("window", (-np.inf, np.inf))
    window = (wave >= lo) & (wave <= hi)
    return window if window.any() else np.ones(wave.size, dtype=bool)


@dataclass
class Denoised:
    """Result, shaped like the input (one array, a stack, or a list of arrays).

    ``flux``: denoised flux in the input's units on ``wave``; NaN outside the arm and for
    refused spectra. ``mask``: True where the flux is not a denoised measurement: the input had
    no usable data there (the value is the model's inpainting) or the pixel is ``outside`` the
    model's arm. ``norm``: per-spectrum normalization applied and undone. ``sigma``: 1σ
    uncertainty of the denoised flux when the model gives one, else None. ``refused``: spectrum
    index → reason, for spectra that were not denoised (``errors="flag"``).
    """

    wave: Any
    flux: Any
    mask: Any
    outside: Any
    norm: np.ndarray
    sigma: Any = None
    refused: dict[int, str] = field(default_factory=dict)


@dataclass
class _Row:
    """One spectrum in increasing wavelength order, inside the arm."""

    index: int
    placement: Placement


def _as_rows(wave: Any, flux: Any, sigma: Any, mask: Any, source: str) -> tuple[list, str]:
    """Per-spectrum (wave, flux, σ, mask) 1-D float arrays and the input's container kind."""
    if isinstance(flux, list | tuple):
        kind, fluxes = "list", [np.asarray(f, dtype=np.float64) for f in flux]
    else:
        arr = np.asarray(flux, dtype=np.float64)
        kind = "one" if arr.ndim == 1 else "stack"
        if arr.ndim not in (1, 2):
            raise SpectrumError(f"{source}: flux must be 1-D or (n, n_pix), not {arr.shape}")
        fluxes = list(np.atleast_2d(arr))
    n = len(fluxes)

    def per_row(values: Any, name: str, dtype: type) -> list[np.ndarray]:
        if isinstance(values, list | tuple):
            rows = [np.asarray(v, dtype=dtype) for v in values]
        else:
            arr = np.asarray(values, dtype=dtype)
            rows = [arr] * n if arr.ndim == 1 and name == "wavelength" else list(np.atleast_2d(arr))
        if len(rows) != n:
            raise SpectrumError(
                f"{source}: {n} flux spectra but {len(rows)} {name} arrays: expected arrays of "
                "one shape (n_pix,) or (n, n_pix)"
            )
        return rows

    waves = per_row(wave, "wavelength", np.float64)
    sigmas = per_row(sigma, "sigma", np.float64)
    masks = (
        [np.zeros(f.shape, bool) for f in fluxes] if mask is None else per_row(mask, "mask", bool)
    )
    rows = []
    for i, (w, f, s, m) in enumerate(zip(waves, fluxes, sigmas, masks, strict=True)):
        if not (f.shape == s.shape == m.shape):
            raise SpectrumError(
                f"{source}: spectrum {i}: flux {f.shape}, sigma {s.shape}, mask {m.shape}: "
                "expected arrays of one shape (n_pix,) or (n, n_pix)"
            )
        if w.shape != f.shape:
            raise SpectrumError(
                f"{source}: spectrum {i}: flux has {f.size} pixels but wavelength has {w.size}"
            )
        rows.append((w, f, s, m))
    return rows, kind


def _shape_like(rows: list[np.ndarray], kind: str) -> Any:
    """Rows back into the input's container kind."""
    if kind == "one":
        return rows[0]
    if kind == "stack":
        return np.stack(rows)
    return rows


class SpectrumDenoiser:
    """A trained model that denoises (wavelength, flux, σ[, mask]) in the user's units."""

    def __init__(self, denoiser: Any) -> None:
        self.denoiser = denoiser
        self.wave: np.ndarray = np.asarray(denoiser.wave, dtype=np.float64)
        self.card: dict = dict(getattr(denoiser, "card", {}) or {})
        self.normalization = getattr(denoiser, "normalization", None)
        self.path: str = str(getattr(denoiser, "path", "model"))
        self.has_error: bool = bool(getattr(denoiser, "has_error", False))
        self.arm = ArmGrid(self.wave, self.path)
        self._window = norm_window(self.normalization, self.wave)

    @classmethod
    def load(cls, path: str | os.PathLike, device: str | None = None) -> SpectrumDenoiser:
        """Load a model file (weights-only: no code from the file is executed)."""
        from pfsdenoise.denoise.model import load_model

        return cls(load_model(path, device))

    def _forward(
        self, flux: np.ndarray, sigma: np.ndarray, mask: np.ndarray, batch_size: int
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """The model on normalized ``(n, n_model)`` arrays in chunks: flux and σ̂ (or None)."""
        outs, errs = [], []
        for start in range(0, len(flux), batch_size):
            sl = slice(start, start + batch_size)
            if self.has_error:
                out, err = self.denoiser.denoise_with_error(flux[sl], sigma[sl], mask[sl])
                errs.append(np.asarray(err, dtype=np.float64))
            else:
                out = self.denoiser.denoise(flux[sl], sigma[sl], mask[sl])
            outs.append(np.atleast_2d(np.asarray(out, dtype=np.float64)))
        return np.concatenate(outs), (np.concatenate(errs) if self.has_error else None)

    def denoise(
        self,
        wave: Any,
        flux: Any,
        sigma: Any,
        mask: Any = None,
        *,
        on_input_grid: bool = True,
        batch_size: int = 256,
        source: str = "input",
        errors: str = "raise",
    ) -> Denoised:
        """Denoise spectra given in vacuum Å (see the module docstring).

        ``wave``: one 1-D array shared by all spectra, or one per spectrum (2-D array or list).
        ``flux``/``sigma``/``mask``: 1-D (one spectrum), ``(n, n_pix)`` or lists of 1-D arrays.
        NaN flux, NaN/non-positive σ and ``mask`` True pixels are ignored. ``errors="raise"``
        stops at the first spectrum that cannot be denoised; ``"flag"`` returns it as NaN with
        the reason in ``refused``.
        """
        rows, kind = _as_rows(wave, flux, sigma, mask, source)
        many = len(rows) > 1
        placements: dict[bytes, Placement | SpectrumError] = {}
        refused: dict[int, str] = {}
        kept: list[_Row] = []
        model_in: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []

        def refuse(i: int, exc: SpectrumError) -> None:
            if errors == "raise":
                raise exc
            refused[i] = str(exc)

        for i, (w, f, s, m) in enumerate(rows):
            where = f"{source}: spectrum {i}" if many else source
            key = w.tobytes()
            if key not in placements:
                try:
                    placements[key] = self.arm.place(w, source)
                except SpectrumError as exc:
                    placements[key] = exc
            placed = placements[key]
            if isinstance(placed, SpectrumError):
                refuse(i, SpectrumError(str(placed).replace(source, where, 1)))
                continue
            order = slice(None, None, -1) if placed.flip else slice(None)
            f, s, m = (a[order][placed.inside] for a in (f, s, m))
            with np.errstate(invalid="ignore"):
                good = ~m & np.isfinite(f) & np.isfinite(s) & (s > 0)
            rf, rs, bad = rebin(placed.to_model, f[None], s[None], good[None])
            kept.append(_Row(i, placed))
            model_in.append((rf[0], rs[0], bad[0]))

        n_model = self.wave.size
        if kept:
            f_m, s_m, bad_m = (np.stack(a) for a in zip(*model_in, strict=True))
            norm = masked_median(f_m, self._window & ~bad_m)
        else:
            f_m = s_m = np.zeros((0, n_model))
            bad_m = np.zeros((0, n_model), bool)
            norm = np.zeros(0)
        ok = norm > 0
        for j, (row, value) in enumerate(zip(kept, norm, strict=True)):
            if not value > 0:
                where = f"{source}: spectrum {row.index}" if many else source
                if not (self._window & ~bad_m[j]).any():  # nothing usable: say why (σ = 0 ...)
                    _, f, s, m = rows[row.index]
                    problem = (
                        f"no usable pixel in the normalization window ({unusable_reason(f, s, m)});"
                        " give each pixel its 1σ uncertainty (> 0) and a finite flux, or unmask "
                        "some"
                    )
                else:
                    problem = (
                        f"median flux in the normalization window is {value:.3g}; it needs "
                        "positive flux there to be normalized"
                    )
                refuse(row.index, SpectrumError(f"{where}: {problem}"))
        kept = [r for r, good in zip(kept, ok, strict=True) if good]
        f_m, s_m, bad_m, norm = f_m[ok], s_m[ok], bad_m[ok], norm[ok]
        k = norm[:, None]
        if kept:
            out, err = self._forward(
                (f_m / k).astype(np.float32), (s_m / k).astype(np.float32), bad_m, batch_size
            )
            out, err = out * k, (err * k if err is not None else None)
        else:
            out = np.zeros((0, n_model))
            err = np.zeros((0, n_model)) if self.has_error else None

        all_norm = np.full(len(rows), np.nan)
        all_norm[[r.index for r in kept]] = norm
        if not on_input_grid:
            flux_rows = [np.full(n_model, np.nan) for _ in rows]
            mask_rows = [np.ones(n_model, bool) for _ in rows]
            err_rows = [np.full(n_model, np.nan) for _ in rows]
            for j, row in enumerate(kept):
                flux_rows[row.index], mask_rows[row.index] = out[j], bad_m[j]
                if err is not None:
                    err_rows[row.index] = err[j]
            stack = kind != "one"
            return Denoised(
                self.wave,
                np.stack(flux_rows) if stack else flux_rows[0],
                np.stack(mask_rows) if stack else mask_rows[0],
                np.zeros((len(rows), n_model), bool) if stack else np.zeros(n_model, bool),
                all_norm,
                (np.stack(err_rows) if stack else err_rows[0]) if err is not None else None,
                refused,
            )

        flux_rows = [np.full(w.size, np.nan) for w, *_ in rows]
        mask_rows = [np.ones(w.size, bool) for w, *_ in rows]
        outside_rows = [np.ones(w.size, bool) for w, *_ in rows]
        err_rows = [np.full(w.size, np.nan) for w, *_ in rows]
        for j, row in enumerate(kept):
            placed = row.placement
            back = placed.back
            back_f, _, uncovered = rebin(
                back, out[j][None], np.ones((1, n_model)), np.ones((1, n_model), bool)
            )
            inpainted = uncovered[0] | ~(back @ bad_m[j].astype(np.float64) < MIN_COVERAGE)
            order = slice(None, None, -1) if placed.flip else slice(None)
            for target, values in (
                (flux_rows, back_f[0]),
                (mask_rows, inpainted),
                (outside_rows, np.zeros(inpainted.size, bool)),
            ):
                full = target[row.index][order]  # a view: writes land in the row
                full[placed.inside] = values
            if err is not None:
                err_rows[row.index][order][placed.inside] = rebin_mean(back, err[j][None])[0]
        return Denoised(
            list(wave) if kind == "list" else np.asarray(wave, dtype=np.float64),
            _shape_like(flux_rows, kind),
            _shape_like(mask_rows, kind),
            _shape_like(outside_rows, kind),
            all_norm,
            _shape_like(err_rows, kind) if err is not None else None,
            refused,
        )

    def denoise_units(
        self,
        wave: Any,
        flux: Any,
        sigma: Any,
        mask: Any = None,
        *,
        wave_unit: Any,
        flux_unit: Any = None,
        air: bool = False,
        **options: Any,
    ) -> Denoised:
        """:meth:`denoise` for wavelengths in ``wave_unit`` and flux in ``flux_unit`` (astropy
        units or their names; f_ν is converted to f_λ and back, so ``flux`` and ``sigma`` of the result are in
        ``flux_unit``). ``air``: wavelengths are in air (converted to vacuum)."""
        source = options.get("source", "input")
        wave_unit = parse_unit(wave_unit, "wave", source)
        flux_unit = parse_unit(flux_unit, "flux", source)
        ragged = isinstance(flux, list | tuple)
        if ragged:
            waves = wave if isinstance(wave, list | tuple) else [wave] * len(flux)
            cuts = np.cumsum([np.size(w) for w in waves])[:-1]
            flat = to_angstrom(np.concatenate(waves), wave_unit, air=air, source=source)
            wave_aa: Any = np.split(flat, cuts)  # one unit conversion for all rows
            factor: Any = np.split(flambda_factor(flat, flux_unit), cuts)
            f_in = [np.asarray(f) * k for f, k in zip(flux, factor, strict=True)]
            s_in = [np.asarray(s) * k for s, k in zip(sigma, factor, strict=True)]
        else:
            wave_aa = to_angstrom(wave, wave_unit, air=air, source=source)
            factor = flambda_factor(wave_aa, flux_unit)
            f_in, s_in = np.asarray(flux) * factor, np.asarray(sigma) * factor
        res = self.denoise(wave_aa, f_in, s_in, mask, **options)
        if not options.get("on_input_grid", True):
            factor = flambda_factor(self.wave, flux_unit)
            ragged = False
        res.flux = _divide(res.flux, factor, ragged)
        if res.sigma is not None:
            res.sigma = _divide(res.sigma, factor, ragged)
        res.wave = wave if options.get("on_input_grid", True) else self.wave
        return res

    def denoise_spectrum(self, spectrum: Any, *, air: bool = False, batch_size: int = 256) -> Any:
        """Denoise a ``specutils.Spectrum`` (or ``Spectrum1D``) and return one of the same class
        (:mod:`pfsdenoise.denoise.spectrum1d`)."""
        from pfsdenoise.denoise.spectrum1d import denoise_spectrum

        return denoise_spectrum(self, spectrum, air=air, batch_size=batch_size)


def _divide(values: Any, factor: Any, ragged: bool) -> Any:
    """``values / factor`` for arrays (broadcast) or lists of arrays."""
    if ragged:
        return [v / k for v, k in zip(values, factor, strict=True)]
    return values / factor


def load_spectrum_denoiser(path: str | os.PathLike, device: str | None = None) -> SpectrumDenoiser:
    """Load a model file for denoising spectra in user units (see :class:`SpectrumDenoiser`)."""
    return SpectrumDenoiser.load(path, device)
