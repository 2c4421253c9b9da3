"""Notebook facts: code cells parsed as Python, whether they ran, and the text of their outputs."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from mlscore.facts.alloc import gc_paused
from mlscore.facts.python import PyFacts, parse_python

MAX_OUTPUT_CHARS = 20_000


@dataclass
class NotebookFacts:
    path: str
    cells: int = 0
    code_cells: int = 0
    executed_cells: int = 0
    cells_with_outputs: int = 0
    output_text: list[tuple[int, str]] = field(default_factory=list)  # (cell index, text/plain or stream)
    markdown: list[tuple[int, str]] = field(default_factory=list)
    code: str = ""  # the code cells joined, magics blanked; line numbers map to cells through cell_of_line
    cell_of_line: list[int] = field(default_factory=list)
    error: str | None = None
    _python: PyFacts | None = None

    @property
    def python(self) -> PyFacts | None:
        """The code cells parsed as Python (on first use: most notebooks are only searched as text)."""
        if self._python is None and self.error is None:
            py = parse_python(self.path, self.code, is_notebook=True)
            if py.error:  # one bad cell should not hide the rest: parse cell by cell
                py = _parse_cells(self.path, self.code.split("\n"), self.cell_of_line)
            py.cell_of_line = self.cell_of_line
            self._python = py
        return self._python

    @property
    def has_outputs(self) -> bool:
        return self.cells_with_outputs > 0

    def cell_of(self, line: int) -> int | None:
        if self.python is None or self.python.cell_of_line is None or line >= len(self.python.cell_of_line):
            return None
        return self.python.cell_of_line[line]


def _text(value: object) -> str:
    if isinstance(value, list):
        return "".join(str(v) for v in value)
    return value if isinstance(value, str) else ""


def parse_notebook(path: str, text: str) -> NotebookFacts:
    """Parse an .ipynb document; malformed JSON or structure becomes ``error``."""
    facts = NotebookFacts(path)
    try:
        with gc_paused():  # a notebook with outputs is a large tree of small acyclic objects
            doc = json.loads(text)
    except (ValueError, RecursionError) as exc:
        facts.error = f"not a valid notebook: {str(exc)[:120]}"
        return facts
    cells = doc.get("cells") if isinstance(doc, dict) else None
    if not isinstance(cells, list):
        # nbformat 3 keeps cells under worksheets
        sheets = doc.get("worksheets") if isinstance(doc, dict) else None
        if isinstance(sheets, list) and sheets and isinstance(sheets[0], dict):
            cells = sheets[0].get("cells")
        if not isinstance(cells, list):
            facts.error = "not a valid notebook: no cells"
            return facts
    code_lines: list[str] = []
    cell_of_line: list[int] = [0]
    budget = MAX_OUTPUT_CHARS
    for index, cell in enumerate(cells):
        if not isinstance(cell, dict):
            continue
        facts.cells += 1
        kind = cell.get("cell_type")
        source = _text(cell.get("source", cell.get("input", "")))
        if kind == "markdown":
            facts.markdown.append((index, source[:4000]))
            continue
        if kind != "code":
            continue
        facts.code_cells += 1
        if cell.get("execution_count") is not None or cell.get("prompt_number") is not None:
            facts.executed_cells += 1
        outputs = cell.get("outputs") or []
        if isinstance(outputs, list) and outputs:
            facts.cells_with_outputs += 1
            for out in outputs:
                if not isinstance(out, dict) or budget <= 0:
                    continue
                data = out.get("data") if isinstance(out.get("data"), dict) else {}
                piece = _text(out.get("text")) or _text(data.get("text/plain")) if data or out.get("text") else ""
                if piece:
                    piece = piece[:budget]
                    budget -= len(piece)
                    facts.output_text.append((index, piece))
        for line in source.splitlines() or [""]:
            stripped = line.lstrip()
            # IPython magics and shell escapes are not Python: keep line numbers, drop the content.
            code_lines.append("" if stripped.startswith(("%", "!", "?")) else line)
            cell_of_line.append(index)
        code_lines.append("")
        cell_of_line.append(index)
    facts.code = "\n".join(code_lines)
    facts.cell_of_line = cell_of_line
    return facts


def _parse_cells(path: str, code_lines: list[str], cell_of_line: list[int]) -> PyFacts:
    """Blank the cells that do not parse, so the others still yield facts at their original lines."""
    import ast

    by_cell: dict[int, list[int]] = {}
    for number in range(1, len(cell_of_line)):
        by_cell.setdefault(cell_of_line[number], []).append(number)
    lines = list(code_lines)
    with gc_paused():
        for numbers in by_cell.values():
            chunk = "\n".join(lines[n - 1] for n in numbers if n - 1 < len(lines))
            try:
                ast.parse(chunk)
            except (SyntaxError, ValueError, RecursionError, MemoryError):
                for n in numbers:
                    if n - 1 < len(lines):
                        lines[n - 1] = ""
    return parse_python(path, "\n".join(lines), is_notebook=True)
