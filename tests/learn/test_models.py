"""Architectures: shapes, output ranges, starting points, bad hyper-parameters."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pfsdenoise.learn.models import ConfigurationError, build_model, count_parameters


@pytest.mark.parametrize(
    "arch,hyper",
    [
        ("unet", {"filters": [4, 4, 8, 8], "bottleneck": 8}),
        ("dae", {"hidden": [32], "code": 8}),
        ("resunet", {"widths": [4, 8], "groups": 2}),
    ],
)
def test_shapes(arch, hyper):
    model = build_model(arch, 256, hyper).eval()
    x = torch.rand(3, 256) + 0.5
    out = model(x, torch.full_like(x, 0.1), torch.zeros_like(x, dtype=torch.bool))
    assert out.shape == (3, 256)
    assert count_parameters(model) > 0


def test_unet_output_scaled_sigmoid_reaches_above_one():
    model = build_model("unet", 64, {"filters": [2, 2, 2, 2], "bottleneck": 2, "output_scale": 2.5})
    with torch.no_grad():
        model.head.bias.fill_(10.0)
        out = model.eval()(
            torch.ones(1, 64), torch.ones(1, 64), torch.zeros(1, 64, dtype=torch.bool)
        )
    assert 1.0 < float(out.max()) <= 2.5


def test_unet_dropout_only_in_bottleneck():
    model = build_model("unet", 64, {"filters": [2, 2, 2, 2], "bottleneck": 2})
    names = [n for n, m in model.named_modules() if isinstance(m, torch.nn.Dropout)]
    assert names and all(n.startswith("bottleneck") for n in names)


def test_resunet_starts_as_identity():
    model = build_model("resunet", 64, {"widths": [4, 8], "groups": 2, "output": "residual"}).eval()
    x = torch.rand(2, 64)
    out = model(x, torch.full_like(x, 0.1), torch.zeros_like(x, dtype=torch.bool))
    torch.testing.assert_close(out, x)
    direct = build_model("resunet", 64, {"widths": [4, 8], "groups": 2}).eval()
    out = direct(x, torch.full_like(x, 0.1), torch.zeros_like(x, dtype=torch.bool))
    torch.testing.assert_close(out, torch.ones_like(x))  # starts at the continuum level


def test_bad_hyper_parameters():
    with pytest.raises(ConfigurationError, match="unknown architecture"):
        build_model("transformer", 64, {})
    with pytest.raises(ConfigurationError, match="bad hyper-parameters"):
        build_model("dae", 64, {"layers": 3})
    with pytest.raises(ConfigurationError, match="divisible"):
        build_model("unet", 100, {})


FULL = {"widths": [4, 8], "groups": 2, "output": "precond", "sigma_data": 0.05,
        "prior_components": 3, "wave_channel": True, "film": True, "error_head": True}  # fmt: skip


def _inputs(n=3, n_pix=64, sigma=0.1, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, n_pix, generator=g) + 0.5
    return x, torch.full_like(x, sigma), torch.zeros_like(x, dtype=torch.bool)


@pytest.mark.parametrize(
    "over",
    [{"output": "precond"}, {"wave_channel": True}, {"film": True}, {"prior_components": 3}, FULL],
)
def test_resunet_options_keep_shapes(over):
    model = build_model("resunet", 64, {"widths": [4, 8], "groups": 2, **over}).eval()
    flux, sigma, mask = _inputs()
    mean, sig_hat = model.forward_with_error(flux, sigma, mask)
    assert mean.shape == flux.shape
    assert (sig_hat is None) == (not over.get("error_head", False))
    torch.testing.assert_close(model(flux, sigma, mask), mean)


def test_precond_output_falls_back_to_the_input_where_the_noise_is_small():
    """At the start (zero head) the output is b + c_skip (y − b): the input where σ ≪ s, the
    continuum level where σ ≫ s, whatever the network computes after training is added in
    units of c_out ≤ σ."""
    model = build_model("resunet", 64, {"widths": [4, 8], "groups": 2, "output": "precond",
                                        "sigma_data": 0.05}).eval()  # fmt: skip
    flux, _, mask = _inputs()
    quiet = model(flux, torch.full_like(flux, 1e-4), mask)
    torch.testing.assert_close(quiet, flux, atol=1e-5, rtol=0)
    loud = model(flux, torch.full_like(flux, 5.0), mask)
    torch.testing.assert_close(loud, torch.ones_like(flux), atol=1e-3, rtol=0)


def test_mmse_prior_matches_the_pca_baseline():
    from pfsdenoise.evaluate.baselines.pca import fit_pca, pca_mmse

    rng = np.random.default_rng(1)
    clean = 1 + 0.1 * rng.standard_normal((40, 64)) @ rng.standard_normal((64, 64)) / 8
    basis = fit_pca([clean], 5)
    flux = clean[:4] + 0.05 * rng.standard_normal((4, 64))
    sigma = np.full_like(flux, 0.05)
    mask = rng.random(flux.shape) < 0.1
    model = build_model("resunet", 64, {"widths": [4, 8], "groups": 2, "prior_components": 5})
    model.prior.set_basis(basis.mean, basis.components, basis.eigenvalues)
    ours = model.prior(*(torch.as_tensor(a) for a in (flux.astype(np.float32),
                                                      sigma.astype(np.float32), mask)))  # fmt: skip
    ref = pca_mmse(flux, sigma, mask, basis=basis, n_components=5)
    np.testing.assert_allclose(ours.numpy(), ref, atol=2e-5)


def test_prior_ignores_masked_pixels_and_needs_enough_components():
    model = build_model("resunet", 64, {"widths": [4, 8], "groups": 2, "prior_components": 2})
    rng = np.random.default_rng(2)
    model.prior.set_basis(np.ones(64), np.linalg.qr(rng.standard_normal((64, 2)))[0].T, [1.0, 0.5])
    flux, sigma, mask = _inputs(1)
    mask[0, 10:20] = True
    spoiled = flux.clone()
    spoiled[0, 10:20] = 100.0
    torch.testing.assert_close(model.prior(flux, sigma, mask), model.prior(spoiled, sigma, mask))
    with pytest.raises(ConfigurationError, match="prior_components=2"):
        model.prior.set_basis(np.ones(64), np.zeros((1, 64)), [1.0])


def test_error_head_learns_only_from_its_likelihood():
    """The NLL term reaches σ̂'s head, never the mean's weights (detached features)."""
    from pfsdenoise.learn.epoch import loss_terms

    model = build_model("resunet", 64, {"widths": [4, 8], "groups": 2, "error_head": True})
    flux, sigma, mask = _inputs()
    target, weight = flux + 0.01, torch.ones_like(flux)
    loss = {"weighting": "noise", "sigma_data": 0.05}
    value, _ = loss_terms(model, (flux, sigma, mask), target, weight, loss)
    value.backward()
    with_nll = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}
    model.zero_grad()
    model.has_error = False  # the same loss without the likelihood term
    value, _ = loss_terms(model, (flux, sigma, mask), target, weight, loss)
    value.backward()
    for name, p in model.named_parameters():
        if name.startswith("error."):
            assert name in with_nll and p.grad is None
        else:
            torch.testing.assert_close(with_nll.get(name, torch.zeros_like(p)), p.grad)
    _, sig_hat = model.forward_with_error(flux, sigma, mask)
    assert (sig_hat > 0).all()
    torch.testing.assert_close(sig_hat, sigma)  # zero head: σ̂ starts at the input σ


@pytest.mark.parametrize("arch,hyper", [("unet", {"filters": [2, 2, 2, 2], "bottleneck": 2}),
                                        ("dae", {"hidden": [16], "code": 4})])  # fmt: skip
def test_fallback_gate_returns_the_input_at_high_snr(arch, hyper):
    inner = build_model(arch, 64, hyper).eval()
    gated = build_model(arch, 64, {**hyper, "fallback_sigma": 0.02}).eval()
    gated.inner.load_state_dict(inner.state_dict())
    flux, _, mask = _inputs()
    quiet = torch.full_like(flux, 1e-4)
    torch.testing.assert_close(gated(flux, quiet, mask), flux, atol=1e-4, rtol=0)
    loud = torch.full_like(flux, 10.0)
    torch.testing.assert_close(gated(flux, loud, mask), inner(flux, loud, mask), atol=1e-5, rtol=0)
    mask[:, :8] = True  # masked pixels take the network's value whatever their σ
    torch.testing.assert_close(gated(flux, quiet, mask)[:, :8], inner(flux, quiet, mask)[:, :8])
