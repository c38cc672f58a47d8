"""libcst's parser, made safe and cheaper: one guarded parse of a text into a tree.

Safe: a text whose nesting would crash libcst's native parser (it overflows the C stack
and kills the process) is measured by CPython's parser first and refused, and every parse
runs on one thread with a deep stack. Cheaper: the nodes libcst's parser builds are not
validated again and get lean constructors. parse.py turns a refusal into IL001 for a
checked file; facts/modules.py reads imported project modules with the same parse.
"""

from __future__ import annotations

import ast
import dataclasses
import os
import queue
import re
import threading
import types
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, NamedTuple, Optional, Union

import libcst as cst
from libcst import CSTNode

# libcst's parse time grows steeply with the depth of an expression (1,000 chained
# subscripts take ~1.5 s, 3,000 more than a minute) and long chains of `not`, `lambda`,
# attributes or operators crash it; CPython parses them in milliseconds.
MAX_TREE_DEPTH = 1_000
LONG_LINE = 2_000  # chars; real code stays far below, a chain deep enough to matter does not


def _deeper_than(tree: ast.AST, limit: int) -> Optional[ast.AST]:
    """The first node found deeper than `limit` in CPython's tree, if any (iteratively: the
    tree may be deeper than Python's recursion limit)."""
    stack: list[tuple[ast.AST, int]] = [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return node
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    return None


def _cpython_error(text: str) -> Union[tuple[str, int, int, bool], None]:
    """CPython's own verdict, which users know from tracebacks: None when it parses, else
    (message, line, column, too_deep). CPython's parser refuses deep nesting cleanly where
    libcst's native parser overflows the C stack and kills the process, so libcst never sees
    a file CPython finds too deep (measured: 3,000 nested parentheses or 10,000 unary minus
    signs crash libcst 1.x; CPython reports them)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = ast.parse(text)
    except SyntaxError as exc:
        too_deep = "too many" in exc.msg or "too deeply" in exc.msg
        return exc.msg, exc.lineno or 1, exc.offset or 1, too_deep
    except (RecursionError, MemoryError):
        return "code is nested too deeply to analyse", 1, 1, True
    except ValueError as exc:  # null bytes; source.py reports binary files before this
        return str(exc), 1, 1, True
    deepest = _deeper_than(tree, MAX_TREE_DEPTH)
    if deepest is not None:
        line, column = getattr(deepest, "lineno", 1), getattr(deepest, "col_offset", 0) + 1
        return f"code is nested too deeply to analyse (more than {MAX_TREE_DEPTH} levels)", line, column, True
    return None


# Node construction is most of a parse: libcst's native parser calls each node class's
# dataclass `__init__`, which stores every field through the generic `object.__setattr__`
# (the classes are frozen) and then runs `__post_init__` -> `_validate()`.
_PARSE_LOCK = threading.Lock()  # the swap below is process-wide; the language server parses in threads
_lean_inits: Optional[list[tuple[type, Callable[..., None], Callable[..., None]]]] = None
# Generating the lean constructors costs ~15 ms, the parse of ~400 lines: a process that parses
# one small file (a pre-commit hook on one file) does without them.
_files_parsed = 0
LEAN_INITS_MIN_CHARS = 40_000


@contextmanager
def _parser_built_nodes(text_length: int) -> Iterator[None]:
    """Build the nodes of libcst's own parser without re-validating them, and cheaply.

    Every node's `__post_init__` runs `_validate()`, which checks invariants
    that matter for hand-built nodes; the parser's output satisfies them by
    construction, and the check costs a quarter of a parse (libcst notes this
    itself in `CSTNode.__post_init__`: "PERF: ... avoid validating the tree
    when parsing a file"). For the duration of the parse, node classes also get
    a lean `__init__` (see `_lean_init`, another ~10% of a parse). Nodes built
    outside the parse keep libcst's own constructors and are validated.
    """
    global _lean_inits, _files_parsed
    with _PARSE_LOCK:
        if _lean_inits is None and (_files_parsed or text_length >= LEAN_INITS_MIN_CHARS):
            _lean_inits = _build_lean_inits()
        _files_parsed += 1
        swapped = _lean_inits or []
        for node_class, _, lean in swapped:
            node_class.__init__ = lean  # type: ignore[misc]
        CSTNode.__post_init__ = _no_validation  # type: ignore[method-assign]
        try:
            yield
        finally:
            CSTNode.__post_init__ = _VALIDATING  # type: ignore[method-assign]
            for node_class, original, _ in swapped:
                node_class.__init__ = original  # type: ignore[misc]


_VALIDATING = CSTNode.__dict__["__post_init__"]


def _no_validation(self: CSTNode) -> None:
    return None


def _node_classes() -> Iterator[type]:
    pending = [CSTNode]
    while pending:
        for sub in pending.pop().__subclasses__():
            pending.append(sub)
            yield sub


def _build_lean_inits() -> list[tuple[type, Callable[..., None], Callable[..., None]]]:
    """(class, its own __init__, the lean one) for every node class `_lean_init` can cover."""
    out = []
    for node_class in set(_node_classes()):
        original = node_class.__dict__.get("__init__")
        if original is not None and getattr(node_class, "__post_init__", None) is _VALIDATING:
            lean = _lean_init(node_class, original)
            if lean is not None:
                out.append((node_class, original, lean))
    return out


def _lean_init(node_class: type, original: Any) -> Optional[Callable[..., None]]:
    """The dataclass `__init__` of a node class without its overhead: the same parameters in
    the same order with the same defaults, each value stored straight into its slot, no
    `__post_init__`. None when the class is not the plain slotted dataclass this assumes
    (libcst's slot-less originals of its slotted classes are among those, and unused)."""
    if not dataclasses.is_dataclass(node_class):
        return None
    fields = [f for f in dataclasses.fields(node_class) if f.init]
    code = getattr(original, "__code__", None)
    if code is None or code.co_kwonlyargcount or list(code.co_varnames[1 : code.co_argcount]) != [f.name for f in fields]:
        return None
    scope: dict[str, Any] = {"_MISSING": dataclasses.MISSING}
    params: list[str] = []
    body: list[str] = []
    for index, f in enumerate(fields):
        slot = next((k.__dict__[f.name] for k in node_class.__mro__ if f.name in k.__dict__), None)
        if type(slot) is not types.MemberDescriptorType:
            return None
        scope[f"_set{index}"] = slot.__set__
        if f.default is not dataclasses.MISSING:
            scope[f"_default{index}"] = f.default
            params.append(f"{f.name}=_default{index}")
        elif f.default_factory is not dataclasses.MISSING:
            scope[f"_factory{index}"] = f.default_factory
            params.append(f"{f.name}=_MISSING")
            body.append(f"    if {f.name} is _MISSING: {f.name} = _factory{index}()")
        else:
            params.append(f.name)
        body.append(f"    _set{index}(self, {f.name})")
    source = f"def __init__(self, {', '.join(params)}):\n" + ("\n".join(body) or "    pass")
    namespace: dict[str, Any] = {}
    exec(source, scope, namespace)
    init: Callable[..., None] = namespace["__init__"]
    init.__qualname__ = f"{node_class.__qualname__}.__init__"
    return init


# Far below the nesting that crashes libcst's native parser (about 3,000), far above real code.
SUSPICIOUS_DEPTH = 200
# Every byte but the six brackets. UTF-8 never uses an ASCII byte inside a multi-byte
# character, so the brackets left in the encoded text are exactly those of the text.
_NOT_BRACKET_BYTES = bytes(b for b in range(256) if b not in b"()[]{}")
_NOT_LAYOUT_BYTES = bytes(b for b in range(256) if b not in b"()[]{},\n")
_ONE_LINE_PAIR = re.compile(rb"\(,*\)|\[,*\]|\{,*\}")


def _longest_bracketed_span(layout: bytes) -> int:
    """The most lines in a row inside brackets with no comma between them, given only the
    file's brackets, commas and newlines: a long chain (`(y\n + y\n + y ...)`), not a long
    literal or argument list, whose items are separated by commas."""
    for _ in range(SUSPICIOUS_DEPTH):  # pairs on one line first: what is left spans lines
        peeled = _ONE_LINE_PAIR.sub(b"", layout)
        if peeled == layout:
            break
        layout = peeled
    depth = lines = longest = 0
    for byte in layout:  # about one byte per line now
        if byte == 10:
            if depth:
                lines += 1
                longest = max(longest, lines)
        elif byte == 44:
            lines = 0
        elif byte in b"([{":
            depth += 1
        elif depth:
            depth -= 1
            if not depth:
                lines = 0
    return longest


# Starts with a character class, so the regex engine can skip ahead to candidates.
_UNARY_RUN = re.compile(r"[-+~](?:\s*[-+~]){%d}" % (SUSPICIOUS_DEPTH - 1))


def _long_unary_run(text: str) -> bool:
    if text.count("-") + text.count("+") + text.count("~") < SUSPICIOUS_DEPTH:
        return False
    return _UNARY_RUN.search(text) is not None


def _could_crash_libcst(text: str) -> bool:
    """A cheap test for the nesting that overflows libcst's native parser (or makes it
    take minutes): deep brackets, long unary runs, long lines, many `not`/`lambda`/`if`.

    Only a file that fails it pays for CPython's full parse before libcst
    sees it (a full `ast.parse` of every file costs ~5% of a run). Peeling
    matched bracket pairs one level per round stops after a few rounds on
    real code.
    """
    if max(map(len, text.splitlines()), default=0) > LONG_LINE:
        return True  # a long chain fits on one line; CPython measures its depth
    if text.count("not ") + text.count("lambda") + text.count(" if ") > MAX_TREE_DEPTH:
        return True
    encoded = text.encode("utf-8", "surrogatepass")
    if _longest_bracketed_span(encoded.translate(None, _NOT_LAYOUT_BYTES)) > MAX_TREE_DEPTH:
        return True  # or over as many lines inside brackets
    brackets = encoded.translate(None, _NOT_BRACKET_BYTES)
    for _ in range(SUSPICIOUS_DEPTH):
        if not brackets:
            return _long_unary_run(text)
        peeled = brackets.replace(b"()", b"").replace(b"[]", b"").replace(b"{}", b"")
        if peeled == brackets:  # unbalanced leftovers: only a long run is a risk
            return len(brackets) > SUSPICIOUS_DEPTH or _long_unary_run(text)
        brackets = peeled
    return True


# libcst's native parser recurses on the C stack once per level of nesting. On a thread's
# default stack (8 MB) a long chain (`y or y or ...` over 10,000 lines) overflows it and kills
# the process before Python's recursion limit is reached; on this one the limit is reached
# first, as a RecursionError (reported as IL001). Only touched pages are ever committed.
PARSE_STACK_BYTES = 64 * 1024 * 1024


class _ParseThread:
    """One long-lived thread with a deep stack that runs every parse of the process.

    A fresh thread per file would map (and fault in) a new 64 MB stack each time,
    ~5% of a run. Parses are serialized by _PARSE_LOCK, so one request is in
    flight at a time. After a fork the thread does not exist in the child, so
    each process starts its own.
    """

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.requests: queue.SimpleQueue[str] = queue.SimpleQueue()
        self.results: queue.SimpleQueue[tuple[bool, Any]] = queue.SimpleQueue()
        thread = threading.Thread(target=self._serve, name="initlint-parse", daemon=True)
        previous = threading.stack_size(PARSE_STACK_BYTES)  # applies to threads started from now on
        try:
            thread.start()
        finally:
            threading.stack_size(previous)

    def _serve(self) -> None:
        while True:
            text = self.requests.get()
            try:
                self.results.put((True, cst.parse_module(text)))
            except BaseException as exc:  # noqa: BLE001 - handed to the caller as is
                self.results.put((False, exc))

    def parse(self, text: str) -> cst.Module:
        self.requests.put(text)
        ok, value = self.results.get()
        if not ok:
            raise value
        module: cst.Module = value
        return module


_parse_thread: Optional[_ParseThread] = None


def _parse_with_deep_stack(text: str) -> cst.Module:
    global _parse_thread
    if _parse_thread is None or _parse_thread.pid != os.getpid():
        _parse_thread = _ParseThread()
    return _parse_thread.parse(text)


class ParseProblem(NamedTuple):
    """Why a text does not parse, and where (1-based line and column)."""

    message: str
    line: int
    column: int


def parse_guarded(text: str) -> Union[cst.Module, ParseProblem]:
    """The tree of `text`, or why it does not parse, in CPython's words when it has them."""
    cpython = _cpython_error(text) if _could_crash_libcst(text) else None
    if cpython is not None and cpython[3]:
        msg, line, column, _ = cpython
        return ParseProblem(f"syntax error: {msg}", line, column)
    try:
        with _parser_built_nodes(len(text)):
            return _parse_with_deep_stack(text)
    except cst.ParserSyntaxError as exc:
        cpython = cpython or _cpython_error(text)
        if cpython is not None:
            msg, line, column, _ = cpython
            return ParseProblem(f"syntax error: {msg}", line, column)
        detail = str(exc.message).strip().splitlines()[0] if exc.message else "invalid syntax"
        return ParseProblem(f"syntax error: {detail}", exc.raw_line, exc.raw_column + 1)
    except RecursionError:
        return ParseProblem("code is nested too deeply to analyse", 1, 1)
    except MemoryError:
        return ParseProblem("file is too large to analyse", 1, 1)
