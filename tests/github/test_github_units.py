"""Unit tests for the GitHub pieces: escaping, annotation caps, outputs, event and input parsing, comments."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from mlscore.errors import ConfigError, InputError
from mlscore.github.comment import MARKER, CommentClient, CommentError
from mlscore.github.event import read_context, read_inputs
from mlscore.github.workflow import (
    Annotation,
    cap_annotations,
    escape_data,
    escape_property,
    write_outputs,
)


def test_escaping_matches_actions_toolkit() -> None:
    assert escape_data("50% done\r\nnext") == "50%25 done%0D%0Anext"
    assert escape_property("a:b,c%\n") == "a%3Ab%2Cc%25%0A"


def test_annotation_command_format() -> None:
    a = Annotation("error", "line one\nline two", "mlscore INFRA3: dropped", "src/a,b.py", 3, 5)
    assert (
        a.command()
        == "::error file=src/a%2Cb.py,line=3,endLine=5,title=mlscore INFRA3%3A dropped::line one%0Aline two"
    )
    assert Annotation("notice", "no file").command() == "::notice::no file"
    # a line without a file is meaningless and is left out
    assert Annotation("warning", "m", None, None, 4).command() == "::warning::m"


def test_caps_keep_ten_per_level_and_report_the_rest() -> None:
    many = [Annotation("warning", f"w{i}") for i in range(15)] + [
        Annotation("error", f"e{i}") for i in range(3)
    ]
    many += [Annotation("notice", f"n{i}") for i in range(12)]
    kept = cap_annotations(many)
    levels = [a.level for a in kept]
    assert (
        levels.count("error") == 3
        and levels.count("warning") == 10
        and levels.count("notice") == 10
    )
    assert kept[-1].message.startswith("8 more finding(s)")  # 5 warnings + 3 notices
    assert [a.message for a in kept if a.level == "warning"] == [f"w{i}" for i in range(10)]
    assert levels == sorted(levels, key=["error", "warning", "notice"].index)


def test_caps_leave_small_sets_alone() -> None:
    few = [Annotation("notice", f"n{i}") for i in range(10)]
    assert cap_annotations(few) == few


def test_outputs_use_a_heredoc_for_multiline(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write_outputs(out, {"score": "1.5", "body": "a\nb"})
    text = out.read_text()
    assert text.startswith("score=1.5\nbody<<ghadelimiter_")
    delimiter = text.splitlines()[1].split("<<", 1)[1]
    assert text.endswith(f"\na\nb\n{delimiter}\n")


def _event(tmp_path: Path, payload: dict[str, Any]) -> Path:
    path = tmp_path / "event.json"
    path.write_text(json.dumps(payload))
    return path


def _pr(head_repo: Any, author: str = "ana") -> dict[str, Any]:
    return {
        "pull_request": {
            "number": 3,
            "user": {"login": author},
            "base": {"sha": "b" * 40, "ref": "main"},
            "head": {"sha": "h" * 40, "ref": "x", "repo": head_repo},
        }
    }


def _env(event: Path, **extra: str) -> dict[str, str]:
    return {
        "GITHUB_EVENT_NAME": "pull_request",
        "GITHUB_EVENT_PATH": str(event),
        "GITHUB_REPOSITORY": "acme/app",
        "GITHUB_ACTOR": "ana",
        "GITHUB_RUN_ID": "9",
        **extra,
    }


def test_same_repo_pull_request_can_write(tmp_path: Path) -> None:
    ctx = read_context(_env(_event(tmp_path, _pr({"full_name": "acme/app"}))))
    assert ctx.pull_request is not None and ctx.pull_request.number == 3
    assert ctx.can_write and not ctx.is_fork
    assert ctx.baseline_sha == "b" * 40
    assert ctx.run_url == "https://github.com/acme/app/actions/runs/9"
    assert ctx.api_url == "https://api.github.com"


@pytest.mark.parametrize(
    ("payload", "actor"),
    [
        (_pr({"full_name": "mallory/app"}), "mallory"),
        (_pr(None), "mallory"),  # the fork was deleted: head.repo is null
        (_pr({"full_name": "acme/app"}, author="dependabot[bot]"), "dependabot[bot]"),
    ],
)
def test_fork_deleted_fork_and_dependabot_cannot_write(
    tmp_path: Path, payload: dict[str, Any], actor: str
) -> None:
    ctx = read_context(_env(_event(tmp_path, payload), GITHUB_ACTOR=actor))
    assert not ctx.can_write


def test_push_event_uses_before_unless_new_branch(tmp_path: Path) -> None:
    ctx = read_context(
        {
            "GITHUB_EVENT_NAME": "push",
            "GITHUB_EVENT_PATH": str(_event(tmp_path, {"before": "a" * 40})),
        }
    )
    assert ctx.baseline_sha == "a" * 40 and ctx.can_write
    ctx = read_context(
        {
            "GITHUB_EVENT_NAME": "push",
            "GITHUB_EVENT_PATH": str(_event(tmp_path, {"before": "0" * 40})),
        }
    )
    assert ctx.baseline_sha is None


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\xff\xfe", "not a JSON event payload"),
        (b"[1, 2]", "not a JSON object"),
        (b"{", "not a JSON event payload"),
    ],
)
def test_bad_event_payloads_are_input_errors(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "event.json"
    path.write_bytes(content)
    with pytest.raises(InputError, match=message):
        read_context({"GITHUB_EVENT_NAME": "push", "GITHUB_EVENT_PATH": str(path)})


def test_pull_request_without_number_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="pull_request.number"):
        read_context(_env(_event(tmp_path, {"pull_request": {"number": "7"}})))


def test_inputs_parse_and_name_the_bad_one() -> None:
    inputs = read_inputs(
        {
            "MLSCORE_SELECT": "DATA, MON1\nINFRA",
            "MLSCORE_FAIL_UNDER": "2.5",
            "MLSCORE_COMMENT": "False",
        }
    )
    assert inputs.select == ("DATA", "MON1", "INFRA")
    assert inputs.fail_under == 2.5 and inputs.comment is False and inputs.summary is True
    assert inputs.baseline == "auto" and inputs.path == "."
    with pytest.raises(
        ConfigError, match=r"input comment \(MLSCORE_COMMENT\): expected true or false, got 'maybe'"
    ):
        read_inputs({"MLSCORE_COMMENT": "maybe"})
    with pytest.raises(ConfigError, match="outside 0..14"):
        read_inputs({"MLSCORE_FAIL_UNDER": "99"})


def test_token_is_not_in_repr() -> None:
    assert "secret-token" not in repr(read_inputs({"MLSCORE_GITHUB_TOKEN": "secret-token"}))


# --- comment client over httpx.MockTransport ------------------------------------------------------


def _client(handler: Any) -> CommentClient:
    return CommentClient(
        "https://api.github.test", "t0k", "acme/app", transport=httpx.MockTransport(handler)
    )


def test_comment_created_when_none_is_ours() -> None:
    seen: list[tuple[str, str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append((request.method, request.url.path))
        assert request.headers["authorization"] == "Bearer t0k"
        if request.method == "GET":
            return httpx.Response(
                200,
                json=[
                    {"id": 1, "body": MARKER + " quoted", "user": {"login": "eve", "type": "User"}}
                ],
            )
        body = json.loads(request.content)["body"]
        assert body.startswith(MARKER)
        return httpx.Response(201, json={"id": 2, "html_url": "https://x/2", "body": body})

    with _client(handler) as client:
        result = client.upsert(5, "hello")
    assert (result.action, result.id, result.url) == ("created", 2, "https://x/2")
    assert seen == [
        ("GET", "/repos/acme/app/issues/5/comments"),
        ("POST", "/repos/acme/app/issues/5/comments"),
    ]


def test_comment_found_on_second_page_is_updated_or_left_alone() -> None:
    body = f"{MARKER}\nold"
    writes: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "GET" and "page=2" not in str(request.url):
            link = '<https://api.github.test/repos/acme/app/issues/5/comments?per_page=100&page=2>; rel="next"'
            return httpx.Response(200, json=[], headers={"Link": link})
        if request.method == "GET":
            return httpx.Response(
                200, json=[{"id": 9, "body": body, "html_url": "u9", "user": {"type": "Bot"}}]
            )
        writes.append(request.method)
        return httpx.Response(200, json={"id": 9, "html_url": "u9"})

    with _client(handler) as client:
        assert client.upsert(5, "old").action == "unchanged"
        assert writes == []
        assert client.upsert(5, "new").action == "updated"
        assert writes == ["PATCH"]


def test_comment_errors_are_comment_errors() -> None:
    def forbidden(request: httpx.Request) -> httpx.Response:
        return httpx.Response(403, json={"message": "Resource not accessible by integration"})

    with (
        _client(forbidden) as client,
        pytest.raises(CommentError, match="HTTP 403 Resource not accessible"),
    ):
        client.upsert(5, "x")

    def escape(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, json=[], headers={"Link": '<https://evil.test/steal>; rel="next"'}
        )

    with _client(escape) as client, pytest.raises(CommentError, match="leaves the API"):
        client.upsert(5, "x")

    def not_json(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text="<html>")

    with _client(not_json) as client, pytest.raises(CommentError, match="not JSON"):
        client.upsert(5, "x")

    def refused(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused")

    with _client(refused) as client, pytest.raises(CommentError, match="ConnectError"):
        client.upsert(5, "x")

    with _client(refused) as client, pytest.raises(CommentError, match="more than 65536"):
        client.upsert(5, "x" * 70_000)


def test_report_annotations_prefix_subdirectory_and_flag_drops(tmp_path: Path) -> None:
    import importlib.util
    import sys

    from mlscore.github.workflow import report_annotations
    from mlscore.report.diff import compare

    spec = importlib.util.spec_from_file_location(
        "mlscore_tests_canonical_units", Path(__file__).parents[1] / "report" / "canonical.py"
    )
    assert spec and spec.loader
    canonical = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = canonical
    spec.loader.exec_module(canonical)
    head, base = canonical.canonical_report(head=True), canonical.canonical_report(head=False)
    # head -> base: INFRA3 drops (an error at the file CI no longer runs), MON3 loses its attestation
    annotations = report_annotations(base, compare(head, base), path_prefix="svc")
    errors = [a for a in annotations if a.level == "error"]
    assert [a.title for a in errors] == [
        "mlscore INFRA3: score dropped",
        "mlscore MON3: score dropped",
    ]
    assert (errors[0].file, errors[0].line) == ("svc/tests/test_pipeline.py", 3)
    assert "no longer runs" in errors[0].message
    infra1 = next(a for a in annotations if a.title and a.title.startswith("mlscore INFRA1"))
    assert (infra1.level, infra1.file, infra1.line) == ("notice", "svc/src/churn/train.py", 22)
    # the weakest section (Monitoring) comes first among the warnings
    warnings = [a for a in annotations if a.level == "warning"]
    assert warnings[0].title is not None and warnings[0].title.startswith("mlscore MON")
