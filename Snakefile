# pfsdenoise: simulated Subaru PFS MR spectra and neural denoisers.
# `snakemake --cores N` runs the embedded default (config.yaml); `--configfile config/<run>.yaml`
# picks another run, `--profile slurm` sends the jobs to a cluster.
import sys
from pathlib import Path

from snakemake.utils import min_version, validate

min_version("9.27")

sys.path.insert(0, str(Path(workflow.basedir) / "src"))


configfile: "config.yaml"


validate(config, "workflow/schemas/config.schema.yaml")


include: "workflow/rules/common.smk"
include: "workflow/rules/grid.smk"
include: "workflow/rules/noise.smk"
include: "workflow/rules/simulate.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/figures.smk"


rule all:
    default_target: True
    input:
        ALL_TARGETS,
