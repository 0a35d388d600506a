"""Architectures: shapes, output ranges, starting points, bad hyper-parameters."""

from __future__ import annotations

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
    model = build_model("resunet", 64, {"widths": [4, 8], "groups": 2, "residual": True}).eval()
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
