# Neural denoisers (docs/models.md): one `train` job per model in config `train.models`, on the
# train shards or on spectra made from the grid every batch (`train.data.source`), with
# `train.processes` data-parallel ranks (torchrun, one GPU each: set `train.resources.gpu` alike).
# Declared outputs are the final model file, its history and card; the resumable state
# (results/models/<model>/state/last.pt, best.pt) is not declared, so Snakemake keeps it when a
# killed or failed job's outputs are deleted, and the rerun resumes from the last epoch.


include: "train_common.smk"


rule train:
    input:
        unpack(teacher_input),
        unpack(train_inputs),
        val=split_index("val"),
    output:
        model=MODEL_FILE,
        history=MODEL_HISTORY,
        card=f"{MODEL_DIR}/card.json",
    log:
        logs("train/{model}.log"),
    benchmark:
        benchmarks("train/{model}.tsv")
    wildcard_constraints:
        model="|".join(MODEL_NAMES) if MODEL_NAMES else "(?!)",
    conda:
        ENV
    threads: TRAIN["threads"]
    resources:
        gpu=TRAIN["resources"]["gpu"],
        mem_mb=TRAIN["resources"]["mem_mb"],
        runtime=TRAIN["resources"]["runtime"],
    params:
        code=script_code("train_model.py"),
        settings=lambda w: MODEL_SETTINGS[w.model],
        train=train_data,
        val=shard_paths("val"),
    script:
        "../scripts/train_model.py"


ALL_TARGETS.extend(expand(MODEL_FILE, model=MODEL_NAMES))
