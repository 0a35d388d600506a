# Noise stage: the ETC noise tables of the MR arm over a grid of observing conditions.

NOISE_TABLE = "results/noise/mr/noise_table.npz"


rule noise_table:
    input:
        code=src(
            "observe/noise_table.py",
            "observe/instrument.py",
            "observe/lsf.py",
            "observe/sky.py",
            "data/etc_mr_throughput.txt",
            "data/etc_mr_skylines.txt",
            "data/etc_mr_telluric.txt",
            "data/etc_si_index.txt",
        ),
    output:
        table=NOISE_TABLE,
        prov=f"{NOISE_TABLE}.prov.json",
    log:
        "results/logs/noise/mr/noise_table.log",
    conda:
        ENV
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        noise=config["noise"],
    script:
        "../scripts/noise_table.py"


ALL_TARGETS.append(NOISE_TABLE)
