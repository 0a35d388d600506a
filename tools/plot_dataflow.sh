#!/usr/bin/env bash
# Redraw docs/figures/dataflow.{svg,png}: the workflow's rule graph as Snakemake itself plans it
# for the embedded default (config.yaml), so the picture cannot drift from the rules.
# Needs Graphviz (`apt-get install graphviz`). Run from the repository root.
set -euo pipefail
cd "$(dirname "$0")/.."
out=docs/figures/dataflow
snakemake --rulegraph --quiet all > "$out.dot"
dot -Tsvg -Gbgcolor=white -Nfontname=Helvetica -o "$out.svg" "$out.dot"
dot -Tpng -Gdpi=110 -Gbgcolor=white -Nfontname=Helvetica -o "$out.png" "$out.dot"
rm "$out.dot"
echo "wrote $out.svg and $out.png"
