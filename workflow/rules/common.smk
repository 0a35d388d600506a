# Shared helpers of all rule files. Result paths (defined once), the chunk table and seeds, the
# derived code dependencies of every rule, and the list of `all` targets.
from pfsdenoise.code_closure import ImportFacts, code_record
from pfsdenoise.seeding import derive_seed, shard_seed

SRC_ROOT = Path(workflow.basedir) / "src"
SCRIPTS = Path(workflow.basedir) / "workflow" / "scripts"
ENV = "../../envs/pfsdenoise.yaml"
# parsed imports of the library, kept between plans (every cluster job plans again)
IMPORT_FACTS = ImportFacts(Path(".snakemake") / "pfsdenoise" / "import-facts.json")

# Targets of `rule all`; each rule file appends what it produces.
ALL_TARGETS = []

CHUNKS = {chunk["name"]: chunk for chunk in config["simulate"]["chunks"]}
SPLITS = list(config["simulate"]["splits"])


# Result paths, each defined once; rules take inputs as these templates, expanded.
RESULTS = "results"
SHARD = f"{RESULTS}/shards/{{split}}/{{chunk}}.parquet"
SHARD_INDEX = f"{RESULTS}/shards/{{split}}.index.json"
MODEL_DIR = f"{RESULTS}/models/{{model}}"
MODEL_FILE = f"{MODEL_DIR}/model.pt"
MODEL_HISTORY = f"{MODEL_DIR}/history.csv"
PREDICTION = f"{RESULTS}/predictions/{{method}}/{{chunk}}.parquet"
PREDICTION_INDEX = f"{RESULTS}/predictions/{{method}}/index.json"
ERRORS = f"{RESULTS}/errors/{{method}}.parquet"
ERRBINS = f"{RESULTS}/errbins/{{method}}/{{param}}.parquet"
BASELINE_PARAMS = f"{RESULTS}/baselines/{{baseline}}/params.json"
PCA_BASIS = f"{RESULTS}/baselines/pca/basis.npz"
FIGURE = f"{RESULTS}/figures/{{stem}}.{{ext}}"
TABLE = f"{RESULTS}/tables/{{stem}}.{{ext}}"


def logs(path):
    """Log file of a job: results/logs/<path>."""
    return f"{RESULTS}/logs/{path}"


def benchmarks(path):
    """Benchmark file of a job (wall time, memory, CPU): results/benchmarks/<path>."""
    return f"{RESULTS}/benchmarks/{path}"


def script_code(name):
    """The code a job runs, derived from the imports of workflow/scripts/<name> (content hash
    and files of the import closure over src/pfsdenoise). Passed as `params: code=`, so an edit
    to any of those files reruns exactly this rule (and what depends on it), and recorded in
    the output's provenance. A content hash, not file inputs: independent of where the
    checkout lies."""
    return {**code_record(SCRIPTS / name, SRC_ROOT, IMPORT_FACTS), "script": name}


def check_code_params(rules):
    """Each scripted step declares `params: code=script_code(<its script>)`."""
    for step in rules:
        if step.script is None:
            continue
        name = Path(step.script).name
        if dict(step.params.items()).get("code") != script_code(name):
            raise WorkflowError(
                f"the params of {step.name!r} must include code=script_code({name!r}), "
                "the derived code dependencies of its script"
            )


def chunk_seed(split, chunk):
    """Seed of one shard job (pfsdenoise.seeding.shard_seed)."""
    return shard_seed(config["seed"], split, chunk, CHUNKS[chunk]["seed"])


def shard_paths(split):
    return expand(SHARD, split=split, chunk=list(CHUNKS))


def split_index(split):
    """The index of a split's shards, written by shard_index. A job reading all of them takes
    it as input and the shards through its params: one dependency, not hundreds."""
    return SHARD_INDEX.format(split=split)


def figure_files(stem):
    return expand(FIGURE, stem=stem, ext=["png", "pdf"])


include: "shard_index.smk"
