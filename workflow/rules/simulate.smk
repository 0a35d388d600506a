# Simulated observations: one Parquet shard per stellar-parameter chunk and split.


rule simulate:
    input:
        # the grid's provenance record (grid.smk: GRID_RECORD): one dependency per shard
        # instead of one per grid file (a run with 1000 shards plans faster)
        grid=GRID_RECORD,
        noise=NOISE_TABLE,
    output:
        SHARD,
    log:
        logs("simulate/{split}/{chunk}.log"),
    benchmark:
        benchmarks("simulate/{split}/{chunk}.tsv")
    wildcard_constraints:
        split="|".join(SPLITS),
        chunk="|".join(CHUNKS),
    group:
        "sim"
    conda:
        ENV
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        code=script_code("simulate_shard.py"),
        grid_dir=lambda w, input: os.path.dirname(input.grid),
        chunk=lambda w: CHUNKS[w.chunk],
        n_spectra=lambda w: config["simulate"]["splits"][w.split],
        seed=lambda w: chunk_seed(w.split, w.chunk),
        sampling=config["sampling"],
        observe=config["observe"],
        row_group_size=config["simulate"]["row_group_size"],
    script:
        "../scripts/simulate_shard.py"


ALL_TARGETS.extend(shard_paths(SPLITS))
