# Neural denoisers (docs/models.md): one `train` job per model in config `train.models`.
# Declared outputs are the final model file, its history and card; the resumable state
# (results/models/<model>/state/last.pt, best.pt) is not declared, so Snakemake keeps it when a
# killed or failed job's outputs are deleted, and the rerun resumes from the last epoch.

TRAIN = config["train"]
MODEL_NAMES = list(TRAIN["models"])


# The config slice of each model (plus the shared augmentation and device settings, and the
# evaluation's relative-error floor for the validation metric), so that changing one model's
# hyper-parameter reruns only that model.
MODEL_SETTINGS = {
    name: {
        "spec": spec,
        "augment": TRAIN["augment"],
        "device": TRAIN["device"],
        "shuffle_buffer": TRAIN["shuffle_buffer"],
        "cache_mb": TRAIN["cache_mb"],
        "loader_workers": TRAIN["loader_workers"],
        "min_truth": config["evaluate"]["metrics"]["min_truth"],
        "seed": derive_seed(config["seed"], "train", name),
    }
    for name, spec in TRAIN["models"].items()
}


rule train:
    input:
        train=shard_paths("train"),
        val=shard_paths("val"),
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
    script:
        "../scripts/train_model.py"


ALL_TARGETS.extend(expand(MODEL_FILE, model=MODEL_NAMES))
