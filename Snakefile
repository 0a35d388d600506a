# pfsdenoise: simulated Subaru PFS MR spectra and neural denoisers.
# `snakemake --cores N` runs the embedded default (config.yaml); `--configfile config/<run>.yaml`
# picks another run, `--profile slurm` sends the jobs to a cluster.
import sys
from pathlib import Path

from snakemake.utils import min_version

min_version("9.27")

sys.path.insert(0, str(Path(workflow.basedir) / "src"))

from pfsdenoise.code_closure import run_library_from

# The library of this checkout, for the Snakefile and for the jobs' scripts alike: the code a
# job runs is the code its derived dependencies hash (workflow/rules/common.smk).
run_library_from(Path(workflow.basedir) / "src")

from pfsdenoise.configuration import ConfigError, read_config_file, validate_config


configfile: "config.yaml"


# Validate (and fill defaults) before any job starts; every problem is named by its dotted key.
# The layers (config.yaml, then what the command line gave) let a --configfile switch a
# sampling distribution instead of merging it with the default's.
try:
    validate_config(
        config,
        Path(workflow.basedir) / "workflow/schemas/config.schema.yaml",
        layers=[
            read_config_file("config.yaml", missing_ok=True),
            workflow.config_settings.overwrite_config,
        ],
    )
except ConfigError as error:
    raise WorkflowError(str(error)) from None


include: "workflow/rules/common.smk"
include: "workflow/rules/grid.smk"
include: "workflow/rules/noise.smk"
include: "workflow/rules/simulate.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/figures.smk"
include: "workflow/rules/apply.smk"


if config["tempfit"]["enabled"]:

    include: "workflow/rules/tempfit.smk"


check_code_params(workflow.rules)


rule all:
    default_target: True
    input:
        ALL_TARGETS,
