# Neural denoisers (docs/models.md): one `train` job per model in config `train.models`, on the
# train shards or on spectra made from the grid every batch (`train.data.source`), with
# `train.processes` data-parallel ranks (torchrun, one GPU each: set `train.resources.gpu` alike).
# Declared outputs are the final model file, its history and card; the resumable state
# (results/models/<model>/state/last.pt, best.pt) is not declared, so Snakemake keeps it when a
# killed or failed job's outputs are deleted, and the rerun resumes from the last epoch.

TRAIN = config["train"]
MODEL_NAMES = list(TRAIN["models"])
# Training spectra from the train shards, or made from the grid every batch (train.data).
FROM_GRID = TRAIN["data"]["source"] == "grid"
GRID_SOURCE = {
    "sampling": config["sampling"],
    "observe": config["observe"],
    "chunks": config["simulate"]["chunks"],
    "spectra_per_epoch": TRAIN["data"]["spectra_per_epoch"],
}


def train_inputs(wildcards):
    """The train shards, or the grid and noise table the spectra are made from."""
    if FROM_GRID:
        return {"grid": GRID_FILES, "noise": NOISE_TABLE}
    return {"train": shard_paths("train")}


def train_data(wildcards, input):
    """What train_model reads: the shard paths, or the grid source's settings."""
    if FROM_GRID:
        return {
            **GRID_SOURCE,
            "grid_dir": os.path.dirname(input.grid[0]),
            "noise_table": input.noise,
        }
    return list(input.train)


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
        "processes": TRAIN["processes"],
        "min_truth": config["evaluate"]["metrics"]["min_truth"],
        "seed": derive_seed(config["seed"], "train", name),
    }
    for name, spec in TRAIN["models"].items()
}


rule train:
    input:
        unpack(train_inputs),
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
        train=train_data,
    script:
        "../scripts/train_model.py"


ALL_TARGETS.extend(expand(MODEL_FILE, model=MODEL_NAMES))
