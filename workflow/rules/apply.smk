# Denoising the user's own spectra (docs/denoise.md): one job per file of `apply.inputs` whose
# name ends in `apply.suffix`, written to <apply.output>/<same name>; `snakemake --cores N apply`.
# With `apply.inputs: null` (the default) nothing is planned and `all` is unchanged.
APPLY = config["apply"]
if APPLY["inputs"] and not Path(APPLY["inputs"]).is_dir():
    raise WorkflowError(
        f"apply.inputs: {APPLY['inputs']!r} is not a folder (config section `apply`)"
    )
APPLY_NAMES = (
    sorted(
        p.name[: -len(APPLY["suffix"])]
        for p in Path(APPLY["inputs"]).iterdir()
        if p.is_file() and p.name.endswith(APPLY["suffix"])
    )
    if APPLY["inputs"]
    else []
)
APPLY_OUTPUTS = [f"{APPLY['output']}/{name}{APPLY['suffix']}" for name in APPLY_NAMES]
# A model of `train.models` is trained by the workflow; anything else is a model file's path.
APPLY_MODEL = (
    MODEL_FILE.format(model=APPLY["model"])
    if APPLY["model"] in MODEL_NAMES
    else APPLY["model"]
)


rule apply_denoise:
    input:
        spectra=f"{APPLY['inputs']}/{{name}}{APPLY['suffix']}",
        model=APPLY_MODEL,
    output:
        f"{APPLY['output']}/{{name}}{APPLY['suffix']}",
    log:
        logs("apply/{name}.log"),
    wildcard_constraints:
        name=name_regex(APPLY_NAMES),
    conda:
        ENV
    resources:
        mem_mb=APPLY["resources"]["mem_mb"],
        runtime=APPLY["resources"]["runtime"],
        gpu=APPLY["resources"]["gpu"],
    params:
        code=script_code("apply_denoise.py"),
        options={
            key: APPLY[key]
            for key in (
                "product",
                "wave_unit",
                "flux_unit",
                "air",
                "mask_planes",
                "batch_size",
                "device",
            )
        },
    script:
        "../scripts/apply_denoise.py"


rule apply:
    input:
        APPLY_OUTPUTS,


localrules:
    apply,


ALL_TARGETS.extend(APPLY_OUTPUTS)
