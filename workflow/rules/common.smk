# Shared helpers of all rule files (chunk table, seeds, library paths, the `all` target list).
from pfsdenoise.seeding import derive_seed

SRC = Path(workflow.basedir) / "src" / "pfsdenoise"
SCRIPTS = Path(workflow.basedir) / "workflow" / "scripts"
ENV = "../../envs/pfsdenoise.yaml"

# Targets of `rule all`; each rule file appends what it produces.
ALL_TARGETS = []

CHUNKS = {chunk["name"]: chunk for chunk in config["simulate"]["chunks"]}
SPLITS = list(config["simulate"]["splits"])


def src(*patterns):
    """Absolute paths of the library modules a rule depends on, listed as its inputs so that an
    edit to one of them reruns exactly the rules that use it. Glob patterns are expanded.
    """
    paths = []
    for pattern in patterns:
        found = (
            sorted(SRC.glob(pattern))
            if any(c in pattern for c in "*?[")
            else [SRC / pattern]
        )
        paths.extend(str(p) for p in found)
    return paths


def chunk_seed(split, chunk):
    """Seed of one shard job: from (global seed, split, chunk name, the chunk's own `seed`)."""
    return derive_seed(
        config["seed"], "simulate", split, chunk, CHUNKS[chunk].get("seed", 0)
    )


def shard_paths(split):
    return expand(
        "results/shards/{split}/{chunk}.parquet", split=split, chunk=list(CHUNKS)
    )
