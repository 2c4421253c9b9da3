"""shell.split_script: commands, lines, cwd and swallowing (G7)."""

from __future__ import annotations

from mlscore.facts.shell import is_setup_command, split_script, words


def _cmds(text: str, **kw):
    return [(c.line, c.argv, c.cwd, c.swallow_reason) for c in split_script(text, **kw).commands]


def test_continuations_and_operators_and_lines() -> None:
    script = "pip install -r a.txt \\\n  -r b.txt\ncd src && pytest -q tests/ ; flake8 .\n"
    assert _cmds(script, first_line=10) == [
        (10, ("pip", "install", "-r", "a.txt", "-r", "b.txt"), None, None),
        (12, ("pytest", "-q", "tests/"), "src", None),
        (12, ("flake8", "."), "src", None),
    ]


def test_swallowing_forms() -> None:
    script = (
        "pytest tests || true\n"
        "python eval.py || echo failed\n"
        "python a.py || exit 1\n"
        "pytest | tee log.txt\n"
        "python serve.py &\n"
        "mypy src || :\n"
    )
    assert _cmds(script) == [
        (1, ("pytest", "tests"), None, "|| true"),
        (2, ("python", "eval.py"), None, "|| echo failed"),
        (3, ("python", "a.py"), None, None),
        (4, ("pytest",), None, "not last in a pipeline (no pipefail)"),
        (4, ("tee", "log.txt"), None, None),
        (5, ("python", "serve.py"), None, "run in the background (&)"),
        (6, ("mypy", "src"), None, "|| :"),
    ]


def test_pipefail_and_set_plus_e() -> None:
    assert _cmds("pytest | tee log", pipefail=True)[0][3] is None
    assert _cmds("set -o pipefail\npytest | tee log")[0][3] is None
    script = "set +e\npytest\nflake8\nset -e\nmypy\n"
    reasons = [c[3] for c in _cmds(script)]
    assert reasons == ["errexit off (set +e or shell without -e) and not the last command"] * 2 + [None]


def test_no_errexit_only_last_command_counts() -> None:
    got = _cmds("pytest\nflake8\n", errexit=False)
    assert [c[3] is None for c in got] == [False, True]


def test_heredoc_body_skipped_and_redirects_removed() -> None:
    script = "cat <<'EOF' > cfg.ini\npytest inside heredoc\nEOF\npython x.py > out.txt 2>&1\n"
    assert _cmds(script) == [(1, ("cat",), None, None), (4, ("python", "x.py"), None, None)]


def test_commented_commands_and_expressions() -> None:
    parsed = split_script("# pytest tests/\n# Install deps\necho ${{ matrix.python-version }}\n")
    assert [(c.line, c.text) for c in parsed.commented] == [(1, "pytest tests/")]
    assert parsed.commands[0].argv == ("echo", "${{matrix.python-version}}")


def test_words_never_raises_on_unbalanced_quotes() -> None:
    assert words("echo 'unterminated") == ["echo", "unterminated"]
    assert words('a "b c" d\\ e') == ["a", "b c", "d e"]


def test_initial_cwd_and_env_assignments() -> None:
    assert _cmds("FOO=1 BAR=2 python train.py", cwd="ml/") == [(1, ("python", "train.py"), "ml", None)]


def test_is_setup_command() -> None:
    assert is_setup_command(("pip", "install", "-e", "."))
    assert is_setup_command(("python", "-m", "pip", "install", "x"))
    assert is_setup_command(("sudo", "apt-get", "install", "-y", "graphviz"))
    assert is_setup_command(("poetry", "install"))
    assert is_setup_command(("uv", "sync", "--frozen"))
    assert not is_setup_command(("poetry", "run", "pytest"))
    assert not is_setup_command(("python", "train.py"))
    assert not is_setup_command(("pytest",))
    assert not is_setup_command(("dvc", "repro"))


def test_conditions_and_branch_ends_are_not_swallowed_without_errexit() -> None:
    script = (
        "if ! python check.py\n"
        "then\n"
        "    python update.py\n"
        "    python deploy_update.py\n"
        "else\n"
        "    python deploy.py\n"
        "fi\n"
    )
    got = [(c.argv[1], c.swallowed) for c in split_script(script, errexit=False).commands]
    assert got == [("check.py", False), ("update.py", True), ("deploy_update.py", False), ("deploy.py", False)]


def test_scripts_that_exit_on_error_themselves_are_not_blanket_swallowed() -> None:
    script = "ER=0\nif ! black --check .; then ER=1; fi\nflake8 . || ER=1\nmypy src\nexit $ER\n"
    assert [c.swallowed for c in split_script(script, errexit=False).commands] == [False, False, False]


def test_subshell_parentheses_are_stripped() -> None:
    assert split_script('if !([ -d "$P" ]); then echo x; fi').commands[0].argv == ("[", "-d", "$P", "]")


def test_literal_variables_and_eval_are_expanded() -> None:
    script = ('TESTS=tests/unit\ncommand="python3 -m pytest --cov=pkg $TESTS"\necho "$command"\neval "$command"\n'
              'export MODEL_DIR=models\npython train.py --out ${MODEL_DIR}/m.pkl --tag $UNKNOWN\n')
    got = [c.argv for c in split_script(script).commands]
    assert got == [("echo", "python3 -m pytest --cov=pkg tests/unit"),
                   ("python3", "-m", "pytest", "--cov=pkg", "tests/unit"),
                   ("python", "train.py", "--out", "models/m.pkl", "--tag", "$UNKNOWN")]


def test_or_branch_that_re_raises_is_not_swallowing() -> None:
    script = 'pytest tests || (echo "tests failed"; exit 1)\nmypy src || { echo failed; false; }\nflake8 || echo ok\n'
    assert [(c.argv[0], c.swallowed) for c in split_script(script).commands] == [
        ("pytest", False), ("mypy", False), ("flake8", True)]


def test_python_heredoc_body_becomes_inline_code() -> None:
    script = "python - <<'EOF'\nfrom pipeline import validate\nvalidate.run()\nEOF\necho done\n"
    got = [c.argv for c in split_script(script).commands]
    assert got == [("python", "-c", "from pipeline import validate\nvalidate.run()"), ("echo", "done")]
