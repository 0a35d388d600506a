"""Snakemake adapter: the template-fit oracle on the job's test shards (one, or every chunk's):
predictions and fit tables."""

from pfsdenoise.logs import setup_logging
from pfsdenoise.provenance import job_record
from pfsdenoise.tempfit.fit import FitSettings, TemplateFitter
from pfsdenoise.tempfit.produce import fit_test_shards

setup_logging(snakemake.log[0], code=snakemake.params.code)
p = snakemake.params
fit_test_shards(
    p.shards,
    snakemake.output.predictions,
    snakemake.output.fits,
    TemplateFitter.from_files(
        p.grid_dir, snakemake.input.noise, p.observe, FitSettings.from_config(p.fit)
    ),
    max_spectra=p.max_spectra,
    threads=snakemake.threads,
    index=snakemake.output.get("index"),
    provenance=lambda shard: job_record(
        snakemake.rule,
        p,
        [shard, *snakemake.input.grid, snakemake.input.noise],
        snakemake.wildcards,
    ),
)
