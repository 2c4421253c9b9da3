"""Facts: the file index (git, .gitignore, refs from the object store), notebooks and Python AST facts."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from mlscore.errors import InputError
from mlscore.facts.files import index_git_ref, index_path
from mlscore.facts.notebooks import parse_notebook
from mlscore.facts.python import is_test_path, parse_python
from tests.unit.conftest import GitRepoFactory, commit_all, init_repo, write_files

# -- the file index ------------------------------------------------------------------------------------


def test_git_index_honours_gitignore_and_lists_untracked_files(git_repo: GitRepoFactory) -> None:
    root, _repo = git_repo({
        ".gitignore": "data/raw/\n*.log\nmodels/*.joblib\n!models/keep.joblib\n",
        "src/train.py": "print('train')\n",
        "data/sample.csv": "a,b\n1,2\n",
        "models/README.md": "models\n",
    })
    write_files(root, {
        "data/raw/huge.csv": "x\n" * 10,      # ignored directory
        "train.log": "epoch 1\n",             # ignored pattern
        "models/model.joblib": "binary",      # ignored pattern in a subdirectory
        "models/keep.joblib": "kept",         # re-included by the negation
        "notes.md": "untracked, not ignored\n",
    })
    index = index_path(root)
    assert index.from_git
    assert index.commit is not None and len(index.commit) == 40
    assert index.paths() == [
        ".gitignore", "data/sample.csv", "models/README.md", "models/keep.joblib", "notes.md", "src/train.py",
    ]
    assert index.read_text("src/train.py") == "print('train')\n"


def test_subdirectory_of_a_repository_honours_every_gitignore(git_repo: GitRepoFactory) -> None:
    root, _repo = git_repo({".gitignore": "*.log\n", "proj/a.py": "x = 1\n", "proj/sub/.gitignore": "secret.txt\n"})
    write_files(root, {"proj/run.log": "log\n", "proj/sub/secret.txt": "s\n", "proj/new.py": "n = 1\n"})
    index = index_path(root / "proj")
    assert index.paths() == ["a.py", "new.py", "sub/.gitignore"]


def test_index_without_git_walks_and_skips_vendored_dirs(tmp_path: Path) -> None:
    write_files(tmp_path, {
        "pkg/mod.py": "x = 1\n",
        ".venv/lib/site.py": "y = 2\n",
        "node_modules/a/index.js": "z\n",
        ".gitignore": "*.tmp\n",
        "scratch.tmp": "t\n",
    })
    index = index_path(tmp_path)
    assert not index.from_git
    assert index.paths() == [".gitignore", "pkg/mod.py"]


def test_index_git_ref_reads_the_object_store_not_the_work_tree(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    repo = init_repo(root)
    write_files(root, {"model.py": "VERSION = 1\n", "old.py": "gone = True\n"})
    first = commit_all(repo, "first")
    write_files(root, {"model.py": "VERSION = 2\n", "new.py": "added = True\n"})
    (root / "old.py").unlink()
    second = commit_all(repo, "second")
    write_files(root, {"model.py": "VERSION = 3  # uncommitted\n"})
    stat_before = os.stat(root / "model.py")
    status_before = repo.git.status("--porcelain")

    index = index_git_ref(root, "HEAD~1")

    assert index.commit == first and index.ref == "HEAD~1"
    assert index.paths() == ["model.py", "old.py"]
    assert index.read_text("model.py") == "VERSION = 1\n"
    assert index.read_text("old.py") == "gone = True\n"
    head = index_git_ref(root, "main")
    assert head.commit == second
    assert head.paths() == ["model.py", "new.py"]
    assert head.read_text("model.py") == "VERSION = 2\n"
    # the work tree, the index and HEAD are untouched
    assert (root / "model.py").read_text() == "VERSION = 3  # uncommitted\n"
    assert os.stat(root / "model.py").st_mtime_ns == stat_before.st_mtime_ns
    assert repo.git.status("--porcelain") == status_before
    assert repo.head.commit.hexsha == second and not (root / "old.py").exists()


def test_index_git_ref_of_a_subdirectory_lists_it_relative(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    repo = init_repo(root)
    write_files(root, {"README.md": "top\n", "proj/train.py": "EPOCHS = 1\n", "proj/tests/test_x.py": "x = 1\n"})
    commit_all(repo, "first")
    write_files(root, {"proj/train.py": "EPOCHS = 2\n"})
    commit_all(repo, "second")

    index = index_git_ref(root / "proj", "HEAD~1")

    assert index.paths() == ["tests/test_x.py", "train.py"]
    assert index.read_text("train.py") == "EPOCHS = 1\n"


def test_index_git_ref_unknown_ref_is_an_input_error(git_repo: GitRepoFactory) -> None:
    root, _repo = git_repo({"a.py": "a = 1\n"})
    with pytest.raises(InputError, match="cannot read git ref 'no-such-branch'"):
        index_git_ref(root, "no-such-branch")


# -- notebooks -----------------------------------------------------------------------------------------


def _notebook(cells: list[dict[str, object]]) -> str:
    return json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": cells})


def _code(source: str, count: int | None = None, outputs: list[dict[str, object]] | None = None) -> dict[str, object]:
    return {"cell_type": "code", "execution_count": count, "metadata": {}, "source": source,
            "outputs": outputs or []}


def test_executed_notebook_has_outputs_and_cells_map_to_lines() -> None:
    text = _notebook([
        {"cell_type": "markdown", "metadata": {}, "source": "# Feature importance"},
        _code("%matplotlib inline\nimport pandas as pd\ndf = pd.read_csv('data.csv')", 1,
              [{"output_type": "stream", "name": "stdout", "text": ["loaded 100 rows\n"]}]),
        _code("from sklearn.inspection import permutation_importance\nr = permutation_importance(m, X, y)", 2,
              [{"output_type": "execute_result", "execution_count": 2, "metadata": {},
                "data": {"text/plain": ["{'tenure': 0.08}"]}}]),
    ])
    nb = parse_notebook("notebooks/explore.ipynb", text)
    assert nb.error is None
    assert (nb.cells, nb.code_cells, nb.executed_cells, nb.cells_with_outputs) == (3, 2, 2, 2)
    assert nb.has_outputs
    assert nb.output_text == [(1, "loaded 100 rows\n"), (2, "{'tenure': 0.08}")]
    assert nb.markdown == [(0, "# Feature importance")]
    py = nb.python
    assert py is not None and py.error is None and not py.is_test_file
    call = next(c for c in py.calls if c.name == "permutation_importance")
    assert nb.cell_of(call.line) == 2
    assert py.lines[0] == ""  # the %matplotlib magic is blanked, its line kept
    assert {c.name for c in py.calls} == {"pd.read_csv", "permutation_importance"}


def test_notebook_without_outputs_still_yields_code() -> None:
    nb = parse_notebook("nb.ipynb", _notebook([_code("x = train_model(df)\n"), _code("this is not python", None)]))
    assert nb.error is None
    assert (nb.code_cells, nb.executed_cells, nb.cells_with_outputs) == (2, 0, 0)
    assert not nb.has_outputs
    assert nb.python is not None and [c.name for c in nb.python.calls] == ["train_model"]  # bad cell blanked


def test_malformed_notebook_is_an_error_not_an_exception() -> None:
    assert parse_notebook("a.ipynb", "{not json").error.startswith("not a valid notebook")  # type: ignore[union-attr]
    assert parse_notebook("b.ipynb", json.dumps({"cells": "nope"})).error == "not a valid notebook: no cells"


# -- Python AST facts ----------------------------------------------------------------------------------

TEST_SOURCE = '''
import numpy as np
import pytest

from churn.features import add_ratio


def helper():
    assert True


def test_trivial():
    assert True
    assert 1 + 1 == 2
    assert -1 < 0


def test_type_only():
    out = add_ratio([1])
    assert isinstance(out, list)
    assert type(out) == list
    assert hasattr(out, "append")


def test_real_checks():
    out = add_ratio([1, 2])
    assert out == [0.5, 1.0]
    np.testing.assert_allclose(out, [0.5, 1.0])
    assert out == pytest.approx([0.5, 1.0])


class TestSuite:
    def test_method(self):
        self.assertEqual(add_ratio([2]), [1.0])

    def setup_method(self):
        pass
'''


def test_python_facts_of_a_test_module() -> None:
    py = parse_python("tests/test_features.py", TEST_SOURCE.lstrip("\n"))
    assert py.error is None and py.is_test_file
    tests = {f.name: f for f in py.test_functions()}
    assert sorted(tests) == ["test_method", "test_real_checks", "test_trivial", "test_type_only"]
    assert (tests["test_trivial"].asserts, tests["test_trivial"].trivial_asserts) == (0, 3)
    t = tests["test_type_only"]
    assert (t.asserts, t.trivial_asserts, t.type_only_asserts) == (0, 0, 3)
    assert "add_ratio" in t.calls
    real = tests["test_real_checks"]
    assert real.asserts == 4  # assert ==, assert_allclose, assert == approx (the statement and the helper)
    assert tests["test_method"].cls == "TestSuite" and tests["test_method"].asserts == 1
    assert not next(f for f in py.functions if f.name == "helper").is_test
    imports = {(i.module, i.names) for i in py.imports}
    assert ("churn.features", ("add_ratio",)) in imports and ("numpy", ()) in imports


def test_calls_keep_dotted_names_keywords_and_literal_args() -> None:
    py = parse_python("train.py", (
        "from sklearn.ensemble import GradientBoostingClassifier as GBC\n"
        "def fit(X, y):\n"
        "    model = GBC(n_estimators=200, max_depth=3)\n"
        "    np.random.seed(42)\n"
        "    return model.fit(X, y).predict(X)\n"
    ))
    calls = {c.name: c for c in py.calls}
    assert calls["GBC"].kwargs == ("n_estimators", "max_depth") and calls["GBC"].function == "fit"
    assert calls["np.random.seed"].args == ("42",) and calls["np.random.seed"].line == 4
    assert "model.fit.predict" in calls  # calls inside a chain are skipped in the dotted name
    assert not py.is_test_file and py.test_functions() == []


def test_functions_named_test_outside_test_files_are_not_tests() -> None:
    py = parse_python("src/pkg/checks.py", "def test_thing():\n    assert 1 == 1\n")
    assert py.test_functions() == []


@pytest.mark.parametrize("path", ["tests/test_a.py", "test_a.py", "pkg/a_test.py", "tests/helpers.py",
                                  "pkg/tests/conftest.py"])
def test_test_paths(path: str) -> None:
    assert is_test_path(path)


@pytest.mark.parametrize("path", ["src/testing_utils.py", "pkg/contest.py", "tests/data.csv", "attest.py"])
def test_non_test_paths(path: str) -> None:
    assert not is_test_path(path)


def test_syntax_error_becomes_an_error_field() -> None:
    py = parse_python("bad.py", "def broken(:\n    pass\n")
    assert py.error is not None and py.error.startswith("not parsed: SyntaxError")
    assert py.calls == [] and py.functions == []
