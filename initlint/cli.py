"""Command line: flags -> Settings -> run -> report -> exit status."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Optional, Sequence

from initlint import __version__


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="initlint")
    parser.add_argument("paths", nargs="*", default=["."])
    parser.add_argument("--format", default="text", choices=["text", "json"])
    parser.add_argument("--version", action="version", version=f"initlint {__version__}")
    parser.add_argument("--confirm", action="store_true", help="build each flagged model and confirm the finding")
    parser.add_argument("--plot", metavar="DIR", help="with --confirm: per-layer charts of confirmed IL302/IL401")
    args = parser.parse_args(argv)
    from dataclasses import replace

    from initlint.config import ConfirmSettings, Settings
    from initlint.runner import run

    settings = Settings()
    if args.confirm or args.plot:
        settings = replace(settings, confirm=replace(settings.confirm or ConfirmSettings(), enabled=True))
    result = run(args.paths, settings)
    if args.plot:
        from initlint.confirm.plot import PlotUnavailable, write_plots

        try:
            write_plots(result.diagnostics, args.plot)
        except PlotUnavailable as exc:
            print(f"initlint: {exc}", file=sys.stderr)
            return 2
    if args.format == "json":
        print(json.dumps([d.to_json() for d in result.diagnostics], indent=1))
    else:
        for d in result.diagnostics:
            print(f"{d.path}:{d.line}:{d.column}: {d.code} {d.message}")
    return 1 if any(d.fails for d in result.diagnostics) else 0
