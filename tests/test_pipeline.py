"""The pipeline from Python (preflight.check): its limits come from the caller, never from the working folder."""

import pytest

import preflight
from conftest import check_of

from preflight.report import Status


def test_a_library_call_ignores_a_preflight_toml_in_the_working_folder(fixture_path, tmp_path, monkeypatch):
    # a library call's verdict must not depend on a preflight.toml wherever the process happens to run
    (tmp_path / "preflight.toml").write_text("[duration]\nmin_s = 1\nmax_s = 2\n")
    monkeypatch.chdir(tmp_path)
    speech = fixture_path("speech.wav")
    assert check_of(preflight.check(speech), "duration").status is Status.PASS
    asked = preflight.check(speech, policy=preflight.load_policy())
    assert check_of(asked, "duration").status is Status.FAIL


def test_the_pipeline_module_is_importable_by_name():
    # a module named as the function it defines is shadowed by it (preflight.check)
    import importlib

    module = importlib.import_module("preflight.pipeline")
    assert module.check is preflight.check and callable(module.inspect)


@pytest.mark.slow
def test_the_library_writes_nothing_to_stderr(fixture_path):
    # mediapipe and TFLite print native lines at model loading, first run and exit: a library keeps quiet
    import subprocess
    import sys

    code = ("import sys, preflight; "
            "print(preflight.check(sys.argv[1]).verdict, preflight.check(sys.argv[2], sys.argv[3]).verdict)")
    run = subprocess.run([sys.executable, "-c", code, str(fixture_path("talking_head.mp4")),
                          str(fixture_path("face.png")), str(fixture_path("speech.wav"))],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0 and run.stdout.split() == ["go", "go"], run.stderr
    assert run.stderr == ""
