# Spectral grid: the embedded synthetic grid (one job per Teff slice, then a merge) or an import
# of downloaded BOSZ, PHOENIX-ACES or BT-Settl files. Either way downstream rules take GRID_FILES
# as input and pass GRID_DIR.
from pfsdenoise.grid.importer import SOURCES as GRID_SOURCES

GRID_CFG = config["grid"]
GRID_DIR = f"{RESULTS}/grid/{GRID_CFG['name']}"
# The synthetic grid stores its continuum only when asked; an import whenever its files have one.
GRID_HAS_CONTINUUM = (
    GRID_CFG["continuum"]
    if GRID_CFG["source"] == "synthetic"
    else GRID_SOURCES[GRID_CFG["source"]].has_continuum
)
GRID_FILES = [
    f"{GRID_DIR}/{name}"
    for name in (
        "grid.json",
        "grid.json.prov.json",
        "wave.npy",
        "flux.npy",
        "valid.npy",
    )
] + ([f"{GRID_DIR}/continuum.npy"] if GRID_HAS_CONTINUUM else [])
# The grid's provenance record, written with its arrays by the same job; it changes whenever they
# do (config, code, inputs), which grid.json alone might not.
GRID_RECORD = f"{GRID_DIR}/grid.json.prov.json"
GRID_TEFFS = [f"{t:g}" for t in GRID_CFG["axes"]["teff"]]
GRID_SLICE = f"{RESULTS}/grid/_slices/{GRID_CFG['name']}/teff{{teff}}"
GRID_BUILD = {
    k: GRID_CFG[k] for k in ("wave_min", "wave_max", "resolution", "logg_min")
}


rule grid_slice:
    output:
        directory(GRID_SLICE),
    log:
        logs(f"grid/{GRID_CFG['name']}/slice_teff{{teff}}.log"),
    wildcard_constraints:
        teff="|".join(GRID_TEFFS),
    conda:
        ENV
    resources:
        mem_mb=2000,
        runtime=30,
    params:
        code=script_code("grid_slice.py"),
        teff=lambda w: float(w.teff),
        axes=GRID_CFG["axes"],
        build=GRID_BUILD,
        model=GRID_CFG["synthetic"],
        continuum=GRID_CFG["continuum"],
    script:
        "../scripts/grid_slice.py"


if GRID_CFG["source"] == "synthetic":

    rule grid_merge:
        input:
            slices=expand(GRID_SLICE, teff=GRID_TEFFS),
        output:
            GRID_FILES,
        log:
            logs(f"grid/{GRID_CFG['name']}/merge.log"),
        conda:
            ENV
        resources:
            mem_mb=2000,
            runtime=20,
        params:
            code=script_code("grid_merge.py"),
            grid_dir=lambda w, output: os.path.dirname(output[0]),
            config=GRID_CFG,
        script:
            "../scripts/grid_merge.py"

else:
    GRID_IMPORT = GRID_CFG[GRID_CFG["source"]]

    rule grid_import:
        output:
            GRID_FILES,
        log:
            logs(f"grid/{GRID_CFG['name']}/import.log"),
        conda:
            ENV
        resources:
            mem_mb=4000,
            runtime=120,
        params:
            code=script_code("grid_import.py"),
            grid_dir=lambda w, output: os.path.dirname(output[0]),
            source=GRID_CFG["source"],
            directory=GRID_IMPORT["directory"],
            options={k: v for k, v in GRID_IMPORT.items() if k != "directory"},
            build=GRID_BUILD,
            axes=GRID_CFG["axes"],
        script:
            "../scripts/grid_import.py"


ALL_TARGETS.append(f"{GRID_DIR}/grid.json")
