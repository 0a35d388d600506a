"""Snakemake adapter: train one denoiser (resuming from its state/last.pt when present)."""

from pathlib import Path

from pfsdenoise.learn.train import train_model
from pfsdenoise.logs import setup_logging
from pfsdenoise.provenance import make_record, write_sidecar

setup_logging(snakemake.log[0])
settings = snakemake.params.settings
record = make_record(
    "train",
    config=settings,
    seed=settings["seed"],
    inputs=[*snakemake.input.train, *snakemake.input.val],
    code=snakemake.input.code,
    extra={"model": snakemake.wildcards.model},
)
train_model(
    snakemake.wildcards.model,
    settings["spec"],
    snakemake.input.train,
    snakemake.input.val,
    Path(snakemake.output.model).parent,
    seed=settings["seed"],
    augment=settings["augment"],
    device=settings["device"],
    threads=snakemake.threads,
    shuffle_buffer=settings["shuffle_buffer"],
    cache_mb=settings["cache_mb"],
    loader_workers=settings["loader_workers"],
    provenance={k: record[k] for k in ("step", "code_hash", "created", "host", "version")},
)
write_sidecar(snakemake.output.model, record)
