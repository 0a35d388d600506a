"""Snakemake adapter: fit the PCA basis of the clean training spectra."""

from pfsdenoise.evaluate.baselines.pca import fit_basis_from_shards
from pfsdenoise.logs import setup_logging
from pfsdenoise.provenance import job_record

setup_logging(snakemake.log[0], code=snakemake.params.code)
fit_basis_from_shards(
    snakemake.params.shards,
    snakemake.output[0],
    max_components=snakemake.params.max_components,
    batch_size=snakemake.params.batch_size,
    provenance=job_record(snakemake.rule, snakemake.params, snakemake.input),
)
