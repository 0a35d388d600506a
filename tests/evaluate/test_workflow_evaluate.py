"""The evaluate and figures rules end to end on synthetic shards, and what reruns after a change.

One run of the baselines chain (≈ 1 minute on 2 cores), then dry summaries: a plotting option
reruns only figures and tables; a change to one baseline's tuning grid (PCA's) reruns only that method's
chain and the figures and tables that show it.
"""

from __future__ import annotations

import pytest
import yaml
from workflow_harness import make_workdir, snakemake

from pfsdenoise.provenance import provenance_chain

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def workdir(shard_dir, tmp_path_factory):
    root = make_workdir(tmp_path_factory.mktemp("wf"), shard_dir, ["a", "b"])
    result = snakemake(root)
    assert result.returncode == 0, result.stderr[-4000:]
    return root


def _pending(root) -> set[str]:
    result = snakemake(root, "--summary")
    assert result.returncode == 0, result.stderr[-4000:]
    rows = [line.split("\t") for line in result.stdout.splitlines()[1:] if "\t" in line]
    return {r[0] for r in rows if r[-1] == "update pending"}


def _edit_config(root, edit) -> dict:
    path = root / "config.yaml"
    original = path.read_text()
    config = yaml.safe_load(original)
    edit(config)
    path.write_text(yaml.safe_dump(config))
    return original


def test_products_exist_with_provenance(workdir, monkeypatch):
    monkeypatch.chdir(workdir)  # records name inputs relative to the workflow's directory
    figures = workdir / "results" / "figures"
    for stem in ("fig1_all", "error_ratio_snr", "examples_pca", "examples_identity"):
        for ext in (".png", ".pdf"):
            assert (figures / f"{stem}{ext}").stat().st_size > 1000
            assert (figures / f"{stem}{ext}.prov.json").exists()
    md = (workdir / "results" / "tables" / "comparison.md").read_text()
    assert md.startswith("| S/N bin | N | noisy input | identity | pca |")
    chain = provenance_chain(figures / "fig1_all.png")
    steps = {record["step"] for _, _, record in chain if record}
    assert {
        "figure_fig1_all",
        "errbins",
        "errors",
        "denoise_baseline",
        "baseline_tune",
        "baseline_fit_pca",
    } <= steps
    assert _pending(workdir) == set()


def test_plot_option_reruns_only_figures(workdir):
    original = _edit_config(workdir, lambda c: c["plots"].update(dpi=c["plots"]["dpi"] + 1))
    try:
        pending = _pending(workdir)
    finally:
        (workdir / "config.yaml").write_text(original)
    assert pending, "a changed plot option must rerun the figures"
    assert all(p.startswith(("results/figures/", "results/tables/")) for p in pending), pending
    # the table's own options are not in `params` of figure rules other than the table
    assert "results/tables/comparison.md" not in pending


def test_one_method_change_reruns_its_chain_and_the_figures_showing_it(workdir):
    def edit(c):
        c["evaluate"]["pca"]["grid"]["n_components"] = [8, 16]

    original = _edit_config(workdir, edit)
    try:
        pending = _pending(workdir)
    finally:
        (workdir / "config.yaml").write_text(original)
    assert "results/baselines/pca/params.json" in pending
    assert "results/baselines/pca/basis.npz" not in pending  # the fit does not use the grid
    assert "results/errors/pca.parquet" in pending
    assert "results/figures/fig1_all.png" in pending and "results/tables/comparison.md" in pending
    assert "results/figures/examples_pca.png" in pending
    others = [p for p in pending if "identity" in p]
    assert others == [], others


def test_report_holds_figures_and_table(workdir):
    report = workdir / "results" / "report.html"
    result = snakemake(workdir, "--report", str(report))
    assert result.returncode == 0, result.stderr[-4000:]
    html = report.read_text(errors="replace")
    for name in ("fig1_all.png", "error_ratio_snr.png", "comparison.md"):
        assert name in html
