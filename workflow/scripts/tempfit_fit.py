"""Snakemake adapter: the template-fit oracle on one test shard (predictions and fit table)."""

from pfsdenoise.logs import setup_logging
from pfsdenoise.provenance import job_record
from pfsdenoise.tempfit.fit import FitSettings, TemplateFitter
from pfsdenoise.tempfit.produce import fit_test_shard

setup_logging(snakemake.log[0], code=snakemake.params.code)
p = snakemake.params
fit_test_shard(
    snakemake.input.shard,
    snakemake.output.pred,
    snakemake.output.fits,
    TemplateFitter.from_files(
        p.grid_dir, snakemake.input.noise, p.observe, FitSettings.from_config(p.fit)
    ),
    max_spectra=p.max_spectra,
    threads=snakemake.threads,
    provenance=job_record(snakemake.rule, p, snakemake.input, snakemake.wildcards),
)
