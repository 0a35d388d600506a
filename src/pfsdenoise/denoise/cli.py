"""The ``pfsdenoise denoise`` subcommand: its options and its handler (docs/denoise.md).

Exit status: 0 when every file was denoised, 1 when some failed (the others are written); when
nothing could start, the status of the failure's kind (``pfsdenoise --help``: 6 a refused model,
9 an output that would overwrite an input).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from pfsdenoise.denoise.masks import DEFAULT_REJECT

PRODUCT_CHOICES = (
    "auto",
    "pfsSingle",
    "pfsObject",
    "pfsCalibrated",
    "pfsCoadd",
    "pfsArm",
    "pfsMerged",
    "table",
    "image",
    "parquet",
)


def _identifier(text: str) -> int:
    """A decimal or 0x-hexadecimal identifier (objIds are written in hex in file names)."""
    return int(text, 0)


def _planes(text: str) -> tuple[str, ...]:
    return tuple(p.strip().upper() for p in text.split(",") if p.strip())


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``denoise`` on the ``pfsdenoise`` command's subparsers."""
    p = subparsers.add_parser(
        "denoise",
        help="denoise PFS products (pfsSingle, pfsCalibrated, pfsArm, ...), FITS or Parquet files",
        description="Denoise the MR-arm spectra of PFS datamodel products and other FITS or "
        "Parquet files; each output is the input with DENOISED, DENOISED_MASK (and "
        "DENOISED_ERR) added, written to OUTPUT/<same name>. See docs/denoise.md.",
    )
    p.add_argument("--model", type=Path, required=True, help="model file (model.pt)")
    p.add_argument("inputs", nargs="+", help="files, glob patterns or folders")
    p.add_argument("-o", "--output", type=Path, required=True, help="output folder")
    p.add_argument(
        "--product",
        choices=PRODUCT_CHOICES,
        default="auto",
        help="input product (default: recognised from the file name and HDUs)",
    )
    sel = p.add_argument_group("selection (default: every spectrum)")
    for flag, dest in (
        ("--target-id", "target_ids"),
        ("--obj-id", "obj_ids"),
        ("--fiber-id", "fiber_ids"),
    ):
        sel.add_argument(
            flag,
            dest=dest,
            type=_identifier,
            nargs="+",
            action="extend",
            default=[],
            metavar="ID",
            help=f"denoise only these ({flag[2:]}; 0x... hex ok)",
        )
    units = p.add_argument_group("units (default: from the file; nm for PFS products, else Å)")
    units.add_argument("--wave-unit", default=None, help="wavelength unit (nm, Angstrom, um)")
    units.add_argument("--flux-unit", default=None, help="flux unit (nJy, erg/s/cm2/Angstrom, ...)")
    units.add_argument("--air", action="store_true", help="wavelengths are in air (default vacuum)")
    masks = p.add_argument_group("masks")
    masks.add_argument(
        "--mask-planes",
        type=_planes,
        default=DEFAULT_REJECT,
        metavar="A,B,...",
        help=f"mask planes to reject (default {','.join(DEFAULT_REJECT)})",
    )
    masks.add_argument(
        "--mask-column",
        default=None,
        help="table mask column: boolean (True = bad) or integer bits (default MASK)",
    )
    cols = p.add_argument_group("other FITS tables")
    cols.add_argument("--wave-column", default="WAVELENGTH", help="wavelength column")
    cols.add_argument("--flux-column", default="FLUX", help="flux column")
    cols.add_argument(
        "--error-column",
        default=None,
        help="error column; a name like VAR/IVAR means variance/inverse variance "
        "(default: ERROR, ERR, SIGMA, ... whichever exists)",
    )
    p.add_argument("--batch-size", type=int, default=256, help="spectra per forward pass")
    p.add_argument("--device", default="auto", help="auto (GPU when present), cpu or cuda")
    p.add_argument("--summary", type=Path, default=None, help="also write the summary as TSV")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    """Denoise the inputs; print the summary table; the exit status (module docstring)."""
    from pfsdenoise.denoise.api import load_spectrum_denoiser
    from pfsdenoise.denoise.batch import format_summary, run_batch, write_summary
    from pfsdenoise.denoise.inputs import ReadOptions
    from pfsdenoise.logs import setup_logging

    setup_logging()
    opts = ReadOptions(
        product=args.product,
        wave_unit=args.wave_unit,
        flux_unit=args.flux_unit,
        air=args.air,
        mask_planes=tuple(args.mask_planes),
        mask_column=args.mask_column,
        wave_column=args.wave_column,
        flux_column=args.flux_column,
        error_column=args.error_column,
    )
    model = load_spectrum_denoiser(args.model, args.device)
    selection = {
        "target_ids": args.target_ids,
        "obj_ids": args.obj_ids,
        "fiber_ids": args.fiber_ids,
    }
    summary, failed = run_batch(
        model, args.inputs, args.output, opts, selection=selection, batch_size=args.batch_size
    )
    print(format_summary(summary))
    if args.summary:
        write_summary(summary, args.summary)
    if failed:
        print(
            f"pfsdenoise denoise: {failed} input(s) failed, the others were written",
            file=sys.stderr,
        )
        return 1
    return 0
