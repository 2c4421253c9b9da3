"""SARIF checks for tests: the OASIS 2.1.0 schema and GitHub code scanning's own requirements."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from jsonschema.validators import validator_for

SCHEMA_PATH = Path(__file__).parent / "schemas" / "sarif-2.1.0.json"
SCHEMA_SHA256 = "c3b4bb2d6093897483348925aaa73af03b3e3f4bd4ca38cef26dcb4212a2682e"


def schema_errors(log: dict[str, Any]) -> list[str]:
    """Messages of every OASIS SARIF 2.1.0 schema violation (draft-04, with format checks)."""
    raw = SCHEMA_PATH.read_bytes()
    assert hashlib.sha256(raw).hexdigest() == SCHEMA_SHA256, "vendored SARIF schema was modified"
    schema = json.loads(raw)
    cls = validator_for(schema)
    cls.check_schema(schema)
    validator = cls(schema, format_checker=cls.FORMAT_CHECKER)
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(log)
    ]


def github_profile_errors(log: dict[str, Any]) -> list[str]:
    """What GitHub code scanning requires beyond the schema (docs: "SARIF support for code scanning")."""
    errors: list[str] = []
    runs = log.get("runs", [])
    if not 1 <= len(runs) <= 20:
        errors.append(f"runs: {len(runs)} (GitHub accepts 1 to 20)")
    for r, run in enumerate(runs):
        driver = run.get("tool", {}).get("driver", {})
        if not driver.get("name"):
            errors.append(f"run {r}: tool.driver.name missing")
        if not driver.get("informationUri"):
            errors.append(f"run {r}: tool.driver.informationUri missing")
        rules = driver.get("rules", [])
        if len(rules) > 25_000:
            errors.append(f"run {r}: more than 25,000 rules")
        ids = [rule.get("id") for rule in rules]
        if len(ids) != len(set(ids)):
            errors.append(f"run {r}: duplicate rule ids")
        for rule in rules:
            rid = rule.get("id")
            for key in ("shortDescription", "fullDescription", "help"):
                text = rule.get(key, {}).get("text", "")
                if not text:
                    errors.append(f"rule {rid}: {key}.text missing")
                if key != "help" and len(text) > 1024:
                    errors.append(f"rule {rid}: {key}.text longer than 1024")
            if len(rule.get("name", "")) > 255:
                errors.append(f"rule {rid}: name longer than 255")
            props = rule.get("properties", {})
            if len(props.get("tags", [])) > 20:
                errors.append(f"rule {rid}: more than 20 tags")
            if "security-severity" in props:
                sev = props["security-severity"]
                if not isinstance(sev, str) or not 0 < float(sev) <= 10:
                    errors.append(f"rule {rid}: security-severity must be a string in (0, 10]")
            level = rule.get("defaultConfiguration", {}).get("level")
            if level not in (None, "note", "warning", "error", "none"):
                errors.append(f"rule {rid}: bad default level {level!r}")
        results = run.get("results")
        if results is None:
            errors.append(f"run {r}: results missing")
            continue
        if len(results) > 25_000:
            errors.append(f"run {r}: more than 25,000 results")
        for i, res in enumerate(results):
            where = f"run {r} result {i}"
            rid = res.get("ruleId")
            if rid not in ids:
                errors.append(f"{where}: ruleId {rid!r} not among the rules")
            elif "ruleIndex" in res and ids[res["ruleIndex"]] != rid:
                errors.append(f"{where}: ruleIndex does not point at {rid}")
            if not res.get("message", {}).get("text"):
                errors.append(f"{where}: message.text missing")
            locations = res.get("locations") or []
            if not locations:
                errors.append(f"{where}: no locations")
            if len(locations) > 1000:
                errors.append(f"{where}: more than 1,000 locations")
            for loc in locations[:1]:
                phys = loc.get("physicalLocation", {})
                uri = phys.get("artifactLocation", {}).get("uri", "")
                if not uri or uri.startswith(("/", "file:")) or "://" in uri or "\\" in uri:
                    errors.append(f"{where}: uri {uri!r} is not repository-relative")
                if phys.get("region", {}).get("startLine", 0) < 1:
                    errors.append(f"{where}: region.startLine missing or < 1")
            if not res.get("partialFingerprints"):
                errors.append(f"{where}: partialFingerprints missing")
    return errors
