"""Snakemake adapter: the downstream table (RV and parameter recovery per S/N bin)."""

from pfsdenoise.logs import setup_logging
from pfsdenoise.provenance import job_record
from pfsdenoise.tempfit.recovery import write_downstream

setup_logging(snakemake.log[0], code=snakemake.params.code)
p = snakemake.params
write_downstream(
    p.oracle,
    p.methods,
    {"md": snakemake.output.md, "csv": snakemake.output.csv, "seeded": snakemake.output.seeded},
    edges=p.edges,
    outlier_nsigma=p.outlier_nsigma,
    sigma_note=(
        "with the method's σ̂ where it gives one, else the input σ"
        if p.sigma == "provided"
        else "with the input σ"
    ),
    provenance=job_record(snakemake.rule, p, snakemake.input),
)
