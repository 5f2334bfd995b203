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


def test_analyses_that_run_a_model_go_two_at_a_time_and_the_others_all_at_once(fixture_path, monkeypatch):
    # a model analysis holds hundreds of MB while it runs: more than two at once only add memory
    import threading
    import time
    from dataclasses import dataclass

    from preflight import pipeline
    from preflight.analyzers.base import Analyzer, Needs, Timelines
    from preflight.media import Role
    from preflight.report import Check, Status

    @dataclass(frozen=True)
    class Nothing(Timelines):
        pass

    lock, running, most = threading.Lock(), [0], [0]
    together = threading.Barrier(3, timeout=30)  # the three plain toys must all be running at once

    def model(media, policy):
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.2)
        with lock:
            running[0] -= 1
        return Nothing(str(media.probe.path))

    def plain(media, policy):
        together.wait()
        return Nothing(str(media.probe.path))

    def judge(t, window, policy):
        return [Check(id="speech", source=t.source, status=Status.PASS, value=1.0, message="toy")]

    def toy(measure, needs):
        return Analyzer(checks=("speech",), roles=frozenset({Role.AUDIO}), policy=None, aspect=pipeline.ANALYZERS["speech"].aspect,
                        reasons={}, measure=measure, judge=judge, windowed=False, needs=needs)

    toys = {f"model{i}": toy(model, Needs(model=True)) for i in range(5)}
    toys |= {f"plain{i}": toy(plain, Needs()) for i in range(3)}
    monkeypatch.setattr(pipeline, "ANALYZERS", toys)
    (probe,) = pipeline.source_set(pipeline.Sources((fixture_path("speech.wav"),)), {})
    media = pipeline.decode(probe, sample_fps=5.0)
    try:
        checks = pipeline._analyze([media], preflight.Policy(), 60, lambda step: None)
    finally:
        media.close()
    assert [c.status for c in checks] == [Status.PASS] * 8  # the plain ones met at the barrier
    assert most[0] == pipeline.MODEL_ANALYSES_AT_ONCE == 2


@pytest.mark.parametrize("keep", [True, False])
def test_frames_go_once_their_readers_are_done_but_the_rgb_ones_pictures_are_drawn_from(fixture_path, monkeypatch, keep):
    from dataclasses import dataclass

    from preflight import pipeline
    from preflight.analyzers.base import Analyzer, Needs, Timelines
    from preflight.media import Role
    from preflight.report import Check, Status

    @dataclass(frozen=True)
    class Seen(Timelines):
        pixels: int

    def reads(media, policy):
        return Seen(str(media.probe.path), int(media.rgb[0].sum() > 0) + int(media.talk[0].sum() > 0))

    def judge(t, window, policy):
        return [Check(id="faces", source=t.source, status=Status.PASS, value=float(t.pixels), message="toy")]

    toy = Analyzer(checks=("faces",), roles=frozenset({Role.VIDEO}), policy=None, aspect=pipeline.ANALYZERS["faces"].aspect,
                   reasons={}, measure=reads, judge=judge, windowed=False, needs=Needs(frames=True))
    monkeypatch.setattr(pipeline, "ANALYZERS", {"reader": toy})
    (probe,) = pipeline.source_set(pipeline.Sources((fixture_path("talking_head.mp4"),)), {})
    media = pipeline.decode(probe, sample_fps=5.0)
    try:
        (check,) = pipeline._analyze([media], preflight.Policy(), 60, lambda step: None, keep_rgb=keep)
        assert check.value == 2.0  # the reader saw both kinds of frame
        assert len(media.rgb) == 45 and len(media.grey.times) == 225  # what the decode reached stays known
        for frames in (media.talk, media.grey):  # no picture is drawn of these
            with pytest.raises(RuntimeError, match="released"):
                frames[0]
        if keep:
            assert media.rgb[0].shape == (360, 640, 3)
        else:
            with pytest.raises(RuntimeError, match="released"):
                media.rgb[0]
    finally:
        media.close()


def test_a_source_decoded_as_a_check_decodes_it_is_not_decoded_again(fixture_path, monkeypatch):
    # fix's plan decodes a recording as a check does; the check of the recording kept whole takes
    # that decode (and what was measured on it) instead of a second one, and reports the same
    import importlib
    import json

    from preflight.media import probe

    pipeline = importlib.import_module("preflight.pipeline")
    face, speech = fixture_path("face.png"), fixture_path("speech.wav")
    fresh = preflight.check(image=face, audio=speech)
    decoded = [pipeline.decode_for_check(probe(p), preflight.Policy()) for p in (face, speech)]
    started = []
    monkeypatch.setattr(pipeline, "decode", lambda probe, **kw: started.append(probe.path) or pytest.fail("decoded again"))
    try:
        given = preflight.check(image=face, audio=speech, decoded=decoded)
    finally:
        for m in decoded:
            m.close()

    def without_seconds(report):
        found = json.loads(report.to_json())
        for c in found["checks"]:
            c.pop("seconds")
        return found

    assert started == [] and without_seconds(given) == without_seconds(fresh)
    # a decode named otherwise (another label) is not taken: that source is decoded
    monkeypatch.undo()
    other = pipeline.decode_for_check(probe(speech, "voice.wav"), preflight.Policy())
    counted = []
    real = pipeline.decode
    monkeypatch.setattr(pipeline, "decode", lambda probe, **kw: counted.append(probe.path.name) or real(probe, **kw))
    try:
        preflight.check(speech, decoded=[other])
    finally:
        other.close()
    assert counted == ["speech.wav"]
