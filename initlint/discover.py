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
from typing import TYPE_CHECKING, Optional, Sequence

from initlint.config import Settings
from initlint.frameworks.tables import PREFILTER_NAMES  # pure data: no libcst on the warm path

if TYPE_CHECKING:
    import pathspec

# What a folder walk collects.
CHECKED_SUFFIXES = (".py", ".ipynb")


def missing_paths(paths: Sequence[str]) -> list[str]:
    """Paths on the command line that do not exist (a dangling symlink counts as existing)."""
    return [p for p in paths if not os.path.lexists(p)]


class _Ignores:
    """The .gitignore files that apply inside one walk, deepest last."""

    def __init__(self) -> None:
        self.cache: dict[str, Optional[pathspec.GitIgnoreSpec]] = {}

    def spec(self, directory: str) -> Optional[pathspec.GitIgnoreSpec]:
        if directory not in self.cache:
            spec: Optional[pathspec.GitIgnoreSpec] = None
            try:
                with open(os.path.join(directory, ".gitignore"), encoding="utf-8", errors="replace") as handle:
                    lines = handle.read().splitlines()
            except OSError:
                pass
            else:
                import pathspec  # only where a .gitignore exists (its import is ~15 ms)

                spec = pathspec.GitIgnoreSpec.from_lines(lines)
            self.cache[directory] = spec
        return self.cache[directory]

    def ignored(self, path: str, is_dir: bool) -> bool:
        """Whether git would ignore `path` (absolute): the deepest .gitignore that decides wins."""
        decision: Optional[bool] = None
        directory = os.path.dirname(path)
        chain: list[str] = []
        while True:
            chain.append(directory)
            if _is_repo_root(directory):
                break
            parent = os.path.dirname(directory)
            if parent == directory:
                break
            directory = parent
        for base in reversed(chain):  # shallowest first; deeper files override
            spec = self.spec(base)
            if spec is None:
                continue
            relative = os.path.relpath(path, base).replace(os.sep, "/") + ("/" if is_dir else "")
            result = spec.check_file(relative)
            if result.include is not None:
                decision = result.include
        return bool(decision)


def _is_repo_root(directory: str) -> bool:
    return os.path.exists(os.path.join(directory, ".git"))


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

    def excluded(self, path: str, is_dir: bool) -> bool:
        absolute = os.path.abspath(path)
        relative = os.path.relpath(absolute, self.root).replace(os.sep, "/")
        if relative.startswith("../"):
            # Outside the project root: only unanchored patterns (names) can match.
            relative = absolute.lstrip("/").replace(os.sep, "/")
        if self.names and not self.names.isdisjoint(relative.split("/")):
            return True
        return self.spec is not None and bool(self.spec.match_file(relative + ("/" if is_dir else "")))


def is_excluded(path: str, settings: Settings) -> bool:
    """Whether `exclude`/`extend-exclude` exclude the file `path`, as when it is named on the
    command line (the language server and stdin mode ask this of the file they stand for)."""
    return _Excludes(settings).excluded(path, is_dir=False)


def discover(paths: Sequence[str], settings: Settings) -> list[str]:
    """Every file to check under `paths`, deduplicated, in sorted order. Missing paths are skipped
    (the command line reports them; see `missing_paths`)."""
    excludes = _Excludes(settings)
    ignores = _Ignores() if settings.respect_gitignore else None
    found: dict[str, str] = {}  # real path -> path as the user will see it
    for given in paths:
        if os.path.isdir(given):
            _walk(given, excludes, ignores, found)
        elif os.path.lexists(given) and not excludes.excluded(given, is_dir=False):
            found.setdefault(_identity(given), given)
    return sorted(found.values())


def _identity(path: str) -> str:
    try:
        return os.path.realpath(path)
    except (OSError, RuntimeError, ValueError):  # a symlink loop on some platforms
        return os.path.abspath(path)


def _walk(top: str, excludes: _Excludes, ignores: Optional[_Ignores], found: dict[str, str]) -> None:
    visited: set[str] = set()
    for root, dirs, files in os.walk(top, followlinks=True):
        real = _identity(root)
        if real in visited:  # a symlink loop, or a link to a folder already walked
            dirs[:] = []
            continue
        visited.add(real)
        absolute_root = os.path.abspath(root)
        kept = []
        for name in sorted(dirs):
            shown = _join(top, root, name)
            if excludes.excluded(shown, is_dir=True):
                continue
            if ignores is not None and ignores.ignored(os.path.join(absolute_root, name), is_dir=True):
                continue
            kept.append(name)
        dirs[:] = kept
        for name in sorted(files):
            if not name.endswith(CHECKED_SUFFIXES):
                continue
            shown = _join(top, root, name)
            if excludes.excluded(shown, is_dir=False):
                continue
            if ignores is not None and ignores.ignored(os.path.join(absolute_root, name), is_dir=False):
                continue
            found.setdefault(_identity(shown), shown)


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
