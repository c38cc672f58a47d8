"""Find the Python files to check: paths, excludes, .gitignore, the framework pre-filter.

- Directories are walked recursively, in sorted order; symlinked directories
  are followed once (a symlink loop is walked no deeper than its target).
- Only `.py` files and Jupyter notebooks (`.ipynb`, checked as the program
  of their code cells: initlint/notebook.py) are collected from directories
  (stubs, `.pyi`, are not code that trains); a file named on the command line is checked whatever
  its suffix, unless an exclude pattern matches it (as ruff's
  `force-exclude`, so pre-commit's file list honours the configuration).
- `exclude`/`extend-exclude` are gitignore-style patterns relative to the
  project root (the configuration's folder, else the working directory):
  `build` matches a file or folder of that name anywhere, `src/gen/*.py`
  only there. `.gitignore` files (nested ones too, and those above the
  walked folder up to the repository root) are honoured with pathspec.
- Paths keep the form the user gave: relative stays relative.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Optional

from initlint.config import Settings
from initlint.frameworks.tables import PREFILTER_NAMES  # pure data: no libcst on the warm path

if TYPE_CHECKING:
    import pathspec

# What a folder walk collects.
CHECKED_SUFFIXES = (".py", ".ipynb")


def missing_paths(paths: Sequence[str]) -> list[str]:
    """Paths on the command line that do not exist (a dangling symlink counts as existing)."""
    return [p for p in paths if not os.path.lexists(p)]


class _GitIgnore:
    """One .gitignore file: pathspec decides; one combined regex first tells whether any of its
    patterns matches at all (most paths match none, and pathspec tries each pattern in turn)."""

    def __init__(self, lines: list[str]) -> None:
        import pathspec  # only where a .gitignore exists (its import is ~15 ms)

        self.spec = pathspec.GitIgnoreSpec.from_lines(lines)
        regexes = [p.regex for p in self.spec.patterns if p.include is not None and p.regex is not None]
        self.any: Optional[re.Pattern[str]] = None
        if len({r.flags for r in regexes}) == 1:
            # The named groups (a directory mark) would clash in one pattern; unnamed they match the same.
            alternatives = (_NAMED_GROUP.sub("(?:", r.pattern) for r in regexes)
            self.any = re.compile("|".join(f"(?:{a})" for a in alternatives), regexes[0].flags)
        elif not regexes:
            self.any = re.compile(r"(?!)")

    def decision(self, relative: str) -> Optional[bool]:
        """True: ignored, False: re-included (`!pattern`), None: no pattern matches."""
        if self.any is not None and self.any.search(relative) is None:
            return None
        return self.spec.check_file(relative).include


_NAMED_GROUP = re.compile(r"\(\?P<\w+>")


def _read_gitignore(directory: str) -> Optional[_GitIgnore]:
    try:
        with open(os.path.join(directory, ".gitignore"), encoding="utf-8", errors="replace") as handle:
            return _GitIgnore(handle.read().splitlines())
    except OSError:
        return None


def _is_repo_root(directory: str) -> bool:
    return os.path.exists(os.path.join(directory, ".git"))


# The .gitignore files that apply to a folder's entries, shallowest first, each with the
# folder's path relative to it ("" for the folder's own, else ending in "/").
_Chain = tuple[tuple[_GitIgnore, str], ...]


def _chain_above(directory: str) -> _Chain:
    """The chain of a walk's top folder (absolute): its own .gitignore and those above it up to
    the repository root."""
    links: list[tuple[_GitIgnore, str]] = []
    current, relative = directory, ""
    while True:
        spec = _read_gitignore(current)
        if spec is not None:
            links.append((spec, relative))
        if _is_repo_root(current):
            break
        parent = os.path.dirname(current)
        if parent == current:
            break
        relative = os.path.basename(current) + "/" + relative
        current = parent
    return tuple(reversed(links))


def _ignored(chain: _Chain, name: str, is_dir: bool) -> bool:
    """Whether git would ignore the entry `name` of the folder of `chain`: the deepest
    .gitignore that decides wins."""
    decision: Optional[bool] = None
    suffix = name + ("/" if is_dir else "")
    for spec, relative in chain:
        result = spec.decision(relative + suffix)
        if result is not None:
            decision = result
    return bool(decision)


# A bare name (`build`, `.venv`) excludes a file or folder of that name anywhere, as in
# .gitignore; the default patterns are all bare names, so a run that excludes nothing
# else never imports pathspec.
_NOT_BARE = re.compile(r"[/*?\[\]!\\#]|^\s|\s$")


class _Excludes:
    def __init__(self, settings: Settings) -> None:
        self.root = os.path.abspath(settings.project_root or os.getcwd())
        names: set[str] = set()
        globs: list[str] = []
        for pattern in filter(None, (*settings.exclude, *settings.extend_exclude)):
            if _NOT_BARE.search(pattern):
                globs.append(pattern)
            else:
                names.add(pattern)
        self.names = frozenset(names)
        self.spec: Optional[pathspec.GitIgnoreSpec] = None
        if globs:
            import pathspec

            self.spec = pathspec.GitIgnoreSpec.from_lines(globs)

    def relative(self, path: str) -> str:
        """The form of `path` that the patterns are matched against."""
        absolute = os.path.abspath(path)
        relative = os.path.relpath(absolute, self.root).replace(os.sep, "/")
        if relative.startswith("../"):
            # Outside the project root: only unanchored patterns (names) can match.
            relative = absolute.lstrip("/").replace(os.sep, "/")
        return relative

    def excluded(self, path: str, is_dir: bool) -> bool:
        relative = self.relative(path)
        return self.named(relative) or self.globbed(relative, is_dir)

    def named(self, relative: str) -> bool:
        return bool(self.names) and not self.names.isdisjoint(relative.split("/"))

    def globbed(self, relative: str, is_dir: bool) -> bool:
        return self.spec is not None and bool(self.spec.match_file(relative + ("/" if is_dir else "")))


def is_excluded(path: str, settings: Settings) -> bool:
    """Whether `exclude`/`extend-exclude` exclude the file `path`, as when it is named on the
    command line (the language server and stdin mode ask this of the file they stand for)."""
    return _Excludes(settings).excluded(path, is_dir=False)


def discover(paths: Sequence[str], settings: Settings) -> list[str]:
    """Every file to check under `paths`, deduplicated, in sorted order. Missing paths are skipped
    (the command line reports them; see `missing_paths`)."""
    excludes = _Excludes(settings)
    found: dict[str, str] = {}  # real path -> path as the user will see it
    for given in paths:
        if os.path.isdir(given):
            _walk(given, excludes, settings.respect_gitignore, found)
        elif os.path.lexists(given) and not excludes.excluded(given, is_dir=False):
            found.setdefault(_identity(given), given)
    return sorted(found.values())


def _identity(path: str) -> str:
    try:
        return os.path.realpath(path)
    except (OSError, RuntimeError, ValueError):  # a symlink loop on some platforms
        return os.path.abspath(path)


def _walk(top: str, excludes: _Excludes, gitignore: bool, found: dict[str, str]) -> None:
    """Depth first, a folder's files before its sub-folders, each in sorted order (as os.walk
    with followlinks). Every folder's excludes form, .gitignore chain and real path are worked
    out once, for its entries to extend; an ignored or excluded folder is never entered, and
    only symbolic links are resolved."""
    visited: set[str] = set()
    top_relative = excludes.relative(top)
    top_absolute = os.path.abspath(top)
    # Below a folder that holds the project root, an entry's excludes form is not its folder's
    # form plus its name (`..` + `/x.py` is `x.py` outside the root, `b/y.py` inside it).
    above_root = set(top_relative.split("/")) == {".."}
    # (folder as shown, absolute, real path, excludes form, named-excluded already, .gitignore chain)
    stack: list[tuple[str, str, str, str, bool, _Chain]] = [
        (top, top_absolute, _identity(top), top_relative, excludes.named(top_relative), _chain_above(top_absolute) if gitignore else ())
    ]
    while stack:
        root, absolute, real, relative, named, chain = stack.pop()
        if real in visited:  # a symlink loop, or a link to a folder already walked
            continue
        visited.add(real)
        try:
            with os.scandir(root) as listing:
                entries = sorted(listing, key=lambda e: e.name)
        except OSError:
            continue
        prefix = "" if relative == "." else relative + "/"
        folders: list[tuple[str, str, str, str, bool, _Chain]] = []
        for entry in entries:
            name = entry.name
            try:
                is_dir = entry.is_dir()
            except OSError:
                is_dir = False
            if not is_dir and not name.endswith(CHECKED_SUFFIXES):
                continue
            shown = _join(top, root, name)
            if above_root:
                entry_relative = excludes.relative(shown)
                entry_named = excludes.named(entry_relative)
            else:
                entry_relative = prefix + name
                entry_named = named or name in excludes.names
            if entry_named or excludes.globbed(entry_relative, is_dir):
                continue
            if chain and _ignored(chain, name, is_dir):
                continue
            try:
                linked = entry.is_symlink()
            except OSError:
                linked = True
            entry_real = _identity(shown) if linked else os.path.join(real, name)
            if not is_dir:
                found.setdefault(entry_real, shown)
                continue
            entry_absolute = os.path.join(absolute, name)
            entry_chain = chain
            if gitignore:
                if _is_repo_root(entry_absolute):
                    entry_chain = ()
                else:
                    entry_chain = tuple((spec, base + name + "/") for spec, base in chain)
                own = _read_gitignore(entry_absolute)
                if own is not None:
                    entry_chain = (*entry_chain, (own, ""))
            folders.append((shown, entry_absolute, entry_real, entry_relative, entry_named, entry_chain))
        stack.extend(reversed(folders))


def _join(top: str, root: str, name: str) -> str:
    path = os.path.join(root, name)
    # `initlint .` shows `model.py`, not `./model.py`; any other top keeps its form.
    if top in (".", "./") and path.startswith("." + os.sep):
        return path[2:]
    return path


# The pre-parse framework filter (DESIGN.md, Budgets): a file whose text names no
# framework and no layer, initializer, activation, loss or tensor constructor that
# any rule reads cannot produce a finding, so it is skipped before parsing. Err on
# the side of keeping files: a false keep costs a parse, a false skip costs findings.
_STEMS = (
    r"torch|tensorflow|keras|jax|flax|numpy|\bnp\.|\bnn\.|\btf\.|\bF\."
    r"|Linear|Conv|Dense|Embedding|Bilinear|RNN|LSTM|GRU|Attention|Sequential|Module|Model\b"
    r"|[Ss]igmoid|[Ss]oftmax|[Rr]elu|ReLU|[Tt]anh|GELU|gelu|SiLU|silu|swish|\belu|ELU|activation"
    r"|\binit\b|init_[a-z]|reset_parameters|[Ii]nitializer|zeros|zero_|\bones\b|ones_|[Cc]onstant|fill_|\bfull\b|full_like"
    r"|[Ll]oss|mse|MSE|mean_squared|crossentropy|cross_entropy|CrossEntropy|BCE|binary_cross|NLL|nll"
    r"|Parameter|Variable|randn|\brand\b|[Nn]ormal|[Uu]niform|xavier|kaiming|[Gg]lorot|He[NU]|orthogonal|trunc"
    r"|linspace|arange|ToTensor|Normalize|Norm\b|BatchNorm|LayerNorm|GroupNorm|InstanceNorm|Normalization"
    r"|matmul|einsum|\bmm\b|bmm|multiply|square|cdist|cosine"
)
# Plus every name of the analysis's tables that no stem above matches (frameworks/tables.py),
# but for plain words that mean a framework thing only as a Keras argument
# (`activation="linear"`), where the stem `activation` already keeps the file.
IN_CONTEXT_ONLY = frozenset({"linear", "exponential"})
_MISSED = sorted(n for n in PREFILTER_NAMES - IN_CONTEXT_ONLY if re.search(_STEMS, n) is None)
MODEL_CODE = re.compile(_STEMS + (r"|\b(?:" + "|".join(map(re.escape, _MISSED)) + r")\b" if _MISSED else ""))


def looks_like_model_code(text: str) -> bool:
    """Whether the text mentions any deep-learning token a rule reads (the one regex over source)."""
    return MODEL_CODE.search(text) is not None
