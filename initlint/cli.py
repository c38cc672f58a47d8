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
    args = parser.parse_args(argv)
    from initlint.config import Settings
    from initlint.runner import run

    result = run(args.paths, Settings())
    if args.format == "json":
        print(json.dumps([d.to_json() for d in result.diagnostics], indent=1))
    else:
        for d in result.diagnostics:
            print(f"{d.path}:{d.line}:{d.column}: {d.code} {d.message}")
    return 1 if any(d.fails for d in result.diagnostics) else 0
