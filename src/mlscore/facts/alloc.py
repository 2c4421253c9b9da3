"""Parsing without the cyclic garbage collector's pauses.

Parsing a 2 MB YAML manifest or a large Python module allocates hundreds of thousands of small objects (YAML
nodes and marks, AST nodes) none of which form reference cycles. CPython's cyclic collector runs every 700
allocations and, as the objects survive, re-scans the older generations: on a large document that costs twice the
parse itself. ``gc_paused()`` turns the collector off for the duration of one parse (reference counting still frees
everything as usual) and back on afterwards, also when the parse raises or a time budget interrupts it.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["gc_paused"]


@contextmanager
def gc_paused() -> Iterator[None]:
    """Disable the cyclic garbage collector inside the block (nested blocks are fine)."""
    was_enabled = gc.isenabled()
    if was_enabled:
        gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
