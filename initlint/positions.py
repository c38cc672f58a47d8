"""Node positions of one parsed module, resolved once and only when asked for.

The positions are libcst's `PositionProvider` positions (syntactic where a node
records them, whitespace-inclusive otherwise), computed without the metadata
machinery: one code-generation pass records, for every node, the indices of the
tokens where it starts and ends, and only the nodes asked for are turned into
lines and columns. The provider instead builds two position objects and splits
every token with a regex (3-6 times a plain code generation); this pass costs
about 1.5 times one.

Most files with findings have few of them, so the pass is put off further when
the source text is known (`use_source`): a node whose own code has no line
break generates the same tokens wherever it stands, so when that code occurs
once in the text, its offset there places it (microseconds instead of a pass
over the module, ~13 ms for 250 lines).
"""

from __future__ import annotations

import bisect
import functools
import inspect
import itertools
import re
from collections.abc import Sequence
from typing import Optional

import libcst as cst
from libcst._nodes.internal import CodegenState

from initlint.diagnostics import Span

# The newlines libcst counts (libcst.metadata.position_provider.NEWLINE_RE).
_NEWLINE = re.compile(r"\r\n?|\n")


class _RecordingState(CodegenState):
    """Code generation that records each node's (first token, end token) indices, by `id`
    (a node's own `__hash__` is a Python call; the module keeps every node alive).

    Mirrors libcst's PositionProvidingCodegenState: a node's syntactic range
    (`record_syntactic_position`, with the start or end of a child hoisted
    when given) wins over its whitespace-inclusive one (`before`/`after_codegen`).
    """

    __slots__ = ("ranges", "_stack", "_syntactic")

    def __init__(self, module: cst.Module) -> None:
        super().__init__(default_indent=module.default_indent, default_newline=module.default_newline)
        self.ranges: dict[int, tuple[int, int]] = {}
        self._stack: list[int] = []
        self._syntactic: list[tuple[cst.CSTNode, Optional[cst.CSTNode], Optional[cst.CSTNode], int]] = []

    def before_codegen(self, node: cst.CSTNode) -> None:
        self._stack.append(len(self.tokens))

    def after_codegen(self, node: cst.CSTNode) -> None:
        self.ranges.setdefault(id(node), (self._stack.pop(), len(self.tokens)))

    def pop_trailing_newline(self) -> None:
        # The provider counts the newline that Module drops at the end of a file without
        # one (its line and column were already advanced), so the token stays.
        pass

    def record_syntactic_position(  # type: ignore[override]
        self,
        node: cst.CSTNode,
        *,
        start_node: Optional[cst.CSTNode] = None,
        end_node: Optional[cst.CSTNode] = None,
    ) -> _RecordingState:
        # A context manager without a generator (~3x cheaper): the records nest as the
        # `with` blocks do, so one stack holds them.
        self._syntactic.append((node, start_node, end_node, len(self.tokens)))
        return self

    def __enter__(self) -> None:
        pass

    def __exit__(self, *exc: object) -> None:
        node, start_node, end_node, start = self._syntactic.pop()
        ranges = self.ranges
        ranges[id(node)] = (
            start if start_node is None else ranges[id(start_node)][0],
            len(self.tokens) if end_node is None else ranges[id(end_node)][1],
        )


@functools.cache
def _takes_context(kind: type[cst.CSTNode]) -> bool:
    """Whether a node's code depends on its parent: `Arg`, `Param`, `Annotation`, the elements...
    take a default comma, star or indicator from it (libcst passes them to `_codegen_impl`)."""
    code = kind._codegen_impl.__code__
    return code.co_argcount + code.co_kwonlyargcount > 2 or bool(code.co_flags & (inspect.CO_VARARGS | inspect.CO_VARKEYWORDS))


class Positions:
    """Node positions of one module, computed at most once and only when asked for.

    Files without findings or exports never pay for the code-generation pass.
    """

    def __init__(self, module: cst.Module) -> None:
        self.module = module
        self._ranges: Optional[dict[int, tuple[int, int]]] = None
        self._points: list[tuple[int, int]] = []  # token index -> (line, 0-based column)
        self._offsets: list[int] = []  # token index -> offset in the text
        self._line_starts: list[int] = []
        self._source: Optional[str] = None
        self._tops: dict[int, tuple[dict[int, tuple[int, int]], list[int]]] = {}  # span_in's statements

    def use_source(self, text: str) -> None:
        """The text the module was parsed from (what its code generation gives back)."""
        # A carriage return is counted per token by the provider, a BOM may not be part of
        # the generated code: both leave the positions to the full pass.
        if "\r" not in text and not text.startswith("\ufeff"):
            self._source = text  # its line starts are found only when a node is placed

    def _located(self, node: cst.CSTNode) -> Optional[Span]:
        """The span of a node found in the source by its own code, if that code is one line
        found once (a node without a line break emits no indentation: its code is the same
        alone as in the module; the same code twice leaves it to the full pass)."""
        assert self._source is not None
        if _takes_context(type(node)):
            return None
        state = _RecordingState(self.module)
        node._codegen(state)
        code = "".join(state.tokens)
        if "\n" in code or not code:
            return None
        at = self._source.find(code)
        if at < 0 or self._source.find(code, at + 1) >= 0:
            return None
        offsets = list(itertools.accumulate(map(len, state.tokens), initial=at))  # token index -> offset
        start, end = state.ranges[id(node)]
        (line, column), (end_line, end_column) = self._line_point(offsets[start]), self._line_point(offsets[end])
        return Span(line, column + 1, end_line, end_column + 1)

    def _line_point(self, offset: int) -> tuple[int, int]:
        if not self._line_starts:
            assert self._source is not None
            self._line_starts = [0, *(m.end() for m in re.finditer("\n", self._source))]
        line = bisect.bisect_right(self._line_starts, offset)
        return line, offset - self._line_starts[line - 1]

    def _resolve(self) -> dict[int, tuple[int, int]]:
        state = _RecordingState(self.module)
        self.module._codegen(state)
        tokens = state.tokens
        text = "".join(tokens)
        if "\r" in text:
            # Count as the provider does, token by token: a "\r" ending one token and a "\n"
            # starting the next are two newlines to it, one to a regex over the whole text.
            line, column = 1, 0
            points = [(1, 0)]
            for token in tokens:
                segments = _NEWLINE.split(token)
                if len(segments) == 1:
                    column += len(token)
                else:
                    line += len(segments) - 1
                    column = len(segments[-1])
                points.append((line, column))
            self._points = points
        else:
            self._offsets = [0, *itertools.accumulate(map(len, tokens))]
            self._line_starts = [0, *(m.end() for m in re.finditer("\n", text))]
        self._ranges = state.ranges
        return state.ranges

    def _point(self, index: int) -> tuple[int, int]:
        if self._points:
            return self._points[index]
        return self._line_point(self._offsets[index])

    def span_in(self, top: cst.CSTNode, node: cst.CSTNode) -> Optional[Span]:
        """The span of `node` if it lies within `top`, a statement of the module's body; None if not.

        Only that statement's code is generated (once): a top-level statement's code is the
        same alone as in the module, so its one occurrence in the source places it.
        """
        if self._ranges is None and self._source is not None:
            found = self._tops.get(id(top))
            if found is None:
                state = _RecordingState(self.module)
                top._codegen(state)
                code = "".join(state.tokens)
                at = self._source.find(code) if code else -1
                if at >= 0 and self._source.find(code, at + 1) < 0:
                    found = self._tops[id(top)] = (state.ranges, list(itertools.accumulate(map(len, state.tokens), initial=at)))
            if found is not None:
                ranges, offsets = found
                where = ranges.get(id(node))
                if where is None:
                    return None
                (line, column), (end_line, end_column) = self._line_point(offsets[where[0]]), self._line_point(offsets[where[1]])
                return Span(line, column + 1, end_line, end_column + 1)
        # No source, or the statement's code occurs twice: the whole module's pass.
        ranges_all = self._ranges if self._ranges is not None else self._resolve()
        return self.span(node) if id(node) in ranges_all else None

    def span(self, node: cst.CSTNode) -> Span:
        if self._ranges is None and self._source is not None:
            located = self._located(node)
            if located is not None:
                return located
        ranges = self._ranges if self._ranges is not None else self._resolve()
        found = ranges.get(id(node))
        if found is None:  # a node outside this module (should not happen); point at the top
            return Span(1, 1, 1, 1)
        (line, column), (end_line, end_column) = self._point(found[0]), self._point(found[1])
        return Span(line, column + 1, end_line, end_column + 1)

    def spans(self, nodes: Sequence[cst.CSTNode]) -> list[Span]:
        return [self.span(node) for node in nodes]
