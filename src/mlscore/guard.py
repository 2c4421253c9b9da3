"""Fault isolation and time budgets for the parts of an audit that read untrusted text.

The audited tree may come from a stranger's pull request. One extractor or detector that raises, or that runs
too long on a crafted file, must cost only its own result, never the whole audit. Two pieces:

- ``run(fn, seconds=...)`` calls ``fn()`` and returns a :class:`Guarded` with its value, or the exception it
  raised, or ``overrun=True`` when it ran past its budget. On the main thread of a POSIX process the budget is
  enforced with ``signal.setitimer(ITIMER_REAL)``: the SIGALRM handler raises a private ``BaseException`` inside
  ``fn`` (so the ``except Exception`` blocks of extractors cannot swallow it), and the previous handler and
  timer are restored afterwards (pytest-timeout's, for example). CPython runs signal handlers between bytecodes
  and its regular-expression engine checks for signals while it backtracks, so pure-Python work and a
  catastrophic ``re`` match are both interrupted. Elsewhere (another thread, Windows) the budget is
  cooperative: long loops call :func:`check`, which raises the same exception once the deadline has passed.
- ``failure(extractor, path, exc)``: the one wording of "this extractor failed on this file" diagnostics.

Budgets nest: an inner budget never extends an outer one, and when the outer one runs out first its own guard
gets the exception. Nothing here imports more than the standard library, so ``mlscore --version`` stays light.
"""

from __future__ import annotations

import math
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Generic, TypeVar

from mlscore.models import Diagnostic

#: Default seconds one detector may run (``detector_budget`` in a ``--config`` file; 0 turns the limit off).
DEFAULT_DETECTOR_SECONDS = 10.0
#: Default seconds one structured extractor may run (``extractor_budget``; 0 turns the limit off).
DEFAULT_EXTRACTOR_SECONDS = 20.0
#: Default seconds the extractors and detectors of one audit may run in all (``audit_budget``; 0: no limit).
#: Past it, what has not finished stops and what has not started is not run; both are reported incomplete.
DEFAULT_AUDIT_SECONDS = 60.0

T = TypeVar("T")

#: How soon the handler fires again when the code it interrupted swallowed the exception (a bare ``except:``).
_REFIRE_SECONDS = 0.05


class _Overrun(BaseException):
    """Raised inside guarded code when its budget has run out; only the guard that owns ``frame`` catches it."""

    def __init__(self, frame: _Frame) -> None:
        super().__init__("time budget exhausted")
        self.frame = frame


class _Frame:
    __slots__ = ("active", "deadline", "signal")

    def __init__(self, deadline: float, use_signal: bool) -> None:
        self.deadline = deadline
        self.active = True
        self.signal = use_signal


@dataclass
class Guarded(Generic[T]):
    """What a guarded call did: its value, or the exception it raised, or that it ran out of time."""

    value: T | None = None
    error: BaseException | None = None
    overrun: bool = False
    seconds: float = 0.0
    budget: float | None = None
    #: the budget was cut short by the enclosing :func:`ceiling` (the audit's own budget)
    capped: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None and not self.overrun

    @property
    def late(self) -> bool:
        """It finished, but after its budget (code the timer could not interrupt, or a cooperative budget)."""
        return self.ok and self.budget is not None and self.seconds > self.budget

    @property
    def error_class(self) -> str | None:
        return type(self.error).__name__ if self.error is not None else None

    def reason(self) -> str:
        """A short phrase for reports: 'failed: TypeError', 'stopped after its 10 s time budget'."""
        if self.overrun and self.capped:
            return "stopped: the audit's time budget ran out" if self.seconds > 0.001 else (
                "not run: the audit's time budget ran out")
        if self.overrun:
            return f"stopped after its {fmt_seconds(self.budget)} time budget"
        if self.error is not None:
            return f"failed: {self.error_class}"
        return "finished"


class _State(threading.local):
    def __init__(self) -> None:
        self.stack: list[_Frame] = []
        self.ceiling: float | None = None  # monotonic deadline no budget of this thread may pass


_state = _State()
# the handler and timer found when the main thread's first signal frame was pushed: (handler, deadline or None)
_saved: tuple[Any, float | None] | None = None


def fmt_seconds(seconds: float | None) -> str:
    if seconds is None:
        return "unlimited"
    return f"{seconds:g} s"


def interrupts() -> bool:
    """Whether budgets here are enforced by a timer (main thread, POSIX) rather than cooperatively."""
    return hasattr(signal, "setitimer") and hasattr(signal, "SIGALRM") and (
        threading.current_thread() is threading.main_thread())


def check() -> None:
    """Cooperative budget check for long loops: raise the guard's exception once a deadline has passed."""
    stack = _state.stack
    if not stack:
        return
    now = time.monotonic()
    for frame in stack:
        if frame.active and frame.deadline <= now:
            raise _Overrun(frame)


def remaining() -> float | None:
    """Seconds left of the innermost active budget of this thread (None: unlimited)."""
    now = time.monotonic()
    left = [f.deadline - now for f in _state.stack if f.active]
    return max(0.0, min(left)) if left else None


def _arm() -> None:
    """Point the process timer at the earliest active deadline (ours, or the one we displaced)."""
    now = time.monotonic()
    # suspended (shielded) budgets have an infinite deadline: no timer for them
    deadlines = [f.deadline for f in _state.stack if f.active and f.signal and math.isfinite(f.deadline)]
    if _saved is not None and _saved[1] is not None:
        deadlines.append(_saved[1])
    if deadlines:
        signal.setitimer(signal.ITIMER_REAL, max(min(deadlines) - now, 1e-4))
    else:
        signal.setitimer(signal.ITIMER_REAL, 0)


def _handler(signum: int, frame: Any) -> None:
    global _saved
    now = time.monotonic()
    for f in _state.stack:  # outermost first: unwinding the outer one unwinds the inner ones too
        if f.active and f.signal and f.deadline <= now:
            signal.setitimer(signal.ITIMER_REAL, _REFIRE_SECONDS)  # again soon if a bare `except:` eats it
            raise _Overrun(f)
    if _saved is not None and _saved[1] is not None and _saved[1] <= now:
        previous = _saved[0]
        _saved = (previous, None)
        _arm()
        if callable(previous):
            previous(signum, frame)
        return
    _arm()  # woke early (timer granularity): wait for the real deadline


def _push(seconds: float) -> _Frame:
    global _saved
    use_signal = interrupts()
    stack = _state.stack
    frame = _Frame(time.monotonic() + seconds, use_signal)
    if use_signal and not any(f.signal for f in stack):
        delay, _interval = signal.setitimer(signal.ITIMER_REAL, 0)
        previous = signal.signal(signal.SIGALRM, _handler)
        _saved = (previous, time.monotonic() + delay if delay > 0 else None)
    stack.append(frame)
    if use_signal:
        _arm()
    return frame


def _pop(frame: _Frame) -> None:
    global _saved
    frame.active = False
    stack = _state.stack
    for index, item in enumerate(stack):
        if item is frame:
            del stack[index:]  # with any frame an interrupted inner guard left behind
            break
    if not frame.signal:
        return
    if any(f.signal for f in stack):
        _arm()
        return
    signal.setitimer(signal.ITIMER_REAL, 0)
    previous, deadline = _saved if _saved is not None else (signal.SIG_DFL, None)
    _saved = None
    signal.signal(signal.SIGALRM, previous if previous is not None else signal.SIG_DFL)
    if deadline is not None:
        signal.setitimer(signal.ITIMER_REAL, max(deadline - time.monotonic(), 1e-4))


class Unavailable(Exception):
    """Shared facts that could not be computed (an earlier attempt failed or ran out of time)."""


class ceiling:  # used like a function: `with guard.ceiling(120): ...`
    """Within the block, no :func:`run` of this thread gets more than what is left of ``seconds`` (None or 0: no
    ceiling): the total budget of an audit. A run that starts after it has passed is not run (``capped``)."""

    def __init__(self, seconds: float | None) -> None:
        self.seconds = seconds
        self._previous: float | None = None

    def __enter__(self) -> ceiling:  # noqa: PYI034 - final class
        self._previous = _state.ceiling
        if self.seconds is not None and self.seconds > 0 and math.isfinite(self.seconds):
            mine = time.monotonic() + self.seconds
            _state.ceiling = mine if self._previous is None else min(mine, self._previous)
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        _state.ceiling = self._previous


def run(fn: Callable[[], T], *, seconds: float | None, shield: bool = False) -> Guarded[T]:
    """Call ``fn()`` under a time budget (None or 0: no limit) and catch what it raises.

    An ``Exception`` becomes ``error``; running past the budget becomes ``overrun``. A budget of an enclosing
    guard that runs out first is not caught here: it propagates to its own guard. With ``shield`` (which needs a
    budget of its own) the enclosing budgets are suspended while ``fn`` runs: work shared by several detectors is
    not charged to whichever detector happens to ask for it first.
    """
    limited = seconds is not None and seconds > 0 and math.isfinite(seconds)
    result: Guarded[T] = Guarded(budget=seconds if limited else None)
    started = time.monotonic()
    if _state.ceiling is not None:
        left = _state.ceiling - started
        if left <= 0:
            result.overrun = result.capped = True
            return result
        if not limited or left < seconds:  # type: ignore[operator]
            seconds, limited, result.capped = left, True, True
    suspended: list[tuple[_Frame, float]] = []
    if shield and limited:
        suspended = [(f, f.deadline - started) for f in _state.stack if f.active]
        for f, _left in suspended:
            f.deadline = math.inf
    frame = _push(float(seconds)) if limited else None  # type: ignore[arg-type]
    try:
        try:
            result.value = fn()
        finally:
            if frame is not None:
                frame.active = False
    except _Overrun as exc:
        if exc.frame is not frame:
            raise
        result.overrun = True
    except Exception as exc:  # noqa: BLE001 - isolating the failure is the point
        result.error = exc
    finally:
        if suspended:  # before the pop, which re-arms the timer for what is left
            now = time.monotonic()
            for f, left in suspended:
                f.deadline = now + left
        if frame is not None:
            _pop(frame)
        result.seconds = time.monotonic() - started
    return result


#: Seconds one file may take inside an extractor's loop (within the extractor's own budget): past it, that file's
#: facts are dropped with a diagnostic and the loop goes on to the next file.
FILE_SECONDS = 5.0


class limit:  # used like a function: `with guard.limit(5) as lim:`
    """Context manager form of :func:`run` for a loop body: ``with guard.limit(seconds) as lim: ...`` (default
    :data:`FILE_SECONDS`, 0 for none). On overrun the body is abandoned, the exception is suppressed and
    ``lim.overrun`` is True; other exceptions pass through (the caller's ``except`` handles them)."""

    def __init__(self, seconds: float | None = None) -> None:
        self.seconds = FILE_SECONDS if seconds is None else seconds  # 0: no limit
        self.overrun = False
        self._frame: _Frame | None = None

    def __enter__(self) -> limit:  # noqa: PYI034 - final class
        if self.seconds is not None and self.seconds > 0 and math.isfinite(self.seconds):
            self._frame = _push(float(self.seconds))
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> bool:
        frame = self._frame
        if frame is None:
            return False
        frame.active = False
        try:
            if isinstance(exc, _Overrun) and exc.frame is frame:
                self.overrun = True
                return True
            return False
        finally:
            _pop(frame)


def extract(name: str, fn: Callable[[list[Any]], T], items: list[Any], *, seconds: float | None,
            diagnostics: list[Diagnostic], empty: Callable[[], T],
            where: Callable[[Any], str | None] = lambda item: item) -> tuple[T, str | None]:
    """Run the extractor ``fn(items)`` isolated and under a budget; returns (facts, None) or (partial facts, why).

    When ``fn`` raises, each item is tried alone (within one more budget) to find the ones it fails on; they
    become diagnostics naming ``where(item)`` and the extractor runs again without them, so every other file's
    facts stand. When it runs out of time, or the failure cannot be pinned on items, the extractor's facts are
    ``empty()`` and the reason is returned, so the results that read them can be marked incomplete.
    """
    first = run(lambda: fn(items), seconds=seconds)
    if first.ok:
        if first.late:
            diagnostics.append(Diagnostic(message=f"facts: {name} extractor took {first.seconds:.1f} s, over its "
                                                  f"{fmt_seconds(seconds)} time budget"))
        return first.value, None  # type: ignore[return-value]
    if first.overrun:
        reason = f"the {name} extractor {first.reason()}"
        diagnostics.append(Diagnostic(message=f"facts: {reason}; its facts are missing", severity="error"))
        return empty(), reason
    bad: list[tuple[Any, BaseException]] = []

    def pin() -> None:
        for item in items:
            alone = run(lambda item=item: fn([item]), seconds=None)
            if alone.error is not None:
                bad.append((item, alone.error))

    if len(items) == 1:
        bad.append((items[0], first.error))  # type: ignore[arg-type]
        search: Guarded[None] = Guarded()
    else:
        search = run(pin, seconds=seconds)
    if search.ok and bad and (len(bad) < len(items) or len(items) == 1):  # all of them: the extractor itself
        culprits = {id(item) for item, _exc in bad}
        rest = [item for item in items if id(item) not in culprits]
        again = run(lambda: fn(rest), seconds=seconds) if rest else Guarded(value=empty())
        if again.ok:
            diagnostics.extend(failure(name, where(item), exc) for item, exc in bad)
            return again.value, None  # type: ignore[return-value]
    diagnostics.append(failure(name, None, first.error or "error"))
    return empty(), f"the {name} extractor failed: {first.error_class}"


def stopped(extractor: str, path: str, seconds: float | None) -> Diagnostic:
    """The diagnostic of an extractor that gave up on one file after its per-file budget."""
    return Diagnostic(path=path, message=f"facts: {extractor} extractor stopped on {path} after its "
                                         f"{fmt_seconds(seconds)} per-file time budget; that file's facts are missing")


def failure(extractor: str, path: str | None, exc: BaseException | str) -> Diagnostic:
    """The diagnostic of an extractor that failed on one file (or as a whole, without ``path``)."""
    what = exc if isinstance(exc, str) else type(exc).__name__
    where = f" on {path}" if path else ""
    return Diagnostic(path=path, message=f"facts: {extractor} extractor failed{where}: {what}",
                      severity="warning" if path else "error")
