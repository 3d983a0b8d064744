"""What every command of the CLI shares: the one-line error parser and an option made from a Spec."""
from __future__ import annotations

import argparse

from explorer.core.fmt import fmt
from explorer.interface.params import Spec

VIEWS = ("trajectory", "train", "sweep")      # what `export` can render


class OneLineParser(argparse.ArgumentParser):
    """Bad arguments: exit 2 with one clear line on stderr (no usage dump, no traceback)."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message}\n")


CORRECTED_HELP = ("also sweep AdamW's corrected form (η_t²·α·λ, AdamC) on the PyTorch form's λ grid: a fourth "
                  "heat map (adam pair only)")


def spec_option(parser: argparse.ArgumentParser, spec: Spec, flag: str | None = None) -> None:
    def parse(text: str):
        try:
            return spec.parse(text)
        except ValueError as e:
            raise argparse.ArgumentTypeError(str(e).split(": ", 1)[-1]) from None

    parse.__name__ = spec.name
    extra = f" (one of: {', '.join(spec.choices)})" if spec.choices else ""
    extra += "" if spec.default is None else f"; default {fmt(spec.default)}"
    parser.add_argument(flag or f"--{spec.name.replace('_', '-')}", dest=spec.name, type=parse,
                        default=spec.default, metavar=spec.name.upper() if not spec.choices else "NAME",
                        help=f"{spec.help}{extra}")
