"""The literal prefilter (facts/literals.py) and the streamed texts (facts/textstore.py) keep the semantics of
``literal in text.lower()`` and of a plain dict of texts."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlscore.facts.files import index_path
from mlscore.facts.literals import LiteralIndex, Vocabulary, lowered
from mlscore.facts.repo import collect
from mlscore.facts.textstore import TextStore

TEXTS = {
    "a.py": "import Optuna\nstudy = optuna.create_study()\n",
    "b.yaml": "kind: InferenceService\nspec:\n  predictor: {canaryTrafficPercent: 10}\n",
    "c.md": "Ünïcödé straße ǅ İstanbul ſ K (Kelvin sign) — fit\n",
    "d.txt": "",
    "e.sh": "echo FIT\x00\n",
}
LITERALS = ["optuna", "create_study", "inferenceservice", "canarytrafficpercent", "straße", "ǆ", "i̇stanbul", "s",
            "k", "fit", "\x00", "nothing-here", "Upper", "", "—"]


def expected(text: str, literals: list[str]) -> set[str]:
    low = text.lower()
    return {lit for lit in literals if lit and lit in low and lit.lower() == lit}


@pytest.mark.parametrize("path", sorted(TEXTS))
def test_vocabulary_matches_substring_semantics(path: str) -> None:
    vocab = Vocabulary(LITERALS)
    assert vocab.present(lowered(TEXTS[path])) == expected(TEXTS[path], LITERALS)


@pytest.mark.parametrize("path", sorted(TEXTS))
def test_contains_any_matches_substring_semantics(path: str) -> None:
    index = LiteralIndex(TEXTS.get)
    for lit in LITERALS:
        want = bool(lit) and lit.lower() == lit and lit in TEXTS[path].lower()
        assert index.contains_any(path, (lit,)) is want, (path, lit)
        assert index.contains_any(path, (lit,)) is want  # answered again from what is kept
    assert index.contains_any(path, tuple(LITERALS)) is bool(expected(TEXTS[path], LITERALS))
    assert index.contains_any("missing.py", ("fit",)) is False


def test_forget_drops_kept_answers() -> None:
    texts = {"a.py": "nothing"}
    index = LiteralIndex(texts.get)
    assert not index.contains_any("a.py", ("optuna",))
    texts["a.py"] = "import optuna"
    index.forget("a.py")
    assert index.contains_any("a.py", ("optuna",))


def test_text_store_reads_large_texts_again() -> None:
    reads: list[str] = []
    disk = {"big.yaml": "x" * 50, "small.py": "y"}

    def reader(path: str) -> str | None:
        reads.append(path)
        return disk.get(path)

    store = TextStore(reader, keep_chars=10)
    store.add("small.py", "y")
    store.add("big.yaml", "x" * 50)
    assert list(store) == ["small.py", "big.yaml"] and len(store) == 2
    assert store.kept("small.py") and not store.kept("big.yaml")
    assert store["small.py"] == "y" and reads == []
    assert store["big.yaml"] == "x" * 50 and reads == ["big.yaml"]
    assert store.get("big.yaml") == "x" * 50 and reads == ["big.yaml"]  # the recent large text is kept
    assert dict(store.items()) == {"small.py": "y", "big.yaml": "x" * 50}
    assert store.get("nope") is None and "nope" not in store
    del disk["big.yaml"]
    store["other.py"] = "z"
    for name in ("a", "b", "c", "d"):
        store.add(f"{name}.json", "q" * 20)
        disk[f"{name}.json"] = "q" * 20
        assert store[f"{name}.json"] == "q" * 20
    assert store["big.yaml"] == ""  # vanished since it was indexed: an empty text, never an exception


def test_vocabulary_answers_as_file_by_file(monkeypatch: pytest.MonkeyPatch) -> None:
    """From VOCABULARY_FILES texts on, questions in the detectors' vocabulary are answered from one Set pass per
    file; the answers are those of one alternation per question and file."""
    import mlscore.engine  # noqa: F401 - the detectors, whose constants make the vocabulary
    import mlscore.facts.integrate  # noqa: F401
    from mlscore.facts.literals import asked_vocabulary

    monkeypatch.setattr("mlscore.facts.literals._vocabulary", None)  # built from the modules loaded now
    vocabulary = asked_vocabulary()
    assert {"optuna", "dag", "airflow"} <= set(vocabulary.literals)
    questions = [("optuna",), ("dag", "airflow"), ("fit", "nothing-here"), ("Upper",), ("straße", "optuna"), ()]
    by_file, by_vocabulary = LiteralIndex(TEXTS.get, files=0), LiteralIndex(TEXTS.get, files=10**9)
    for q in questions:
        for path in [*TEXTS, "missing.py"]:
            assert by_file.contains_any(path, q) is by_vocabulary.contains_any(path, q), (q, path)
        assert by_file.files_containing(TEXTS, q) == by_vocabulary.files_containing(TEXTS, q)


@pytest.mark.parametrize("vocabulary_files", [0, 10**9])
def test_collect_streams_large_files_with_the_same_answers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                           vocabulary_files: int) -> None:
    monkeypatch.setattr("mlscore.facts.literals.VOCABULARY_FILES", vocabulary_files)
    big = "apiVersion: v1\nkind: ConfigMap\ndata:\n" + "".join(f"  key{i}: value{i}\n" for i in range(40_000))
    (tmp_path / "big.yaml").write_text(big)
    (tmp_path / "train.py").write_text("import optuna\noptuna.create_study()\n")
    facts = collect(index_path(tmp_path))
    assert isinstance(facts.texts, TextStore)
    assert not facts.texts.kept("big.yaml") and facts.texts.kept("train.py")
    assert facts.texts["big.yaml"] == big
    assert facts.has_any("big.yaml", ("key39999",)) and not facts.has_any("big.yaml", ("optuna",))
    assert [h.path for h in facts.grep(r"key39999:")] == ["big.yaml"]
    assert [p.path for p in facts.python_matching(r"create_study")] == ["train.py"]
