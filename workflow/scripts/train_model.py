"""Snakemake adapter: train one denoiser (resuming from its state/last.pt when present; with
train.processes > 1 as torchrun data-parallel ranks)."""

from pathlib import Path

from pfsdenoise.learn.train import train_model
from pfsdenoise.logs import setup_logging
from pfsdenoise.provenance import job_record

setup_logging(snakemake.log[0], code=snakemake.params.code)
settings = snakemake.params.settings
train_model(
    snakemake.wildcards.model,
    settings["spec"],
    snakemake.params.train,
    snakemake.params.val,
    Path(snakemake.output.model).parent,
    seed=settings["seed"],
    augment=settings["augment"],
    device=settings["device"],
    threads=snakemake.threads,
    shuffle_buffer=settings["shuffle_buffer"],
    cache_mb=settings["cache_mb"],
    loader_workers=settings["loader_workers"],
    min_truth=settings["min_truth"],
    processes=settings["processes"],
    teacher=snakemake.input.get("teacher"),
    provenance=job_record(snakemake.rule, snakemake.params, snakemake.input, snakemake.wildcards),
)
