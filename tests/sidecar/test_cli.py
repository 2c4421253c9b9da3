"""`mlscore sidecar` on the command line: help, generation to stdout/files, one-line errors with exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from mlscore.cli import main


def test_help_lists_the_subcommands(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sidecar", "--help"]) == 0
    out = capsys.readouterr().out
    assert "--upstream" in out and "alerts" in out and "dashboard" in out


def test_alerts_and_dashboard_to_stdout_and_files(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["sidecar", "alerts"]) == 0
    rules = yaml.safe_load(capsys.readouterr().out)
    assert rules["groups"][0]["name"] == "mlscore-sidecar"
    cfg = tmp_path / "sidecar.toml"
    cfg.write_text("[alerts]\nerror_ratio = 0.25\n")
    out = tmp_path / "out" / "rules.yml"
    assert main(["sidecar", "--config", str(cfg), "alerts", "-o", str(out)]) == 0
    assert "> 0.25" in out.read_text()
    assert main(["sidecar", "dashboard", "-o", str(tmp_path / "d.json")]) == 0
    assert (tmp_path / "d.json").read_text().startswith("{")


@pytest.mark.parametrize(("toml", "args", "needle"), [
    ("[sidecar]\nwindow = 'soon'\n", [], "window"),
    ("[sidecar]\nnope = 1\n", [], "nope"),
    ("[alerts]\nerror_ratio = 3\n", [], "error_ratio"),
    ("not toml [", [], "not valid TOML"),
    ("", ["--upstream", "https://example.invalid:443"], "--upstream"),
    ("", ["--upstream", "http://127.0.0.1:1", "--listen", "nowhere"], "--listen"),
    ("", ["--upstream", "http://127.0.0.1:1", "--reference", "/no/such/profile.json"], "profile.json"),
])
def test_bad_input_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str], tmp_path: Path, toml: str,
                                          args: list[str], needle: str) -> None:
    cfg = tmp_path / "sidecar.toml"
    cfg.write_text(toml)
    assert main(["sidecar", "--config", str(cfg), *args]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("mlscore: error:") and "\n" not in err and needle in err, err


def test_a_busy_port_is_a_one_line_error(capsys: pytest.CaptureFixture[str]) -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert main(["sidecar", "--metrics", f"127.0.0.1:{port}"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("mlscore: error: --metrics 127.0.0.1:") and "cannot listen" in err, err
