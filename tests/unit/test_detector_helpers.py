"""Small shared judgments of the detectors, checked directly."""

from __future__ import annotations

import pytest

from mlscore.detectors.code import on_standard_path


@pytest.mark.parametrize(("path", "expected"), [
    ("src/train.py", True),
    ("pkg/training/loop.py", True),
    ("src/data_io.py", True),
    ("app/main.py", True),
    ("TTS/tts/models/glow_tts.py", True),  # model code runs on every training step and prediction
    ("src/serving/api.py", True),
    ("src/deployment/verification.py", False),  # 'io' inside a word is not the io package
    ("src/validation.py", False),
    ("src/utils.py", False),
    ("scripts/train.py", False),  # scripts are run by hand, whatever their name
    ("notebooks/model.py", False),
])
def test_standard_path_is_matched_by_whole_words(path: str, expected: bool) -> None:
    assert on_standard_path(path) is expected
