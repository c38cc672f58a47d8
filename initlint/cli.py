"""Command line: flags -> Settings -> run -> report -> exit status.

    initlint [PATH ...]            check files and folders (default: .)
    initlint - --stdin-filename F  check source read from stdin, reported as F
    initlint rules                 list every rule
    initlint rule IL101            print one rule's documentation
    initlint lsp                   run the language server over stdio

Exit status: 0 nothing at or above the failing severity, 1 findings, 2 usage
error, bad configuration, missing path or internal error. Nothing here
imports torch: the confirmation stage is loaded only with --confirm.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, NoReturn, Optional, TextIO

from initlint import __version__

if TYPE_CHECKING:
    from initlint.config import Settings
    from initlint.diagnostics import Diagnostic
    from initlint.notebook import NotebookMap

EXIT_OK, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2
SUBCOMMANDS = ("rules", "rule", "lsp")


class UsageError(Exception):
    """A mistake on the command line or in the configuration: one message, exit 2."""


def _codes(text: str) -> list[str]:
    codes = [part for part in (p.strip() for p in text.split(",")) if part]
    if not codes:
        # `--select=` would otherwise switch every rule off and pass; ruff refuses it too.
        raise argparse.ArgumentTypeError("expected at least one rule code or prefix, e.g. IL101, IL1 or ALL")
    return codes


def _help_formatter(prog: str) -> argparse.HelpFormatter:
    """argparse's own formatter, given the terminal width as argparse would compute it.

    Left to itself, argparse imports shutil (with bz2 and lzma) for the width each time it
    builds a formatter, which it does for every argument it adds: about 1% of a one-file run
    that never prints help."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns if sys.__stdout__ else 80
        except (AttributeError, ValueError, OSError):
            columns = 80
    return argparse.HelpFormatter(prog, width=max(columns, 1) - 2)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="initlint",
        formatter_class=_help_formatter,
        description="Find the model-code mistakes that stop a neural network from training.",
        epilog="Subcommands: `initlint rules` lists the rules, `initlint rule IL101` explains one, "
        "`initlint lsp` runs the language server. To check a folder named like a subcommand, "
        "write it as ./rules.",
    )
    parser.add_argument("paths", nargs="*", metavar="PATH", help="files or folders to check (default: .); - reads stdin")
    parser.add_argument("--version", action="version", version=f"initlint {__version__}")
    out = parser.add_argument_group("output")
    from initlint.report import FORMATS  # the registry: a new reporter is a new choice

    out.add_argument("--format", choices=tuple(FORMATS), default="text", help="output format (default: text)")
    out.add_argument("--output-file", "-o", metavar="FILE", help="write the report to FILE instead of stdout")
    out.add_argument("--stdin-filename", metavar="NAME", help="the name of the file read from stdin (with -)")
    out.add_argument("--statistics", action="store_true", help="count the findings by code instead of listing them")
    out.add_argument("--quiet", "-q", action="store_true", help="print the findings only, without the summary line")
    out.add_argument("--verbose", "-v", action="store_true", help="name each file that was analysed only in part")
    out.add_argument(
        "--show-settings", action="store_true",
        help="print the resolved settings and where each comes from, then exit without checking",
    )
    status = parser.add_argument_group("exit status")
    status.add_argument("--exit-zero", action="store_true", help="exit 0 even when there are findings")
    status.add_argument("--fail-on", choices=("error", "warning", "info"), help="lowest severity that fails the run (default: warning)")
    sel = parser.add_argument_group("rule selection")
    sel.add_argument("--select", type=_codes, metavar="CODES", help="comma-separated codes or prefixes to check (replaces the configured list), e.g. IL1,IL301")
    sel.add_argument("--extend-select", type=_codes, metavar="CODES", help="codes or prefixes to check in addition")
    sel.add_argument("--ignore", type=_codes, metavar="CODES", help="codes or prefixes not to check")
    sel.add_argument("--show-unused-suppressions", action="store_true", help="report suppression comments that silence nothing (IL003)")
    cfg = parser.add_argument_group("configuration")
    cfg.add_argument("--config", metavar="FILE", help="read settings from FILE instead of the nearest pyproject.toml")
    cfg.add_argument("--no-gitignore", action="store_true", help="check files that .gitignore excludes")
    cfg.add_argument("--no-cache", action="store_true", help="do not read or write the result cache")
    cfg.add_argument("--cache-dir", metavar="DIR", help="where the result cache lives (default: .initlint_cache)")
    cfg.add_argument("--jobs", "-j", type=int, metavar="N", help="files checked in parallel (default: one per core)")
    fixes = parser.add_argument_group("fixes")
    fixes.add_argument("--fix", action="store_true", help="apply the safe fixes and write the files; report what remains")
    fixes.add_argument(
        "--unsafe-fixes", action="store_true",
        help="also treat the unsafe fixes (which may change what the code does) as fixable: with --fix or --diff, apply them",
    )
    fixes.add_argument("--diff", action="store_true", help="print the changes --fix would make as a unified diff; write nothing (exit 1 when there are changes)")
    adopt = parser.add_argument_group("adopting initlint on an existing codebase")
    adopt.add_argument("--add-noqa", action="store_true", help="add a `# noqa: CODE` comment for each finding reported, then exit 0")
    known = adopt.add_mutually_exclusive_group()
    known.add_argument("--baseline", metavar="FILE", help="report only findings not recorded in FILE (default: `baseline` in the configuration)")
    known.add_argument("--no-baseline", action="store_true", help="report every finding, even where the configuration sets `baseline`")
    adopt.add_argument("--write-baseline", metavar="FILE", help="record every finding of this run in FILE (JSON), then exit 0")
    adopt.add_argument("--show-stale-baseline", action="store_true", help="list the baseline entries that no longer match a finding")
    con = parser.add_argument_group("confirmation (runs model code; needs torch)")
    which = con.add_mutually_exclusive_group()
    which.add_argument("--confirm", action="store_true", help="build each flagged model and confirm the finding")
    which.add_argument(
        "--no-confirm", action="store_true",
        help="static check only, even where the configuration sets `confirm` (the pre-commit hook's mode)",
    )
    con.add_argument("--plot", metavar="DIR", help="with --confirm: per-layer charts of confirmed IL302/IL401")
    return parser


def console_main() -> NoReturn:
    """The `initlint` command: `main`, then leave without the interpreter's teardown.

    Freeing every module and object one by one at exit costs ~20 ms, 6% of a
    one-file run (a pre-commit hook's common case). By then all output is
    written, the cache file is renamed into place and the worker pools are
    shut down, so the process can end at once (as mypy does).
    """
    status = main()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BrokenPipeError:  # the reader went away (`initlint | head`)
        status = status or EXIT_ERROR
    except (OSError, ValueError):  # a stream that is closed or broken: nothing left to say
        pass
    os._exit(status)


def main(argv: Optional[Sequence[str]] = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    try:
        if args_list and args_list[0] in SUBCOMMANDS:
            return _subcommand(args_list[0], args_list[1:])
        return _check(build_parser().parse_args(args_list))
    except UsageError as exc:
        print(f"initlint: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("initlint: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`initlint | head`): not an error of ours.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_ERROR
    except Exception as exc:  # noqa: BLE001 - the last line of defence: a message, never a traceback
        print(f"initlint: internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
        print("initlint: please report this with the file that caused it", file=sys.stderr)
        if os.environ.get("INITLINT_TRACEBACK"):
            import traceback

            traceback.print_exc()
        return EXIT_ERROR


def _subcommand(name: str, rest: list[str]) -> int:
    if name == "lsp":
        return _lsp(rest)
    from initlint.rule import all_rules, rule_by_code

    if name == "rules":
        parser = argparse.ArgumentParser(prog="initlint rules", description="List every rule.")
        parser.add_argument("--markdown", action="store_true", help="print the table as Markdown (the README's)")
        parser.add_argument("--docs", action="store_true", help="print every rule's documentation as Markdown (docs/rules.md)")
        options = parser.parse_args(rest)
        print(rules_docs() if options.docs else rules_markdown() if options.markdown else rules_table(), end="")
        return EXIT_OK
    parser = argparse.ArgumentParser(prog="initlint rule", description="Print one rule's documentation.")
    parser.add_argument("code", help="a rule code (IL101) or name (zero-product)")
    args = parser.parse_args(rest)
    rule = rule_by_code(args.code)
    if rule is None:
        known = ", ".join(r.code for r in all_rules())
        raise UsageError(f"unknown rule {args.code!r} (known: {known})")
    print(f"# {rule.code} {rule.name} ({rule.severity.label})\n")
    print(rule.documentation())
    print(f"\nDocumentation: {rule.docs_url()}")
    return EXIT_OK


def rules_table() -> str:
    from initlint.rule import all_rules

    rows = [(r.code, r.name, r.severity.label, r.one_line()) for r in all_rules()]
    header = ("code", "name", "severity", "what it flags")
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(3)]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row[:3], widths)) + "  " + row[3] for row in [header, *rows]]
    return "\n".join(line.rstrip() for line in lines) + "\n"


def rules_markdown() -> str:
    """The README's rules table."""
    from initlint.rule import all_rules

    lines = ["| code | name | severity | what it flags |", "|---|---|---|---|"]
    for r in all_rules():
        summary = r.one_line().replace("|", "\\|")
        lines.append(f"| {r.code} | {r.name} | {r.severity.label} | {summary} |")
    return "\n".join(lines) + "\n"


def rules_docs() -> str:
    """docs/rules.md: every rule's documentation, the page `codeDescription.href` links to."""
    from initlint.rule import all_rules

    parts = ["# initlint rules\n\nGenerated by `initlint rules --docs` from the rules themselves; do not edit.\n"]
    for r in all_rules():
        body = ("\n" + r.documentation()).replace("\n## ", "\n### ")
        if r.options:
            # The options come from the rule's declarations, before the references if it has any.
            listed = "".join(f"- `{o.name}` ({o.type.__name__}, default {o.default!r}): {o.doc}.\n" for o in r.options)
            section = f"\n### Options\n`[tool.initlint]` keys:\n{listed}"
            head, refs, tail = body.partition("\n### References")
            body = head.rstrip("\n") + "\n" + section + (refs + tail if refs else "")
        parts.append(f"## {r.code} {r.name}\n\nSeverity: {r.severity.label}.\n\n{body.strip()}\n")
    return "\n".join(parts)


def _lsp(rest: list[str]) -> int:
    import importlib.util

    if importlib.util.find_spec("pygls") is None or importlib.util.find_spec("lsprotocol") is None:
        raise UsageError("the language server needs pygls and lsprotocol: pip install 'initlint[lsp]'")
    from initlint import lsp

    server_main = getattr(lsp, "main", None)
    if server_main is None:
        raise UsageError("this build of initlint has no language server")
    result = server_main(rest) if rest else server_main()
    return int(result or 0)


def _settings(args: argparse.Namespace, paths: list[str]) -> Settings:
    from initlint.config import ConfigError, check_selector, discover_settings, override
    from initlint.diagnostics import Severity

    anchor = args.stdin_filename if paths == ["-"] and args.stdin_filename else (paths[0] if paths else ".")
    try:
        settings = discover_settings(anchor, args.config)

        def selectors(values: list[str], flag: str) -> tuple[str, ...]:
            return tuple(check_selector(v, f"--{flag}") for v in values)

        if args.select is not None:
            settings = override(settings, "select", "--select", select=selectors(args.select, "select"))
        if args.extend_select is not None:
            settings = override(settings, "extend-select", "--extend-select", extends=True,
                                extend_select=settings.extend_select + selectors(args.extend_select, "extend-select"))
        if args.ignore is not None:
            settings = override(settings, "ignore", "--ignore", extends=True,
                                ignore=settings.ignore + selectors(args.ignore, "ignore"))
    except ConfigError as exc:
        raise UsageError(str(exc)) from None
    if args.fail_on is not None:
        settings = override(settings, "fail-on", "--fail-on", fail_on=Severity.parse(args.fail_on))
    if args.show_unused_suppressions:
        settings = override(settings, "report-unused-suppressions", "--show-unused-suppressions",
                            report_unused_suppressions=True)
    if args.no_gitignore:
        settings = override(settings, "respect-gitignore", "--no-gitignore", respect_gitignore=False)
    if args.no_cache:
        settings = override(settings, "cache", "--no-cache", use_cache=False)
    if args.cache_dir is not None:
        settings = override(settings, "cache-dir", "--cache-dir", cache_dir=args.cache_dir)
    if args.jobs is not None:
        if args.jobs < 1:
            raise UsageError("--jobs must be at least 1")
        settings = override(settings, "jobs", "--jobs", jobs=args.jobs)
    if args.baseline is not None:  # relative to where initlint runs
        settings = override(settings, "baseline", "--baseline", baseline=os.path.abspath(args.baseline))
    if args.no_baseline:
        settings = override(settings, "baseline", "--no-baseline", baseline=None)
    if args.show_stale_baseline and settings.baseline is None:
        raise UsageError("--show-stale-baseline needs a baseline: --baseline FILE or `baseline` in the configuration")
    if args.confirm or args.plot:
        flag = "--plot" if args.plot else "--confirm"  # --plot has set args.confirm by now
        settings = override(settings, "confirm.enabled", flag, confirm=replace(settings.confirm, enabled=True))
    if args.no_confirm:
        settings = override(settings, "confirm.enabled", "--no-confirm", confirm=replace(settings.confirm, enabled=False))
    return settings


def _check(args: argparse.Namespace) -> int:
    paths = list(args.paths) or ["."]
    if "-" in paths and paths != ["-"]:
        raise UsageError("- (stdin) cannot be combined with other paths")
    if args.stdin_filename and paths != ["-"]:
        raise UsageError("--stdin-filename needs - as the only path")
    if args.plot and args.no_confirm:
        raise UsageError("--plot draws the confirmation's measurements and cannot be combined with --no-confirm")
    if args.plot and not args.confirm:
        args.confirm = True
    if (args.fix or args.diff) and paths == ["-"]:
        raise UsageError("--fix and --diff rewrite files on disk and cannot be used with - (stdin)")
    if args.add_noqa and args.write_baseline:
        raise UsageError("--add-noqa and --write-baseline are two ways to accept today's findings; choose one")
    if paths == ["-"] and (args.add_noqa or args.write_baseline):
        raise UsageError("--add-noqa and --write-baseline edit files on disk and cannot read stdin")
    settings = _settings(args, paths)
    if args.show_settings:
        from initlint.report.settings import render as render_settings

        _emit(args, render_settings(settings))
        return EXIT_OK
    if settings.confirm.enabled:
        _check_confirm_available()

    from initlint.discover import missing_paths

    missing = [] if paths == ["-"] else missing_paths(paths)
    for path in missing:
        print(f"initlint: error: {path}: no such file or directory", file=sys.stderr)
    present = [p for p in paths if p not in missing]
    crashed: tuple[tuple[str, str], ...] = ()
    partial: tuple[tuple[str, tuple[str, ...]], ...] = ()  # files analysed in part (out of budget)
    sources: dict[str, str] = {}  # text that is not on disk, for the reporters that quote it
    notebooks: dict[str, NotebookMap] = {}  # where each notebook's program lines are in its cells
    if paths == ["-"]:
        diagnostics, files_checked = _check_stdin(args.stdin_filename or "-", settings, sources, notebooks)
    elif present:
        from initlint.runner import run

        result = run(present, settings)
        diagnostics, files_checked = list(result.diagnostics), result.files_checked
        crashed, partial = result.crashed, result.partial
        notebooks.update(result.notebooks)
    else:
        diagnostics, files_checked = [], 0

    fixed, fix_failed = 0, False
    if (args.fix or args.diff) and present:
        from initlint.runner import fix_files

        fix_run = fix_files(diagnostics, settings, unsafe=args.unsafe_fixes, write=not args.diff)
        for error in fix_run.errors:
            print(f"initlint: error: {error}", file=sys.stderr)
        if args.diff:
            sys.stdout.write(fix_run.diff)
            sys.stdout.flush()
            print(f"Would fix {fix_run.fixed} finding{'' if fix_run.fixed == 1 else 's'}.", file=sys.stderr)
            return EXIT_ERROR if fix_run.errors or missing else EXIT_FINDINGS if fix_run.diff else EXIT_OK
        fixed = fix_run.fixed
        if fix_run.changed:  # the report and the exit status are about what remains
            from initlint.runner import run

            result = run(present, settings)
            diagnostics, files_checked, crashed = list(result.diagnostics), result.files_checked, result.crashed
            partial = result.partial
            notebooks.update(result.notebooks)
        fix_failed = bool(fix_run.errors)

    if args.plot:
        from initlint.confirm.plot import PlotUnavailable, write_plots

        try:
            write_plots(diagnostics, args.plot)
        except PlotUnavailable as exc:
            raise UsageError(str(exc)) from None

    notes, failed = _adopt(args, settings, list(sources) if paths == ["-"] else present, diagnostics, sources)
    # With every path missing there is nothing to summarise for people ("No findings in 0 files"
    # would read as a pass); machine formats still get a valid, empty document.
    from initlint.report import HUMAN

    if (present or paths == ["-"] or args.format not in HUMAN) and not (args.add_noqa or args.write_baseline):
        _write_report(args, diagnostics, files_checked, sources, notebooks, fixed, partial)
    for note in notes:
        print(note, file=sys.stderr)
    _note_partial(partial, args.verbose)
    for path, why in crashed:
        print(f"initlint: error: {path}: not checked, {why}; the other files were. Please report it with this file.", file=sys.stderr)
    if missing or crashed or fix_failed or failed:
        return EXIT_ERROR
    if args.add_noqa or args.write_baseline:
        return EXIT_OK
    if args.exit_zero:
        return EXIT_OK
    failing = any(d.fails and d.severity >= settings.fail_on for d in diagnostics)
    return EXIT_FINDINGS if failing else EXIT_OK


def _adopt(
    args: argparse.Namespace, settings: Settings, paths: Sequence[str], diagnostics: list[Diagnostic], texts: dict[str, str]
) -> tuple[list[str], bool]:
    """--write-baseline, the baseline filter and --add-noqa, in that order (a noqa goes only where a
    finding is new). Filters `diagnostics` in place; returns the lines for stderr and whether
    something failed."""
    notes: list[str] = []
    if args.write_baseline or settings.baseline is not None:
        from initlint import baseline

        try:
            if args.write_baseline:
                count = baseline.record(diagnostics, settings, args.write_baseline, texts)
                return [f"Wrote {count} baseline entr{'y' if count == 1 else 'ies'} to {args.write_baseline}."], False
            assert settings.baseline is not None
            filtered = baseline.filter_run(diagnostics, settings, paths, texts)
        except baseline.BaselineError as exc:
            raise UsageError(str(exc)) from None
        diagnostics[:] = filtered.kept
        shown = os.path.relpath(settings.baseline)
        notes.extend(f"initlint: {note}" for note in filtered.notes(shown, args.show_stale_baseline))
    if not args.add_noqa:
        return notes, False
    from initlint.suppress import add_noqa

    result = add_noqa(diagnostics)
    notes.extend(f"initlint: warning: {line}" for line in result.unsilenced)
    notes.extend(f"initlint: error: {line}" for line in result.errors)
    notes.append(f"Added {result.added} noqa directive{'' if result.added == 1 else 's'}.")
    return notes, bool(result.errors)


def _check_confirm_available() -> None:
    import importlib.util

    if importlib.util.find_spec("initlint.confirm") is None:
        raise UsageError("this build of initlint has no confirmation stage")
    if importlib.util.find_spec("torch") is None:
        raise UsageError("--confirm builds the flagged models and needs torch: pip install 'initlint[confirm]'")


def _check_stdin(
    name: str, settings: Settings, sources: dict[str, str], notebooks: dict[str, NotebookMap]
) -> tuple[list[Diagnostic], int]:
    """The check of stdin's bytes as the file `name` (a notebook when it ends in .ipynb); its
    text goes into `sources`, a notebook's map into `notebooks`."""
    from initlint.diagnostics import Diagnostic
    from initlint.discover import is_excluded
    from initlint.engine import check_source
    from initlint.link import link_project
    from initlint.source import decode_source

    data = sys.stdin.buffer.read()
    if name != "-" and is_excluded(name, settings):
        return [], 0  # the buffer stands for a file the configuration excludes, as on disk
    source = decode_source(name, data)
    if isinstance(source, Diagnostic):
        return [source], 1
    sources[name] = source.text
    if source.notebook is not None:
        notebooks[name] = source.notebook
    result = check_source(name, source.text, settings)
    diagnostics = list(result.diagnostics) + link_project([result], settings)
    if settings.confirm.enabled:
        print("initlint: --confirm reads files from disk; skipped for stdin", file=sys.stderr)
    return diagnostics, 1


def _write_report(
    args: argparse.Namespace, diagnostics: Sequence[Diagnostic], files_checked: int, sources: dict[str, str],
    notebooks: dict[str, NotebookMap], fixed: int = 0, partial: Sequence[tuple[str, tuple[str, ...]]] = (),
) -> None:
    from initlint.diagnostics import Diagnostic
    from initlint.report import report

    # Sorted in program lines (cell order), then located in cells for the reader.
    ordered = sorted(diagnostics, key=Diagnostic.sort_key)
    if notebooks:
        from initlint.notebook import to_cells

        ordered = to_cells(ordered, notebooks)
    fixable = (0, 0)
    if any(d.fix is not None for d in ordered):
        from initlint.fixes import fixable_counts

        fixable = fixable_counts(ordered, args.unsafe_fixes)

    color = args.output_file is None and _wants_color(sys.stdout)
    _emit(args, report(args.format, ordered, files_checked, color=color, quiet=args.quiet,
                       statistics=args.statistics, sources=sources, fixed=fixed,
                       fixable=fixable, partial=partial))


def _note_partial(partial: Sequence[tuple[str, tuple[str, ...]]], verbose: bool) -> None:
    """Tell the user which files were analysed only in part (a root ran out of its step budget):
    a finding may be missing there."""
    if not partial:
        return
    if verbose:
        for path, roots in partial:
            print(f"initlint: {path}: analysed in part: {', '.join(roots)} ran out of analysis budget", file=sys.stderr)
        return
    count = len(partial)
    print(f"initlint: {count} file{' was' if count == 1 else 's were'} analysed in part; --verbose names them", file=sys.stderr)


def _emit(args: argparse.Namespace, text: str) -> None:
    """Write to --output-file, or stdout."""
    if args.output_file is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    try:
        with open(args.output_file, "w", encoding="utf-8") as handle:
            handle.write(text)
    except OSError as exc:
        raise UsageError(f"cannot write {args.output_file}: {exc.strerror or exc}") from None


def _wants_color(stream: TextIO) -> bool:
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    try:
        return stream.isatty() and os.environ.get("TERM") != "dumb"
    except (AttributeError, ValueError):
        return False
