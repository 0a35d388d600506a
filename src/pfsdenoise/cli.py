"""The ``pfsdenoise`` command line: what users run outside Snakemake."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from pfsdenoise import __version__
from pfsdenoise.denoise.cli import add_parser as add_denoise_parser


def _cmd_inspect(args: argparse.Namespace) -> int:
    from pfsdenoise.shards import summarize

    for path in args.shards:
        print(summarize(path))
        print()
    return 0


def _cmd_provenance(args: argparse.Namespace) -> int:
    from pfsdenoise.provenance import format_chain, json_default, provenance_chain

    chain = provenance_chain(args.file)
    if chain[0][2] is None:
        print(f"{args.file}: no provenance record (no Parquet metadata, no .prov.json sidecar)")
        return 1
    if args.json:
        records = [{"depth": d, "path": p, "record": r} for d, p, r in chain]
        print(json.dumps(records, indent=2, sort_keys=True, default=json_default))
    else:
        print(format_chain(chain))
    return 0


def _cmd_simulate(args: argparse.Namespace) -> int:
    from pfsdenoise.code_closure import module_code_record
    from pfsdenoise.configuration import load_config
    from pfsdenoise.logs import setup_logging
    from pfsdenoise.provenance import make_record
    from pfsdenoise.seeding import shard_seed
    from pfsdenoise.simulate.produce import produce_shard

    setup_logging()
    config = load_config(args.config)  # the workflow's validation, defaults filled
    chunks = {c["name"]: c for c in config["simulate"]["chunks"]}
    if args.chunk not in chunks:
        raise SystemExit(
            f"pfsdenoise: chunk {args.chunk!r} not in simulate.chunks of "
            f"{', '.join(map(str, args.config))} (it has {sorted(chunks)})"
        )
    chunk = chunks[args.chunk]
    # The workflow's seed derivation and sizes, so the CLI reproduces a workflow shard.
    seed = shard_seed(config["seed"], args.split, args.chunk, chunk["seed"])
    seed = seed if args.seed is None else args.seed
    n = config["simulate"]["splits"].get(args.split) if args.n is None else args.n
    if n is None:
        raise SystemExit(
            f"pfsdenoise: split {args.split!r} has no size in simulate.splits; pass -n"
        )
    settings = {"split": args.split, "chunk": chunk, "n_spectra": n,
                "sampling": config["sampling"], "observe": config["observe"]}  # fmt: skip
    produce_shard(
        args.output,
        grid_dir=args.grid,
        noise_table=args.noise,
        split=args.split,
        chunk=chunk,
        n_spectra=n,
        seed=seed,
        sampling=config["sampling"],
        observe=config["observe"],
        row_group_size=config["simulate"]["row_group_size"],
        provenance=make_record(
            "pfsdenoise simulate",
            config=settings,
            seed=seed,
            inputs=[args.noise, args.grid / "grid.json", *args.config],
            code=module_code_record("pfsdenoise.simulate.produce"),
        ),
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pfsdenoise",
        description="Simulated Subaru PFS MR spectra and neural denoisers (see README.md).",
    )
    parser.add_argument("--version", action="version", version=f"pfsdenoise {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("inspect", help="summarize Parquet shards (rows, wavelengths, parameters)")
    p.add_argument("shards", nargs="+", type=Path)
    p.set_defaults(func=_cmd_inspect)

    p = sub.add_parser("provenance", help="print the chain of steps that produced a file")
    p.add_argument("file", type=Path)
    p.add_argument("--json", action="store_true", help="the whole records, as JSON")
    p.set_defaults(func=_cmd_provenance)

    p = sub.add_parser("simulate", help="simulate one chunk of one split into a Parquet shard")
    p.add_argument(
        "--config", type=Path, nargs="+", default=[Path("config.yaml")],
        help="workflow config files, each updating the ones before (as --configfile)",
    )  # fmt: skip
    p.add_argument("--grid", type=Path, required=True, help="grid folder (results/grid/<name>)")
    p.add_argument("--noise", type=Path, required=True, help="noise table file (results/noise/)")
    p.add_argument("--split", default="train", help="split name, mixed into the seed")
    p.add_argument("--chunk", required=True, help="chunk name from simulate.chunks")
    p.add_argument("-n", type=int, help="number of spectra (default: the split's size)")
    p.add_argument("--seed", type=int, default=None, help="override the derived seed")
    p.add_argument("-o", "--output", type=Path, required=True, help="output .parquet")
    p.set_defaults(func=_cmd_simulate)

    add_denoise_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``pfsdenoise`` command."""
    from pfsdenoise.shards import ShardError

    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (ShardError, FileNotFoundError, ValueError) as exc:
        print(f"pfsdenoise {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
