"""The ``pfsdenoise`` command line: what users run outside Snakemake.

A thin dispatcher: each subcommand calls the library; :func:`main` turns every expected failure
into one line (the file, the problem, the fix) and an exit status per kind
(:mod:`pfsdenoise.errors`); ``--debug`` shows the traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path

from pfsdenoise import __version__
from pfsdenoise.denoise.cli import add_parser as add_denoise_parser
from pfsdenoise.errors import EXIT_CODES, ExplainedError, explain


def _cmd_inspect(args: argparse.Namespace) -> int:
    """Summarize each shard after verifying its checksums; a file that is not a shard or is
    damaged gets one line and its status, and the others are still inspected."""
    from pfsdenoise.shards import summarize

    status = 0
    for path in args.shards:
        try:
            print(summarize(path))
            print()
        except (ExplainedError, OSError) as exc:
            code, message = explain(exc)
            print(f"pfsdenoise inspect: {message}", file=sys.stderr)
            status = max(status, code)
    return status


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
    from pfsdenoise.configuration import ConfigError, load_config
    from pfsdenoise.logs import setup_logging
    from pfsdenoise.provenance import make_record
    from pfsdenoise.seeding import shard_seed
    from pfsdenoise.simulate.produce import produce_shard

    setup_logging()
    paths = _config_layers(args.config)
    config = load_config(paths)  # the workflow's validation, defaults filled
    chunks = {c["name"]: c for c in config["simulate"]["chunks"]}
    if args.chunk not in chunks:
        raise ConfigError(
            f"chunk {args.chunk!r} not in simulate.chunks of {', '.join(map(str, paths))} "
            f"(it has {sorted(chunks)}); pass --chunk with one of them"
        )
    chunk = chunks[args.chunk]
    # The workflow's seed derivation and sizes, so the CLI reproduces a workflow shard.
    seed = shard_seed(config["seed"], args.split, args.chunk, chunk["seed"])
    seed = seed if args.seed is None else args.seed
    n = config["simulate"]["splits"].get(args.split) if args.n is None else args.n
    if n is None:
        raise ConfigError(f"split {args.split!r} has no size in simulate.splits; pass -n")
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
            inputs=[args.noise, args.grid / "grid.json", *paths],
            code=module_code_record("pfsdenoise.simulate.produce"),
        ),
    )
    return 0


def _config_layers(given: Sequence[Path]) -> list[Path]:
    """The workflow's config.yaml, then the files given: the layers Snakemake merges for
    ``--configfile`` (a complete file given alone still works: it overrides everything)."""
    from pfsdenoise.code_closure import package_root

    base = package_root().parent / "config.yaml"
    given = list(given)
    if base.is_file() and not any(p.resolve() == base.resolve() for p in given if p.exists()):
        return [base, *given]
    return given


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pfsdenoise",
        description="Simulated Subaru PFS MR spectra and neural denoisers (see README.md).",
        epilog="exit status:\n"
        + "\n".join(f"  {code:>3}  {text}" for code, text in EXIT_CODES.items()),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"pfsdenoise {__version__}")
    parser.add_argument(
        "--debug", action="store_true", help="show the traceback of a failure (before the command)"
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser(
        "inspect",
        help="verify and summarize Parquet shards (rows, wavelengths, parameters); exit 4 for a "
        "file that is not a shard, 5 for a damaged one",
    )
    p.add_argument("shards", nargs="+", type=Path)
    p.set_defaults(func=_cmd_inspect)

    p = sub.add_parser("provenance", help="print the chain of steps that produced a file")
    p.add_argument("file", type=Path)
    p.add_argument("--json", action="store_true", help="the whole records, as JSON")
    p.set_defaults(func=_cmd_provenance)

    p = sub.add_parser("simulate", help="simulate one chunk of one split into a Parquet shard")
    p.add_argument(
        "--config", type=Path, nargs="+", default=[],
        help="config files over the workflow's config.yaml, each updating the ones before "
        "(as snakemake --configfile)",
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
    """Entry point of the ``pfsdenoise`` command: run a subcommand; an expected failure is
    one line on stderr and its exit status (``pfsdenoise --help``), no traceback unless
    ``--debug``."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print(f"pfsdenoise {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        code, message = explain(exc)
        if args.debug:
            traceback.print_exc()
        print(f"pfsdenoise {args.command}: error: {message}", file=sys.stderr)
        return code


if __name__ == "__main__":
    sys.exit(main())
