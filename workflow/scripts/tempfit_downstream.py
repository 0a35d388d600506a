"""Snakemake adapter: template fits of one method's denoised test shards, and of the noisy input
started from them."""

from pfsdenoise.logs import setup_logging
from pfsdenoise.provenance import job_record
from pfsdenoise.tempfit.fit import FitSettings, TemplateFitter
from pfsdenoise.tempfit.produce import fit_method_shards

setup_logging(snakemake.log[0], code=snakemake.params.code)
p = snakemake.params
fit_method_shards(
    p.test,
    p.predictions,
    snakemake.output.fits,
    TemplateFitter.from_files(
        p.grid_dir, snakemake.input.noise, p.observe, FitSettings.from_config(p.fit)
    ),
    method=snakemake.wildcards.method,
    sigma_source=p.sigma,
    max_spectra=p.max_spectra,
    threads=snakemake.threads,
    index=snakemake.output.index,
    provenance=job_record(snakemake.rule, p, snakemake.input, snakemake.wildcards),
)
