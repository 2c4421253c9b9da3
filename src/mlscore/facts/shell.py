"""Split shell scripts (CI ``run:`` blocks, Makefile recipes, ``*.sh`` files) into simple commands, never running them.

Public API
- ``ShellCommand``: one simple command: ``text`` as written, 1-based ``line``, ``argv`` (best-effort words with
  leading ``VAR=value`` assignments removed), ``cwd`` (directory changed to by earlier ``cd`` in the same
  script, relative, POSIX; None when unchanged), ``swallowed`` and ``swallow_reason`` (G7: its failure cannot fail
  the step: ``|| true``/``|| :``/``|| echo``/``|| exit 0``, ``set +e``, not last in a pipeline without pipefail,
  backgrounded with ``&``, or not last in a script that runs without errexit); ``errexit`` (the shell's errexit
  state when it runs: a script sourced by it runs under the same options).
- ``ShellScript``: ``commands`` plus ``commented`` (comment lines that look like commands, e.g. ``# pytest``).
- ``split_script(text, *, first_line=1, errexit=True, pipefail=False, cwd=None, args=None, script_path=None)
  -> ShellScript``: the splitter (``cwd``: the directory the script starts in, e.g. a CI ``working-directory``).
  ``errexit`` and ``pipefail`` give the shell's initial options (GitHub's default bash is ``-e`` without
  pipefail; a plain ``bash x.sh`` has neither; ``set -e``/``set -o pipefail``/``set +e`` and an ERR trap that
  exits change them). ``args``: the script's positional parameters (``$1``, ``"$@"``, ``for x; do``);
  ``script_path``: its repository path, so ``$(dirname "$0")`` and ``$(cd "$(dirname "${BASH_SOURCE[0]}")" &&
  pwd)`` resolve (to ``$GITHUB_WORKSPACE/<dir>``, see ``workspace_relative``).
  Honours backslash continuations, quotes, ``$( )``, ``${{ }}`` expressions, ``&&``/``||``/``;``/``|``/``&``,
  ``#`` comments, here-docs (bodies skipped), ``${NAME:-default}`` and ``case`` patterns. Swallowing follows
  bash's errexit rules: without errexit only the status of the last command executed reaches the caller,
  except commands whose status is used (conditions, the left side of ``&&``/``||``, ``$?`` read by ``exit`` or
  by a test/assignment in a script that re-raises, the ends of the branches of the script's last statement);
  ``for`` loops over literal words are unrolled and, without errexit, every iteration but the last is
  swallowed (LABELING.md C14); ``exit 0`` at the end swallows what ran before it.
- ``words(text) -> list[str]``: shell-like word splitting that never raises (unbalanced quotes tolerated).
- ``workspace_relative(path) -> str``: strip a leading CI checkout variable (``$GITHUB_WORKSPACE``,
  ``${{ github.workspace }}``, ``$CI_PROJECT_DIR``, ``$(pwd)``...) so the path is repository-relative.
"""

from __future__ import annotations

import posixpath
import re

from pydantic import BaseModel, ConfigDict

__all__ = ["ShellCommand", "ShellScript", "is_setup_command", "split_script", "words", "workspace_relative"]


class ShellCommand(BaseModel):
    """One simple command of a shell script."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    text: str
    line: int
    argv: tuple[str, ...]
    cwd: str | None = None
    swallowed: bool = False
    swallow_reason: str | None = None
    errexit: bool | None = None


class ShellScript(BaseModel):
    """The simple commands of a script, in order, and the commented-out command lines."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    commands: tuple[ShellCommand, ...] = ()
    commented: tuple[ShellCommand, ...] = ()


MAX_SCRIPT = 500_000
_HEREDOC = re.compile(r"<<(-?)\s*(['\"]?)([A-Za-z_][A-Za-z0-9_]*)\2")
_ASSIGN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
_KEYWORDS = {"if", "then", "else", "elif", "fi", "do", "done", "while", "until", "for", "case", "esac",
             "{", "}", "(", ")", "!", "function", "in"}
_SWALLOWERS = {"true", ":", "echo", "printf", "/bin/true", "exit 0", "return 0", "cat", "logger"}
_COMMANDISH = re.compile(r"^(\./|[a-z][\w.+-]*(/[\w.+-]+)*)(\s|$)")


_PLAIN = re.compile(r"[^'\"\\$`]*")


def words(text: str) -> list[str]:
    """Split ``text`` into shell words (quotes removed, ``${{ }}`` kept whole); never raises."""
    if _PLAIN.fullmatch(text):
        return text.split()
    out: list[str] = []
    cur: list[str] = []
    has = False
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c in " \t\r\n":
            if has:
                out.append("".join(cur))
                cur, has = [], False
            i += 1
            continue
        has = True
        if c == "'":
            j = text.find("'", i + 1)
            j = n if j < 0 else j
            cur.append(text[i + 1:j])
            i = j + 1
        elif c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            cur.append(text[i + 1:min(j, n)].replace('\\"', '"'))
            i = j + 1
        elif c == "\\" and i + 1 < n:
            cur.append(text[i + 1])
            i += 2
        elif text.startswith("${{", i):
            j = text.find("}}", i)
            j = n if j < 0 else j + 2
            cur.append(re.sub(r"\s+", "", text[i:j]))
            i = j
        elif text.startswith("$(", i):
            j = _skip_parens(text, i + 1)
            cur.append(text[i:j])
            i = j
        else:
            cur.append(c)
            i += 1
    if has:
        out.append("".join(cur))
    return out


def _skip_parens(text: str, i: int) -> int:
    """Index just past the ``)`` matching the ``(`` at ``i``."""
    depth, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth == 0:
                return i + 1
        elif c in "'\"":
            j = text.find(c, i + 1)
            i = n if j < 0 else j
        i += 1
    return n


def _logical_lines(text: str, first_line: int, heredocs: dict[int, str] | None = None) -> list[tuple[int, str]]:
    """Join backslash continuations and drop here-doc bodies (kept in ``heredocs`` by line number); keep each
    logical line's first line number."""
    raw = text.replace("\r\n", "\n").split("\n")
    out: list[tuple[int, str]] = []
    i = 0
    while i < len(raw):
        start = i
        line = raw[i]
        while i + 1 < len(raw) and not line.lstrip().startswith("#") and start + 200 > i:
            if line.endswith("\\"):
                i += 1
                line = line[:-1] + " " + raw[i].strip()
            elif _open_quote(line):
                i += 1
                line = line + "\n" + raw[i]  # a quoted argument spanning lines (python -c "...")
            else:
                break
        i += 1
        out.append((first_line + start, line))
        for m in _HEREDOC.finditer(line):
            prefix = line[: m.start()]
            if prefix.count("'") % 2 or prefix.count('"') % 2:
                continue  # "<<" inside quotes
            delim, strip_tabs = m.group(3), m.group(1) == "-"
            body_lines: list[str] = []
            while i < len(raw):
                body = raw[i].lstrip("\t") if strip_tabs else raw[i]
                i += 1
                if body.strip() == delim:
                    break
                body_lines.append(body)
            if heredocs is not None:
                heredocs.setdefault(first_line + start, "\n".join(body_lines))
    return out


def _open_quote(line: str) -> bool:
    """Whether ``line`` ends inside a single- or double-quoted string (comments ignored)."""
    quote = ""
    i, n = 0, len(line)
    while i < n:
        c = line[i]
        if quote:
            if c == "\\" and quote == '"':
                i += 2
                continue
            if c == quote:
                quote = ""
        elif c in "'\"":
            quote = c
        elif c == "\\":
            i += 2
            continue
        elif c == "#" and (i == 0 or line[i - 1] in " \t;&|("):
            return False
        i += 1
    return bool(quote)


_SIMPLE_LINE = re.compile(r"[^'\"\\$`#&|;()<>]*")


def _segments(line: str) -> tuple[list[tuple[str, str]], str | None]:
    """Split one logical line into (command text, following operator) pairs; also return a trailing comment."""
    if _SIMPLE_LINE.fullmatch(line):
        return [(line, "")], None
    segs: list[tuple[str, str]] = []
    cur: list[str] = []
    i, n = 0, len(line)
    comment: str | None = None
    while i < n:
        c = line[i]
        if c in "'\"":
            j = i + 1
            while j < n and line[j] != c:
                j += 2 if (line[j] == "\\" and c == '"') else 1
            cur.append(line[i:j + 1])
            i = j + 1
            continue
        if c == "\\" and i + 1 < n:
            cur.append(line[i:i + 2])
            i += 2
            continue
        if line.startswith("${{", i):
            j = line.find("}}", i)
            j = n if j < 0 else j + 2
            cur.append(line[i:j])
            i = j
            continue
        if line.startswith("$(", i) or line.startswith("<(", i) or line.startswith(">(", i):
            j = _skip_parens(line, i + 1)
            cur.append(line[i:j])
            i = j
            continue
        if c == "`":
            j = line.find("`", i + 1)
            j = n if j < 0 else j
            cur.append(line[i:j + 1])
            i = j + 1
            continue
        if c == "#" and (i == 0 or line[i - 1] in " \t;&|("):
            comment = line[i + 1:].strip()
            break
        two = line[i:i + 2]
        if two in ("&&", "||"):
            segs.append(("".join(cur), two))
            cur = []
            i += 2
            continue
        if c == "|" and two != "|&":
            segs.append(("".join(cur), "|"))
            cur = []
            i += 1
            continue
        if two == ";;":
            segs.append(("".join(cur), ";;"))  # the end of a case branch
            cur = []
            i += 2
            continue
        if c == ";":
            segs.append(("".join(cur), ";"))
            cur = []
            i += 1
            continue
        if c == "&" and two != "&>" and (i == 0 or line[i - 1] not in "<>"):
            segs.append(("".join(cur), "&"))
            cur = []
            i += 1
            continue
        cur.append(c)
        i += 1
    segs.append(("".join(cur), ""))
    return segs, comment


def _norm_dir(path: str | None) -> str | None:
    if not path:
        return None
    path = posixpath.normpath(path.replace("\\", "/"))
    return None if path in (".", "") else path


_VAR = re.compile(r"\$(?:\{([A-Za-z_]\w*|[0-9#])\}|([A-Za-z_]\w*|[0-9#]))")
_VAR_DEFAULT = re.compile(r"\$\{([A-Za-z_]\w*|[0-9])(:?)[-=]([^{}$`\"']*)\}")


def _expand(word: str, env: dict[str, str]) -> str:
    """Substitute ``$NAME``/``${NAME}``/``$1`` assigned earlier in the same script (or given as arguments), and
    ``${NAME:-default}`` (the default when NAME is unknown or empty); others stay as written."""
    if "$" not in word:
        return word
    if "${" in word:
        def default(m: re.Match[str]) -> str:
            value = env.get(m.group(1))
            if value is None or (m.group(2) and value == ""):
                return m.group(3)
            return value

        word = _VAR_DEFAULT.sub(default, word)
    return _VAR.sub(lambda m: env.get(m.group(1) or m.group(2), m.group(0)), word)


_WORKSPACE = re.compile(
    r"^(\$\{\{\s*github\.workspace\s*\}\}|\$\{\{github\.workspace\}\}|\$\{?(GITHUB_WORKSPACE|CI_PROJECT_DIR|"
    r"WORKSPACE|BITBUCKET_CLONE_DIR|CIRCLE_WORKING_DIRECTORY|TRAVIS_BUILD_DIR|PWD|BUILD_SOURCESDIRECTORY|"
    r"SYSTEM_DEFAULTWORKINGDIRECTORY|CODEBUILD_SRC_DIR)\}?|\$\((Build\.SourcesDirectory|"
    r"System\.DefaultWorkingDirectory|pwd)\)|`pwd`)(/|$)")


def workspace_relative(path: str) -> str:
    """``$GITHUB_WORKSPACE/ml``, ``${{ github.workspace }}/ml``, ``$CI_PROJECT_DIR/ml``, ``$(pwd)/ml`` -> ``ml``
    (the checkout root is the repository root); other paths unchanged."""
    m = _WORKSPACE.match(path)
    return path[m.end():] if m else path


def _strip_keywords(argv: list[str]) -> list[str]:
    while argv:
        head = argv[0]
        if head in _KEYWORDS or head.endswith("()"):
            argv = argv[1:]
        elif head.startswith(("!(", "(", "{")) and len(head) > 1 and not head.startswith("${"):
            argv = [head.lstrip("!({"), *argv[1:]]
        else:
            break
    while argv and argv[-1] in (")", "}", "))"):
        argv = argv[:-1]
    if argv and argv[-1].endswith(")") and argv[-1].count(")") > argv[-1].count("("):
        argv = [*argv[:-1], argv[-1][:-1]]
    return argv


_RERAISE = re.compile(r"\bexit\s+([1-9]|\$|[\"']\$)|\bfalse\b|\breturn\s+[1-9]")


_REDIRECT = re.compile(r"^(\d*|&)(>>?|<<?<?|>&|<&)(&?\d*|-)?$")
_REDIRECT_GLUED = re.compile(r"^(\d*|&)(>>?|<|>&|<&)\S+$")


def _strip_redirects(argv: list[str]) -> list[str]:
    out: list[str] = []
    skip = False
    for w in argv:
        if skip:
            skip = False
            continue
        if _REDIRECT.match(w):
            skip = not re.search(r"&\d*$|-$", w)
            continue
        if _REDIRECT_GLUED.match(w):
            continue
        out.append(w)
    return out


def _is_swallower(argv: list[str]) -> bool:
    if not argv:
        return False
    head = argv[0]
    if head in _SWALLOWERS and head not in ("exit", "return"):
        return True
    return head in ("exit", "return") and len(argv) > 1 and argv[1] == "0"


def _set_options(argv: list[str], errexit: bool, pipefail: bool) -> tuple[bool, bool]:
    args = argv[1:]
    k = 0
    while k < len(args):
        a = args[k]
        if a in ("-o", "+o") and k + 1 < len(args):
            name, on = args[k + 1], a == "-o"
            if name == "errexit":
                errexit = on
            elif name == "pipefail":
                pipefail = on
            k += 2
            continue
        if re.fullmatch(r"[-+][a-zA-Z]+", a):
            on = a[0] == "-"
            if "e" in a:
                errexit = on
            if a.endswith("o") and k + 1 < len(args) and args[k + 1] == "pipefail":
                pipefail = on
                k += 1
        k += 1
    return errexit, pipefail


_LOOP_MAX_ITEMS = 20
_LOOP_MAX_COMMANDS = 400
_NOT_LITERAL = re.compile(r"[*?\[`{]|\$")
_NO_ERREXIT = "errexit off (set +e or shell without -e) and not the last command"
_LOOP_NO_ERREXIT = "in a loop without errexit: only the last iteration's status reaches the caller"
_STATUS_READERS = ("exit", "return")
_ECHOES = ("echo", "printf", "logger")

# ``$(dirname "$0")``, ``$(dirname "${BASH_SOURCE[0]}")``, ``$(dirname "$(realpath "$0")")``, `` `dirname $0` ``
_SELF = r"(?:\$0|\$\{0\}|\$\{?BASH_SOURCE(?:\[0\])?\}?)"
_SCRIPT_DIR_INNER = re.compile(
    r"\$\(\s*dirname\s+(?:--\s+)?\"?(?:\$\(\s*(?:realpath|readlink\s+-[fe])\s+(?:--\s+)?\"?" + _SELF
    + r"\"?\s*\)|" + _SELF + r")\"?\s*\)|`\s*dirname\s+\"?" + _SELF + r"\"?\s*`")
# ``$(cd "$(dirname "$0")/.." && pwd)``, ``$(realpath "$(dirname "$0")")``
_SCRIPT_DIR_OUTER = re.compile(
    r"\$\(\s*(?:cd\s+(?:-P\s+)?(?:--\s+)?\"?@SCRIPT_DIR@([^\"()\s;&|]*)\"?\s*(?:&?>\s*/dev/null\s*(?:2>&1\s*)?)?"
    r"&&\s*pwd(?:\s+-P)?|(?:realpath|readlink\s+-[fe])\s+\"?@SCRIPT_DIR@([^\"()\s;&|]*)\"?)\s*\)")


def _substitute_script_dir(text: str, script_path: str) -> str:
    """Replace ``$(dirname "$0")``-style expressions by the script's directory as ``$GITHUB_WORKSPACE/<dir>``,
    which every consumer reads as repository-relative (see ``workspace_relative``)."""
    if "dirname" not in text:
        return text
    out = _SCRIPT_DIR_INNER.sub("@SCRIPT_DIR@", text)
    if out == text:
        return text
    out = _SCRIPT_DIR_OUTER.sub(lambda m: "@SCRIPT_DIR@" + (m.group(1) or m.group(2) or ""), out)
    d = posixpath.dirname(script_path.replace("\\", "/")).strip("/")
    return out.replace("@SCRIPT_DIR@", "$GITHUB_WORKSPACE" + ("/" + d if d else ""))


class _Raw:
    """A simple command as first recorded, before the final swallow decision."""

    __slots__ = (
        "argv",
        "branch_end",
        "cwd",
        "errexit",
        "exempt",
        "line",
        "nonfinal",
        "pseudo",
        "reason",
        "stmt",
        "text",
    )

    def __init__(self, text: str, line: int, argv: list[str], cwd: str | None, reason: str | None, errexit: bool,
                 stmt: int) -> None:
        self.text, self.line, self.argv, self.cwd, self.reason = text, line, argv, cwd, reason
        self.errexit, self.stmt = errexit, stmt
        self.exempt = self.branch_end = self.nonfinal = self.pseudo = False

    def copy_for(self, var: str, value: str, nonfinal: bool) -> _Raw:
        rx = re.compile(r"\$(?:\{" + re.escape(var) + r"\}|" + re.escape(var) + r"(?!\w))")
        new = _Raw(rx.sub(lambda _m: value, self.text), self.line, [rx.sub(lambda _m: value, a) for a in self.argv],
                   self.cwd, self.reason, self.errexit, self.stmt)
        new.exempt, new.branch_end, new.pseudo = self.exempt, self.branch_end, self.pseudo
        new.nonfinal = self.nonfinal or nonfinal
        return new


class _Frame:
    """An open compound command: ``if``/``case``/``{`` or a loop (``for`` with its items when they are literal)."""

    __slots__ = ("cond", "items", "kind", "start", "var")

    def __init__(self, kind: str, cond: bool = False, var: str | None = None, items: list[str] | None = None,
                 start: int = 0) -> None:
        self.kind, self.cond, self.var, self.items, self.start = kind, cond, var, items, start


def _splice_positional(argv: list[str], positional: list[str] | None) -> list[str]:
    if positional is None or not any(a in ("$@", "$*", "${@}", "${*}") for a in argv):
        return argv
    out: list[str] = []
    for a in argv:
        if a in ("$@", "$*", "${@}", "${*}"):
            out.extend(positional)
        else:
            out.append(a)
    return out


def split_script(
    text: str, *, first_line: int = 1, errexit: bool = True, pipefail: bool = False, cwd: str | None = None,
    args: list[str] | tuple[str, ...] | None = None, script_path: str | None = None,
) -> ShellScript:
    """Split a shell script into simple commands with swallowing marked; see the module docstring."""
    if len(text) > MAX_SCRIPT:
        text = text[:MAX_SCRIPT]  # bounded work on hostile input
    if script_path is not None:
        text = _substitute_script_dir(text, script_path)
    commented: list[ShellCommand] = []
    raw: list[_Raw] = []
    env: dict[str, str] = {}
    positional: list[str] | None = None
    if args is not None:
        positional = [str(a) for a in args]
        for k, a in enumerate(positional[:9], start=1):
            env[str(k)] = a
        env["#"] = str(len(positional))
    reraises = bool(_RERAISE.search(text))
    cwd = _norm_dir(cwd)
    heredocs: dict[int, str] = {}
    stack: list[_Frame] = []
    stmt = 0
    prev_op = ""

    def mark_branch_end() -> None:
        if raw:
            raw[-1].branch_end = True

    def close_loop() -> None:
        frame = stack.pop()
        if frame.kind != "for" or frame.items is None or frame.var is None:
            return
        body = raw[frame.start:]
        if not body or not frame.items or len(body) * len(frame.items) > _LOOP_MAX_COMMANDS:
            return
        expanded = [r.copy_for(frame.var, item, nonfinal=n < len(frame.items) - 1)
                    for n, item in enumerate(frame.items) for r in body]
        del raw[frame.start:]
        raw.extend(expanded)

    for lineno, line in _logical_lines(text, first_line, heredocs):
        stripped = line.strip()
        if not stripped:
            continue
        if stripped.startswith("#"):
            body = stripped.lstrip("#").strip()
            if body and not stripped.startswith("#!") and _COMMANDISH.match(body):
                commented.append(ShellCommand(text=body, line=lineno, argv=tuple(words(body))))
            continue
        segs, _comment = _segments(line)
        # group into and-or lists separated by ; & or newline
        group: list[tuple[str, str]] = []
        groups: list[list[tuple[str, str]]] = []
        for seg in segs:
            group.append(seg)
            if seg[1] in (";", "&", "", ";;"):
                groups.append(group)
                group = []
        or_tail_reraises: bool | None = None  # whether what follows the line's first || re-raises (computed once)
        for grp in groups:
            if not stack:
                stmt += 1  # a new top-level statement (a compound command is one statement until it closes)
            background = grp[-1][1] == "&"
            n = len(grp)
            next_or = [n] * (n + 1)  # index of the first "||" operator at or after each segment (linear)
            for j in range(n - 2, -1, -1):
                next_or[j] = j if grp[j][1] == "||" else next_or[j + 1]
            for idx, (seg_text, op) in enumerate(grp):
                if prev_op == ";;":
                    mark_branch_end()  # the command before `;;` ends a case branch
                prev_op = op
                first_words = words(seg_text)
                if "$?" in seg_text and raw and not raw[-1].pseudo:
                    # the previous command's status is read: by exit/return it reaches the caller; by a test or an
                    # assignment it does when the script re-raises somewhere (exit 1, exit $rc, false...)
                    head = next((w for w in first_words if w not in _KEYWORDS), "")
                    if head in _STATUS_READERS or (head not in _ECHOES and reraises):
                        raw[-1].exempt = True
                # compound-command keywords: keep the block stack (conditions, branches, loops)
                k = 0
                negated = False
                while k < len(first_words):
                    w = first_words[k]
                    if w == "if" or w in ("while", "until"):
                        stack.append(_Frame("if" if w == "if" else "loop", cond=True))
                    elif w == "elif":
                        mark_branch_end()
                        if stack and stack[-1].kind == "if":
                            stack[-1].cond = True
                    elif w == "then" or w == "do":
                        if stack:
                            stack[-1].cond = False
                    elif w == "else":
                        mark_branch_end()
                        if stack and stack[-1].kind == "if":
                            stack[-1].cond = False
                    elif w == "fi":
                        mark_branch_end()
                        if stack and stack[-1].kind == "if":
                            stack.pop()
                    elif w == "done":
                        if stack and stack[-1].kind in ("loop", "for"):
                            close_loop()
                    elif w == "esac":
                        mark_branch_end()
                        if stack and stack[-1].kind == "case":
                            stack.pop()
                    elif w == "case":
                        stack.append(_Frame("case"))
                        k = len(first_words)  # `case WORD in`: no command
                        break
                    elif w == "for":
                        var = first_words[k + 1] if k + 1 < len(first_words) else ""
                        items: list[str] | None = None
                        if re.fullmatch(r"[A-Za-z_]\w*", var):
                            rest = first_words[k + 2:]
                            if rest[:1] == ["in"]:
                                vals = _splice_positional([_expand(x, env) for x in rest[1:]], positional)
                                if all(not _NOT_LITERAL.search(x) for x in vals) and len(vals) <= _LOOP_MAX_ITEMS:
                                    items = vals
                            elif not rest and positional is not None:
                                items = positional[:_LOOP_MAX_ITEMS]
                        stack.append(_Frame("for", var=var or None, items=items, start=len(raw)))
                        k = len(first_words)  # the loop header runs no command
                        break
                    elif w == "{":
                        stack.append(_Frame("brace"))
                    elif w == "}":
                        if stack and stack[-1].kind == "brace":
                            stack.pop()
                    elif w == "!":
                        negated = True
                    elif stack and stack[-1].kind == "case" and w.endswith(")") and not w.startswith("$("):
                        pass  # a case pattern (`unit)`): the commands follow it
                    elif w not in ("in", "function", "(", ")") and not (w.startswith("{") and len(w) > 1
                                                                        and not w.startswith("${")):
                        break
                    k += 1
                if k >= len(first_words) and first_words and first_words[0] in ("case", "for"):
                    continue
                is_condition = negated or bool(stack and stack[-1].cond) or op in ("&&", "||")
                argv = _strip_redirects(_strip_keywords(first_words[k:]))
                if argv and argv[0] in ("export", "readonly", "local", "declare") and len(argv) > 1 and _ASSIGN.match(
                        argv[-1]):
                    argv = [a for a in argv[1:] if not a.startswith("-")]
                if argv and all(_ASSIGN.match(a) for a in argv):
                    for a in argv:  # NAME=literal: remembered for $NAME / eval "$NAME" later in the script
                        name, _, value = a.partition("=")
                        if "$(" not in value and "`" not in value:
                            env[name] = _expand(value, env)
                    continue
                while argv and _ASSIGN.match(argv[0]):
                    argv = argv[1:]
                if env and argv:
                    argv = [_expand(a, env) for a in argv]
                argv = _splice_positional(argv, positional)
                if argv and argv[0] == "eval" and len(argv) > 1:
                    argv = _strip_redirects(words(" ".join(argv[1:])))
                    if not argv:
                        continue
                if argv and argv[0] in ("exit", "return") and not is_condition and (
                        len(argv) == 1 or argv[1] == "0") and not (idx > 0 and grp[idx - 1][1] in ("&&", "||")):
                    if len(argv) > 1:  # `exit 0`: whatever ran before, the script succeeds
                        pseudo = _Raw(seg_text.strip(), lineno, argv, cwd, None, errexit, stmt)
                        pseudo.pseudo = True
                        raw.append(pseudo)
                    elif raw:  # a bare `exit` returns the previous command's status
                        raw[-1].exempt = True
                    continue
                if not argv or argv[0] in ("exit", "return", "fi", "done", "esac", "false", "true", ":", "then",
                                           "else", "do"):
                    continue
                reason: str | None = None
                if argv[0] == "set":
                    errexit, pipefail = _set_options(argv, errexit, pipefail)
                    continue
                if argv[0] == "trap" and "ERR" in argv[2:] and re.search(r"\bexit\b", argv[1] if len(argv) > 1 else ""):
                    errexit = True  # an ERR trap that exits acts like errexit
                # a later "|| swallower" in this and-or list swallows everything before it
                later = next_or[idx] if idx < n else n
                if later < n - 1:
                    alt = _strip_keywords(words(grp[later + 1][0]))
                    if _is_swallower(alt):
                        if or_tail_reraises is None:
                            or_tail_reraises = bool(_RERAISE.search(line[line.find("||") + 2:]))
                        if not or_tail_reraises:
                            reason = f"|| {' '.join(alt[:2])}".strip()
                if reason is None and op == "|" and not pipefail:
                    reason = "not last in a pipeline (no pipefail)"
                if reason is None and background:
                    reason = "run in the background (&)"
                if reason is None and idx > 0 and grp[idx - 1][1] == "||" and _is_swallower(argv):
                    continue  # the swallower itself is not a command worth recording
                if len(argv) >= 2 and argv[0] in ("cd", "pushd") and workspace_relative(argv[1]) != argv[1]:
                    cwd = _norm_dir(workspace_relative(argv[1]))  # relative to the checkout root
                    continue
                if argv[0] == "cd" and len(argv) >= 2 and not argv[1].startswith("$"):
                    target = argv[1]
                    if target.startswith(("/", "~")):
                        cwd = target
                    else:
                        cwd = posixpath.normpath(posixpath.join(cwd or ".", target))
                        cwd = None if cwd == "." else cwd
                    continue
                if argv[0] in ("pushd",) and len(argv) >= 2:
                    cwd = posixpath.normpath(posixpath.join(cwd or ".", argv[1]))
                    continue
                if lineno in heredocs and re.fullmatch(r"python[\d.]*", argv[0]) and (
                        len(argv) == 1 or argv[1] == "-"):
                    argv = [argv[0], "-c", heredocs[lineno]]  # `python - <<EOF ... EOF`: the body is the code
                entry = _Raw(seg_text.strip(), lineno, argv, cwd, reason, errexit, stmt)
                entry.exempt = is_condition
                raw.append(entry)
    if prev_op == ";;":
        mark_branch_end()
    while stack:  # unterminated compound commands: close loops so their bodies are still expanded
        if stack[-1].kind in ("loop", "for"):
            close_loop()
        else:
            stack.pop()
    return ShellScript(commands=_decide(raw), commented=tuple(commented))


def _decide(raw: list[_Raw]) -> tuple[ShellCommand, ...]:
    """Final swallow decision. Without errexit only the status of the last command executed reaches the caller,
    unless a command's status is used: a condition, the left side of && or || (it gates what follows, G7),
    read through ``$?``, or the end of a branch of the script's last statement. Commands of all but the last
    iteration of a loop never reach it (C14)."""
    last = len(raw) - 1
    last_stmt = raw[last].stmt if raw else 0
    out: list[ShellCommand] = []
    for k, r in enumerate(raw):
        if r.pseudo:
            continue
        reason = r.reason
        if reason is None and not r.errexit:
            final_branch = r.branch_end and r.stmt == last_stmt and not r.nonfinal
            if not (r.exempt or k == last or final_branch):
                reason = _LOOP_NO_ERREXIT if r.nonfinal else _NO_ERREXIT
        out.append(ShellCommand.model_construct(
            text=r.text, line=r.line, argv=tuple(r.argv), cwd=r.cwd, swallowed=reason is not None,
            swallow_reason=reason, errexit=r.errexit,
        ))
    return tuple(out)


_SETUP_HEADS = {
    "apt-get", "apt", "yum", "dnf", "apk", "brew", "choco", "mkdir", "echo", "printf", "export", "source", ".",
    "cp", "mv", "rm", "ln", "chmod", "chown", "ls", "pwd", "which", "env", "cat", "touch", "tar", "unzip",
    "wget", "curl", "sleep", "git", "nvidia-smi", "df", "du", "free", "uname", "tree", "head", "tail", "sort",
    "tee", "true", ":", "sed", "awk", "grep", "date", "whoami", "id", "hostname", "printenv", "xargs",
    "ssh-keyscan", "gpg", "ssh-agent", "ssh-add", "update-alternatives", "locale-gen", "ulimit", "[", "[[",
    "test", "shift", "read", "let", "local", "declare", "unset", "trap", "wait", "popd", "umask", "alias",
}
_INSTALL_SUBCOMMANDS = {
    "pip": {"install", "download", "freeze", "list", "show", "config", "cache", "wheel", "uninstall", "check"},
    "conda": {"install", "create", "env", "activate", "config", "update", "info", "list", "init", "clean"},
    "mamba": {"install", "create", "env", "activate", "update", "info", "list"},
    "micromamba": {"install", "create", "env", "activate", "update", "info", "list"},
    "poetry": {"install", "lock", "config", "self", "add", "show", "env", "export", "check", "version",
               "build", "update"},
    "uv": {"sync", "pip", "venv", "lock", "python", "tool", "add", "export", "self", "build", "cache"},
    "pipenv": {"install", "sync", "lock", "--venv", "graph", "requirements"},
    "pdm": {"install", "sync", "lock", "use", "venv", "add", "export", "build"},
    "npm": {"ci", "install", "i"},
    "yarn": {"install"},
    "pipx": {"install", "ensurepath"},
    "hatch": {"env", "build", "version"},
    "dvc": {"pull", "fetch", "remote", "config", "checkout", "version", "doctor", "push"},
    "docker": {"login", "pull", "push", "tag", "images", "ps", "logout", "version", "info"},
    "gcloud": {"auth", "config", "components"},
    "aws": {"configure", "sts"},
}


def is_setup_command(argv: tuple[str, ...] | list[str]) -> bool:
    """True for commands that only install, configure or move files (``pip install``, ``apt-get``, ``echo``)."""
    args = [a for a in argv if a not in ("sudo", "-E", "time", "command")]
    if not args:
        return True
    head = posixpath.basename(args[0])
    if head in _SETUP_HEADS:
        return True
    if re.fullmatch(r"python[\d.]*|py", head):
        rest = args[1:]
        if not rest or rest[0] in ("--version", "-V", "-VV"):
            return True
        if len(rest) >= 2 and rest[0] == "-m" and rest[1] in ("pip", "venv", "ensurepip", "virtualenv",
                                                             "site", "poetry", "pipx"):
            return rest[1] != "pip" or len(rest) < 3 or rest[2] in _INSTALL_SUBCOMMANDS["pip"]
        return rest[0] == "-c" and len(rest) > 1 and bool(
            re.match(r"\s*(import \w+\s*;?\s*)?print\(", rest[1]))
    head = re.sub(r"\d+$", "", head)  # pip3 -> pip
    subs = _INSTALL_SUBCOMMANDS.get(head)
    if subs is not None:
        return len(args) < 2 or args[1] in subs or args[1] in ("--version", "-V", "version")
    return head in ("virtualenv", "pyenv", "nvm", "rustup", "corepack")
