"""Node positions of one parsed module, resolved once and only when asked for."""

from __future__ import annotations

from typing import Any, Optional, Sequence

import libcst as cst

from initlint.diagnostics import Span


class Positions:
    """Node positions of one module, computed at most once and only when asked for.

    libcst's PositionProvider re-generates the whole file (about two parses'
    worth of work), so files without findings or exports never pay for it.
    """

    def __init__(self, module: cst.Module) -> None:
        self.module = module
        self._positions: Optional[Any] = None

    def span(self, node: cst.CSTNode) -> Span:
        if self._positions is None:
            # Imported here: libcst.metadata costs ~20 ms to import, and most files never need it.
            from libcst.metadata import MetadataWrapper, PositionProvider

            self._positions = MetadataWrapper(self.module, unsafe_skip_copy=True).resolve(PositionProvider)
        pos = self._positions.get(node)
        if pos is None:  # a node outside this module (should not happen); point at the top
            return Span(1, 1, 1, 1)
        return Span(pos.start.line, pos.start.column + 1, pos.end.line, pos.end.column + 1)

    def spans(self, nodes: Sequence[cst.CSTNode]) -> list[Span]:
        return [self.span(node) for node in nodes]
