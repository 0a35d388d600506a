# Variables and helpers of the train rule (kept apart from it, as `snakemake --lint` asks).
# Included by train.smk.

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
    return {"train": split_index("train")}


def train_data(wildcards, input):
    """What train_model reads: the train shards (their index is the input), or the grid
    source's settings."""
    if FROM_GRID:
        return {
            **GRID_SOURCE,
            "grid_dir": os.path.dirname(input.grid[0]),
            "noise_table": input.noise,
        }
    return shard_paths("train")


def teacher_input(wildcards):
    """The teacher's model file of a distilled model (train.models.<name>.teacher; checked to
    be another model by pfsdenoise.config_checks), else none."""
    teacher = TRAIN["models"][wildcards.model]["teacher"]
    if teacher is None:
        return {}
    return {"teacher": MODEL_FILE.format(model=teacher)}


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
