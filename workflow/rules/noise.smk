# Noise stage: the ETC noise tables of the MR arm over a grid of observing conditions.

NOISE_TABLE = f"{RESULTS}/noise/mr/noise_table.npz"


rule noise_table:
    output:
        table=NOISE_TABLE,
        prov=f"{NOISE_TABLE}.prov.json",
    log:
        logs("noise/mr/noise_table.log"),
    conda:
        ENV
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        code=script_code("noise_table.py"),
        noise=config["noise"],
    script:
        "../scripts/noise_table.py"


ALL_TARGETS.append(NOISE_TABLE)
