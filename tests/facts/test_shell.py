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


# --- set -e semantics in scripts CI calls (LABELING.md G7, C14; bash manual, "The Set Builtin": errexit is
# ignored in conditions, in every command of an && / || list but the last, and in a negated command; without it
# only the status of the last command executed reaches the caller)

NOERREXIT = "errexit off (set +e or shell without -e) and not the last command"
LOOP = "in a loop without errexit: only the last iteration's status reaches the caller"


def _swallow(text: str, **kw) -> list[tuple[str, str | None]]:
    return [(" ".join(c.argv), c.swallow_reason) for c in split_script(text, **kw).commands]


def test_literal_for_loop_without_errexit_only_last_iteration_counts() -> None:
    script = "for suite in unit integration; do\n  pytest tests/$suite\ndone\n"
    assert _swallow(script, errexit=False) == [("pytest tests/unit", LOOP), ("pytest tests/integration", None)]
    assert [c.line for c in split_script(script, errexit=False).commands] == [2, 2]
    # with errexit every iteration's failure stops the script
    assert _swallow("set -e\n" + script, errexit=False) == [("pytest tests/unit", None),
                                                            ("pytest tests/integration", None)]


def test_loop_that_is_not_the_last_statement_swallows_every_iteration() -> None:
    script = "for m in a b; do python check_$m.py; done\necho finished\n"
    assert _swallow(script, errexit=False) == [("python check_a.py", LOOP), ("python check_b.py", NOERREXIT),
                                               ("echo finished", None)]


def test_dynamic_loop_items_are_not_expanded() -> None:
    assert _swallow("for f in tests/*.py; do python $f; done\n", errexit=False) == [("python $f", None)]


def test_branch_end_counts_only_when_its_statement_is_the_last() -> None:
    script = 'if [ -n "$CI" ]; then\n  pytest tests\nfi\necho done\n'
    got = _swallow(script, errexit=False)
    assert got[1] == ("pytest tests", NOERREXIT)
    assert _swallow('if [ -n "$CI" ]; then\n  pytest tests\nfi\n', errexit=False)[1] == ("pytest tests", None)


def test_right_side_of_and_list_is_not_a_condition() -> None:
    script = "cd src && pytest tests\necho ok\n"
    assert _swallow(script, errexit=False) == [("pytest tests", NOERREXIT), ("echo ok", None)]
    # the left side gates what follows (G7: it conditions a later step)
    assert _swallow("python check.py && python deploy.py\necho ok\n", errexit=False)[0] == ("python check.py", None)


def test_status_read_through_dollar_question_mark_counts() -> None:
    script = "pytest tests/unit\nrc=$?\npytest tests/integration\necho \"status $?\"\nexit $rc\n"
    assert _swallow(script, errexit=False) == [("pytest tests/unit", None), ("pytest tests/integration", NOERREXIT),
                                               ('echo status $?', None)]
    assert _swallow("pytest a\nexit $?\n", errexit=False) == [("pytest a", None)]


def test_exit_zero_at_the_end_swallows_everything_before() -> None:
    assert _swallow("pytest tests\nexit 0\n", errexit=False) == [("pytest tests", NOERREXIT)]
    assert _swallow("pytest tests\nexit\n", errexit=False) == [("pytest tests", None)]


def test_err_trap_that_exits_acts_like_errexit() -> None:
    script = "trap 'echo failed; exit 1' ERR\npytest a\npytest b\n"
    assert [r for _, r in _swallow(script, errexit=False)] == [None, None, None]


def test_one_exit_somewhere_no_longer_exempts_the_whole_script() -> None:
    script = 'if [ -z "$1" ]; then echo usage; exit 1; fi\npytest tests/unit\npytest tests/integration\n'
    got = dict(_swallow(script, errexit=False))
    assert (got["pytest tests/unit"], got["pytest tests/integration"]) == (NOERREXIT, None)


def test_positional_arguments_and_defaults() -> None:
    script = 'pytest "tests/$1" ${2:-unit} ${MODE:-fast}\npython run.py "$@"\n'
    got = [c.argv for c in split_script(script, args=["smoke", "x"]).commands]
    assert got == [("pytest", "tests/smoke", "x", "fast"), ("python", "run.py", "smoke", "x")]
    assert split_script("pytest tests/$1\n").commands[0].argv == ("pytest", "tests/$1")


def test_for_without_in_iterates_the_arguments() -> None:
    got = _swallow('for s in "$@"; do pytest tests/$s; done\n', args=["a", "b"], errexit=False)
    assert got == [("pytest tests/a", LOOP), ("pytest tests/b", None)]
    got2 = _swallow("for s; do pytest tests/$s; done\n", args=["a", "b"], errexit=False)
    assert got2 == got


def test_case_patterns_are_not_commands() -> None:
    script = 'case "$1" in\n  unit) pytest tests/unit ;;\n  *) pytest tests ;;\nesac\n'
    assert _swallow(script, args=["unit"], errexit=False) == [("pytest tests/unit", None), ("pytest tests", None)]


def test_script_directory_expressions_resolve_to_the_script_folder() -> None:
    script = ('cd "$(dirname "$0")/.."\npytest tests\n'
              'HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)\npython "$HERE/train.py"\n')
    got = [(c.argv, c.cwd) for c in split_script(script, script_path="scripts/ci/test.sh").commands]
    assert got == [(("pytest", "tests"), "scripts"), (("python", "$GITHUB_WORKSPACE/scripts/ci/train.py"), "scripts")]
    # without the script's path nothing is guessed
    assert split_script(script).commands[0].cwd is None


def test_commands_record_the_errexit_state_they_run_under() -> None:
    cmds = split_script("pytest a\nset -e\npytest b\nset +e\npytest c\n", errexit=False).commands
    assert [c.errexit for c in cmds] == [False, True, False]


def test_unterminated_compound_commands_never_raise() -> None:
    for text in ("for x in a b; do pytest $x", "if true; then\n", "case x in\n a) b", "}}}\nfi\ndone\nesac",
                 "for ((i=0; i<3; i++)); do echo $i; done", "for\nin\ndo\n", "${1:-${2:-x}}"):
        split_script(text, errexit=False, args=["q"], script_path="a.sh")
