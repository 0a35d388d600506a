"""Snakemake adapter: fit the PCA basis of the clean training spectra."""

from pfsdenoise.evaluate.baselines.pca import fit_basis_from_shards
from pfsdenoise.logs import setup_logging
from pfsdenoise.provenance import make_record, write_sidecar

setup_logging(snakemake.log[0])
fit_basis_from_shards(
    snakemake.input.shards,
    snakemake.output[0],
    max_components=snakemake.params.max_components,
    batch_size=snakemake.params.batch_size,
)
write_sidecar(
    snakemake.output[0],
    make_record(
        "baseline_fit_pca",
        config={"max_components": snakemake.params.max_components},
        inputs=snakemake.input.shards,
        code=snakemake.input.code,
    ),
)
