# The index of each split's shards (pfsdenoise.shard_index): the one input of the jobs that read
# every shard of a split, which pass the shards through params (a run with hundreds of chunks
# then plans in seconds: benchmarks/bench_plan.py). Included from common.smk, so that every
# workflow that uses its helpers has it.
rule shard_index:
    input:
        lambda w: shard_paths(w.split),
    output:
        SHARD_INDEX,
    log:
        logs("simulate/{split}.index.log"),
    wildcard_constraints:
        split="[^/.]+",
    conda:
        ENV
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        code=script_code("shard_index.py"),
    script:
        "../scripts/shard_index.py"


localrules:
    shard_index,
