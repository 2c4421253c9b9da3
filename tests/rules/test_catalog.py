"""The rubric as data: rule files, their schema, loading errors, selection, `rules` and `explain`."""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

from mlscore import catalog as catalog_module
from mlscore.catalog import Catalog, load_catalog, load_rule_file, normalize_id, rule_json_schema
from mlscore.cli import main
from mlscore.commands.rules import docs_markdown
from mlscore.errors import InputError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "rules"
GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("MLSCORE_UPDATE_GOLDENS") == "1"

PAPER_ORDER = [f"{p}{n}" for p in ("DATA", "MODEL", "INFRA", "MON") for n in range(1, 8)]

#: The short titles of the 2017 paper's Tables I-IV, as transcribed in shared/rubric.md §1.
PAPER_TITLES = {
    "DATA1": "Feature expectations are captured in a schema.",
    "DATA2": "All features are beneficial.",
    "DATA3": "No feature's cost is too much.",
    "DATA4": "Features adhere to meta-level requirements.",
    "DATA5": "The data pipeline has appropriate privacy controls.",
    "DATA6": "New features can be added quickly.",
    "DATA7": "All input feature code is tested.",
    "MODEL1": "Model specs are reviewed and submitted.",
    "MODEL2": "Offline and online metrics correlate.",
    "MODEL3": "All hyperparameters have been tuned.",
    "MODEL4": "The impact of model staleness is known.",
    "MODEL5": "A simpler model is not better.",
    "MODEL6": "Model quality is sufficient on important data slices.",
    "MODEL7": "The model is tested for considerations of inclusion.",
    "INFRA1": "Training is reproducible.",
    "INFRA2": "Model specs are unit tested.",
    "INFRA3": "The ML pipeline is Integration tested.",
    "INFRA4": "Model quality is validated before serving.",
    "INFRA5": "The model is debuggable.",
    "INFRA6": "Models are canaried before serving.",
    "INFRA7": "Serving models can be rolled back.",
    "MON1": "Dependency changes result in notification.",
    "MON2": "Data invariants hold for inputs.",
    "MON3": "Training and serving are not skewed.",
    "MON4": "Models are not too stale.",
    "MON5": "Models are numerically stable.",
    "MON6": "Computing performance has not regressed.",
    "MON7": "Prediction quality has not regressed.",
}
HUMAN_ONLY = {"DATA3", "DATA6", "MODEL2", "MODEL4"}
TABLE = {"DATA": ("I", "Data"), "MODEL": ("II", "Model"), "INFRA": ("III", "Infra"), "MON": ("IV", "Monitor")}


@pytest.fixture(scope="module")
def cat() -> Catalog:
    return load_catalog()


def _check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if UPDATE or not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        if not UPDATE:
            pytest.fail(f"golden {name} did not exist; written, check it in")
    assert text == path.read_text(encoding="utf-8"), f"{name} differs (MLSCORE_UPDATE_GOLDENS=1 to rewrite)"


def _write_rule(directory: Path, rule_id: str, mutate=None, text: str | None = None) -> Path:  # type: ignore[no-untyped-def]
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / f"{rule_id}.yaml"
    if text is not None:
        target.write_text(text, encoding="utf-8")
        return target
    data = yaml.safe_load((RULES / f"{rule_id}.yaml").read_text(encoding="utf-8"))
    if mutate is not None:
        mutate(data)
    target.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return target


# --- the rule files -----------------------------------------------------------------------------


def test_checked_in_schema_matches_the_model() -> None:
    checked_in = json.loads((RULES / "rule.schema.json").read_text(encoding="utf-8"))
    expected = rule_json_schema()
    if UPDATE:
        (RULES / "rule.schema.json").write_text(json.dumps(expected, indent=2, ensure_ascii=False) + "\n")
    assert checked_in == expected, "rules/rule.schema.json is stale (MLSCORE_UPDATE_GOLDENS=1 to rewrite)"


def test_all_28_rules_load_in_paper_order(cat: Catalog) -> None:
    assert list(cat.ids) == PAPER_ORDER
    assert sorted(p.stem for p in RULES.glob("*.yaml")) == sorted(PAPER_ORDER)
    assert not list(RULES.glob("*.yml"))


@pytest.mark.parametrize("rule_id", PAPER_ORDER)
def test_rule_file_is_valid_by_model_and_by_json_schema(rule_id: str) -> None:
    path = RULES / f"{rule_id}.yaml"
    rule = load_rule_file(path, expected_id=rule_id)
    schema = json.loads((RULES / "rule.schema.json").read_text(encoding="utf-8"))
    jsonschema.validate(yaml.safe_load(path.read_text(encoding="utf-8")), schema)
    assert path.read_text(encoding="utf-8").startswith("# yaml-language-server: $schema=rule.schema.json\n")
    prefix = rule_id.rstrip("1234567")
    table, word = TABLE[prefix]
    assert rule.paper == f"Breck et al. 2017, Table {table}, {word} {rule.number}"
    assert rule.title == PAPER_TITLES[rule_id]
    # exactly one detector, named after the rule, as the engine's registry expects
    assert [d.name for d in rule.detectors] == [rule_id.lower()]
    assert rule.references[0].endswith("aad9f93b86b7addfea4c419b9100c6cdd26cacea.pdf")
    assert rule.human_only == (rule_id in HUMAN_ONLY)
    if rule.human_only:
        assert rule.attestation_hint and "attestation" in rule.evidence_sources
        assert rule.severity == "note"
    for text in (rule.asks, rule.manual, rule.automated, rule.remediation.to_manual, rule.remediation.to_automated):
        assert 40 <= len(text) <= 700, f"{rule_id}: prose should be one to a few sentences"


def test_names_are_unique(cat: Catalog) -> None:
    names = [rule.name for rule in cat]
    assert len(set(names)) == len(names)


@pytest.mark.parametrize("rule_id", PAPER_ORDER)
def test_remediation_example_is_syntactically_valid(rule_id: str, tmp_path: Path) -> None:
    example = load_rule_file(RULES / f"{rule_id}.yaml").remediation.example
    if example.language == "python":
        ast.parse(example.text)
    elif example.language == "yaml":
        documents = [doc for doc in yaml.safe_load_all(example.text) if doc is not None]
        assert documents and all(isinstance(doc, dict) for doc in documents)
    elif example.language == "toml":
        parsed = tomllib.loads(example.text)
        from mlscore.config import AttestEntry  # the model that reads [[tool.mlscore.attest]]

        for entry in parsed.get("tool", {}).get("mlscore", {}).get("attest", []):
            attestation = AttestEntry.model_validate(entry)
            assert attestation.rule == rule_id
            assert attestation.expires is not None and attestation.expires > attestation.date
    else:
        script = tmp_path / "example.sh"
        script.write_text(example.text, encoding="utf-8")
        assert subprocess.run(["bash", "-n", str(script)], check=False, capture_output=True).returncode == 0


def test_workflow_examples_are_github_workflows(cat: Catalog) -> None:
    """Examples that are workflows have triggers and jobs with steps (a quick structural check)."""
    seen = 0
    for rule in cat:
        example = rule.remediation.example
        if example.language != "yaml" or "runs-on:" not in example.text:
            continue
        workflow = yaml.safe_load(example.text)
        triggers = workflow[True] if True in workflow else workflow["on"]  # YAML 1.1 reads `on` as True
        assert triggers, rule.id
        for job in workflow["jobs"].values():
            assert job["runs-on"] and job["steps"], rule.id
            for step in job["steps"]:
                assert "run" in step or "uses" in step, rule.id
        seen += 1
    assert seen >= 4


# --- selection ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("select", "ignore", "expected"),
    [
        ((), (), PAPER_ORDER),
        (("MON",), ("MON3",), ["MON1", "MON2", "MON4", "MON5", "MON6", "MON7"]),
        (("MON3",), ("MON",), ["MON3"]),
        (("MON",), ("MON",), []),  # a tie is ignored
        ((), ("DATA", "MODEL", "INFRA"), [f"MON{n}" for n in range(1, 8)]),
        (("monitoring", "data1"), (), ["DATA1"] + [f"MON{n}" for n in range(1, 8)]),
        (("INFRA6,INFRA7",), (), ["INFRA6", "INFRA7"]),
        (("M",), ("MO",), []),  # "MO" is longer than "M": MODEL and MON both go
        (("M",), ("MODEL",), [f"MON{n}" for n in range(1, 8)]),
        (("infrastructure",), ("INFRA1", "infra2"), ["INFRA3", "INFRA4", "INFRA5", "INFRA6", "INFRA7"]),
    ],
)
def test_select_and_ignore_longest_prefix_wins(cat: Catalog, select, ignore, expected) -> None:  # type: ignore[no-untyped-def]
    assert [rule.id for rule in cat.select(select, ignore)] == expected


def test_unknown_prefix_is_an_error(cat: Catalog) -> None:
    with pytest.raises(InputError, match=r"^unknown rule or prefix 'MONN' \(did you mean MON\?\)$"):
        cat.select(["MONN"])
    with pytest.raises(InputError, match="unknown rule or prefix 'X'"):
        cat.select((), ["X"])


def test_deprecated_rules_need_their_exact_id(tmp_path: Path) -> None:
    _write_rule(tmp_path, "MON6", lambda d: d.update(deprecated=True))
    cat = load_catalog([tmp_path])
    assert "MON6" not in [r.id for r in cat.select()]
    assert "MON6" not in [r.id for r in cat.select(["MON"])]
    assert [r.id for r in cat.select(["MON6"])] == ["MON6"]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("MON3", "MON3"), ("mon3", "MON3"), ("Monitor 3", "MON3"), ("monitoring-3", "MON3"), (" infra_6 ", "INFRA6"),
     ("Infrastructure 2", "INFRA2"), ("Data 1", "DATA1"), ("model7", "MODEL7")],
)
def test_ids_are_normalized(cat: Catalog, raw: str, expected: str) -> None:
    assert normalize_id(raw) == expected
    assert cat.get(raw).id == expected


def test_get_by_name_and_unknown_ids(cat: Catalog) -> None:
    assert cat.get("training-serving-skew").id == "MON3"
    with pytest.raises(InputError, match=r"^unknown rule 'MON8' \(the MON tests are MON1 to MON7\)$"):
        cat.get("MON8")
    with pytest.raises(InputError, match=r"^unknown rule 'DTA1' \(did you mean DATA1"):
        cat.get("DTA1")
    with pytest.raises(InputError, match=r"did you mean training-serving-skew\?"):
        cat.get("training-serving-skw")
    with pytest.raises(InputError, match=r"^'monitoring' is a section, not a test: MON1 to MON7 "):
        cat.get("monitoring")


# --- loading errors: one line, naming the file and the key --------------------------------------


def _error(tmp_path: Path) -> str:
    with pytest.raises(InputError) as info:
        load_catalog([tmp_path])
    message = str(info.value)
    assert "\n" not in message
    return message


def test_invalid_yaml_names_file_line_and_column(tmp_path: Path) -> None:
    path = _write_rule(tmp_path, "MON3", text="id: MON3\ntitle: [unclosed\n")
    assert _error(tmp_path).startswith(f"{path}:3:1: invalid YAML: ")


def test_unknown_key_is_named_with_its_path(tmp_path: Path) -> None:
    path = _write_rule(tmp_path, "MON3", lambda d: d["remediation"]["example"].update(lang="python"))
    assert _error(tmp_path) == f"{path}: remediation.example.lang: unknown key"


def test_missing_key(tmp_path: Path) -> None:
    path = _write_rule(tmp_path, "DATA1", lambda d: d.pop("asks"))
    assert _error(tmp_path) == f"{path}: asks: required key is missing"


def test_bad_values(tmp_path: Path) -> None:
    path = _write_rule(tmp_path, "DATA1", lambda d: d.update(precision="certain", severity="fatal"))
    message = _error(tmp_path)
    assert message.startswith(f"{path}: precision: Input should be 'very-high', 'high', 'medium' or 'low'")
    assert message.endswith("(and 1 more)")
    path = _write_rule(tmp_path, "DATA1", lambda d: d["detectors"][0].update(name="Data-1"))
    assert _error(tmp_path).startswith(f"{path}: detectors.0.name: String should match pattern")
    path = _write_rule(tmp_path, "DATA1", lambda d: d.update(references=["ftp://example.com/x"]))
    assert _error(tmp_path) == f"{path}: references: Value error, not an http(s) URL: 'ftp://example.com/x'"


def test_consistency_checks(tmp_path: Path) -> None:
    path = _write_rule(tmp_path, "DATA1", lambda d: d.update(section="model"))
    assert _error(tmp_path) == f"{path}: (top level): Value error, section 'model' does not match id DATA1: use 'data'"
    path = _write_rule(tmp_path, "DATA1", lambda d: d.update(human_only=True))
    assert "attestation_hint is required when human_only is true" in _error(tmp_path)
    path = _write_rule(tmp_path, "DATA1", lambda d: d.update(id="DATA2"))
    assert _error(tmp_path) == f"{path}: id: 'DATA2' does not match the file name (expected 'DATA1')"


def test_bad_file_names_and_shapes(tmp_path: Path) -> None:
    (tmp_path / "MON8.yaml").write_text("id: MON8\n")
    assert _error(tmp_path).startswith(f"{tmp_path}/MON8.yaml: a rule file must be named <ID>.yaml")
    (tmp_path / "MON8.yaml").unlink()
    (tmp_path / "MON3.yaml").write_text("- a\n- list\n")
    assert _error(tmp_path) == f"{tmp_path}/MON3.yaml: expected a mapping of rule keys at the top level, got list"
    (tmp_path / "MON3.yaml").write_text("")
    assert _error(tmp_path).endswith("got an empty file")
    (tmp_path / "MON3.yml").write_text("id: MON3\n")
    assert _error(tmp_path) == f"{tmp_path}/MON3.yml: MON3 is defined twice in this directory"


def test_hostile_files(tmp_path: Path) -> None:
    (tmp_path / "MON3.yaml").write_bytes(b"id: MON3\ntitle: caf\xe9\n")
    assert _error(tmp_path) == f"{tmp_path}/MON3.yaml: not UTF-8 (invalid byte at offset 19)"
    (tmp_path / "MON3.yaml").write_bytes(b"#" * (catalog_module.MAX_RULE_FILE_BYTES + 1))
    assert "too large for a rule file" in _error(tmp_path)
    bomb = ["a: &a [x, x, x, x, x, x, x, x, x]"]
    for level in "bcdefghi":
        previous = chr(ord(level) - 1)
        bomb.append(f"{level}: &{level} [" + ", ".join([f"*{previous}"] * 9) + "]")
    (tmp_path / "MON3.yaml").write_text("\n".join(bomb) + "\n")
    assert "too many YAML nodes" in _error(tmp_path)
    (tmp_path / "MON3.yaml").write_text("id: !!python/object/apply:os.system ['touch pwned']\n")
    assert "invalid YAML" in _error(tmp_path)
    assert not Path("pwned").exists()


def test_special_files_are_refused_without_reading_them(tmp_path: Path) -> None:
    (tmp_path / "MON3.yaml").symlink_to("/dev/zero")
    assert _error(tmp_path) == f"{tmp_path}/MON3.yaml: not a regular file"
    (tmp_path / "MON3.yaml").unlink()
    (tmp_path / "MON3.yaml").mkdir()
    assert _error(tmp_path) == f"{tmp_path}/MON3.yaml: not a regular file"


def test_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="rules directory not found"):
        load_catalog([tmp_path / "nope"])


# --- user rules directories -------------------------------------------------------------------


def test_user_directory_replaces_a_rule(tmp_path: Path) -> None:
    path = _write_rule(tmp_path, "MON3", lambda d: d.update(asks="Our own wording of the skew test for this team."))
    cat = load_catalog([tmp_path])
    assert cat.get("MON3").asks == "Our own wording of the skew test for this team."
    assert cat.overridden == {"MON3"} and cat.sources["MON3"] == str(path)
    assert len(cat) == 28 and cat.get("MON2") == load_catalog().get("MON2")
    assert load_catalog().get("MON3").asks != cat.get("MON3").asks  # the bundled catalog is untouched


def test_installed_wheel_layout_finds_packaged_rules(tmp_path: Path) -> None:
    """pyproject force-includes rules/ as mlscore/_data/rules; the loader must find it there."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    force = pyproject["tool"]["hatch"]["build"]["targets"]["wheel"]["force-include"]
    assert force["rules"] == "mlscore/_data/rules"
    site = tmp_path / "site"
    shutil.copytree(ROOT / "src" / "mlscore", site / "mlscore", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(RULES, site / "mlscore" / "_data" / "rules")
    code = (
        "import mlscore.catalog as c; d = c.builtin_rules_dir(); "
        "print(d); print(len(c.load_catalog()))"
    )
    env = {**os.environ, "PYTHONPATH": str(site)}
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=tmp_path, check=False, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [str(site / "mlscore" / "_data" / "rules"), "28"]


def test_importing_the_commands_stays_light() -> None:
    code = (
        "import sys, mlscore.commands.rules as r; r.load_catalog(); "
        "heavy = {'pandas', 'numpy', 'scipy', 'great_expectations', 'evidently', 'httpx', 'prometheus_client'}; "
        "print(sorted(heavy & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# --- the CLI ------------------------------------------------------------------------------------


def test_rules_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "ID      SECTION         TITLE"
    assert lines[1] == "DATA1   data            Feature expectations are captured in a schema."
    assert lines[28] == "MON7    monitoring      Prediction quality has not regressed."
    assert lines[30] == "28 tests. Human-only (attest them in config): DATA3, DATA6, MODEL2, MODEL4."


def test_rules_formats_and_selection(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["rules", "--format", "json", "--select", "MON", "--ignore", "MON3"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [r["id"] for r in data] == ["MON1", "MON2", "MON4", "MON5", "MON6", "MON7"]
    assert data[0]["remediation"]["example"]["kind"] == "config"
    assert main(["rules", "--format", "markdown", "-o", str(tmp_path / "r.md")]) == 0
    table = (tmp_path / "r.md").read_text(encoding="utf-8").splitlines()
    assert table[0] == "| ID | Section | Title | Evidence from |" and len(table) == 30
    assert "| [MODEL2](#model2) | model | Offline and online metrics correlate. (human-only) |" in table[10]


def test_explain_mon3_golden(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", "MON3"]) == 0
    _check_golden("explain-MON3.txt", capsys.readouterr().out)


def test_explain_human_only_rule_shows_attestation(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", "model2"]) == 0
    out = capsys.readouterr().out
    assert "Human-only: a repository rarely shows this" in out
    assert 'rule = "MODEL2"' in out and out.count("[[tool.mlscore.attest]]") == 1


def test_explain_formats(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", "INFRA6", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == load_catalog().get("INFRA6").model_dump(mode="json")
    assert main(["explain", "INFRA6", "--format", "markdown"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# INFRA6\n\n**Models are canaried before serving.**\n")
    assert "```yaml\napiVersion: argoproj.io/v1alpha1\n" in out


def test_explain_unknown_id_is_a_one_line_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", "MON9"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == "mlscore: error: unknown rule 'MON9' (the MON tests are MON1 to MON7)\n"
    assert main(["explain", "modle1"]) == 2
    assert capsys.readouterr().err == "mlscore: error: unknown rule 'modle1' (did you mean MODEL1?)\n"


def test_cli_reports_a_broken_user_rule_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = _write_rule(tmp_path, "MON3", lambda d: d.update(colour="red"))
    assert main(["rules", "--rules-dir", str(tmp_path)]) == 2
    assert capsys.readouterr().err == f"mlscore: error: {path}: colour: unknown key\n"
    _write_rule(tmp_path, "MON3", lambda d: d.update(title="Our skew test."))
    assert main(["explain", "MON3", "--rules-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("MON3  Our skew test.\n") and f"Rule file: {path}" in out


def test_docs_page_is_up_to_date() -> None:
    page = ROOT / "docs" / "rules.md"
    expected = docs_markdown(load_catalog())
    if UPDATE:
        page.parent.mkdir(exist_ok=True)
        page.write_text(expected, encoding="utf-8")
    assert page.read_text(encoding="utf-8") == expected, (
        "docs/rules.md is stale: mlscore rules --format markdown --details -o docs/rules.md"
    )


def test_every_detector_named_by_a_rule_exists_and_every_detector_is_used(cat: Catalog) -> None:
    from mlscore.detectors import DETECTORS

    assert cat.detector_names() == set(DETECTORS)


def test_rules_details_prints_every_selected_rule_in_full(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "--details", "--select", "DATA1,MODEL2"]) == 0
    out = capsys.readouterr().out
    table, first, second = out.split("\n" + "=" * 80 + "\n\n")
    assert table.splitlines()[1:3] == [
        "DATA1   data     Feature expectations are captured in a schema.",
        "MODEL2  model    Offline and online metrics correlate.",
    ]
    assert first.startswith("DATA1  Feature expectations are captured in a schema.\n")
    assert second.startswith("MODEL2  Offline and online metrics correlate.\n")


@pytest.mark.parametrize("rule_id", ["DATA5", "INFRA7", "MON1"])
def test_attestation_template_in_explain_is_valid_config(rule_id: str) -> None:
    from mlscore.commands.rules import _attest_block
    from mlscore.config import AttestEntry

    entries = tomllib.loads(_attest_block(load_catalog().get(rule_id)))["tool"]["mlscore"]["attest"]
    assert [AttestEntry.model_validate(e).rule for e in entries] == [rule_id]
