"""``preflight fix`` on long recordings composed from the shared media: the window an editor
would choose, a refusal in the checks' terms, and nothing written that was not checked GO.

The inputs are made once per module with ffmpeg from labelled good clips (and a music-only
one); four real fix runs in all. Those runs are ``slow``; the unit tests of the window search and
the cut below them run on synthetic timelines and the generated fixtures.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

import preflight
from conftest import SHARED_MEDIA, cli
from preflight.errors import InputError, UsageError
from preflight.fix import FixResult
from preflight.report import Status

INTRO = "vid_music_nospeech_lp_s18.mp4"  # 9.43 s: a woman not speaking, piano music
INTRO_S = 5.0  # of it before and after a take: a stretch no window can use
TAKE = "dur_14p9_obama.mp4"  # 14.92 s: one shot, his own voice
# Four other people, 4 s each (the main voice is the one heard most), then the music again.
# (Not demo3_b too: it goes on from demo3_a's last frame, so the two join into one take with no
# cut to find.)
OUTRO = (("good_katie.mp4", 4.0), ("good_may5s.mp4", 4.0), ("good_aoc.mp4", 4.0), ("good_demo3_a.mp4", 4.0),
         (INTRO, INTRO_S))
TOLERANCE_S = 0.5

_needs_shared = pytest.mark.skipif(not (SHARED_MEDIA / TAKE).exists(), reason="needs ../shared/media")


def _on_shared_media(test):
    """A run of fix on recordings made from ../shared/media: seconds to a minute each."""
    return pytest.mark.slow(_needs_shared(test))


def _ffmpeg(*args: str | Path) -> None:
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", *map(str, args)], check=True)


def _concat(out: Path, parts: list[tuple[str, str, float | None]]) -> None:
    """``parts`` (file, extra video filter, seconds kept or None for all) joined with hard cuts,
    at one size, rate and sound format."""
    inputs, graph, labels = [], [], []
    for i, (name, picture, seconds) in enumerate(parts):
        inputs += ["-i", SHARED_MEDIA / name]
        keep, keep_sound = (f"trim=0:{seconds},setpts=PTS-STARTPTS,", f"atrim=0:{seconds},asetpts=PTS-STARTPTS,") \
            if seconds else ("", "")
        graph.append(f"[{i}:v]{keep}{picture}scale=512:512:force_original_aspect_ratio=decrease,"
                     f"pad=512:512:(ow-iw)/2:(oh-ih)/2,setsar=1,fps=25,format=yuv420p[v{i}]")
        graph.append(f"[{i}:a]{keep_sound}aresample=48000,aformat=channel_layouts=stereo[a{i}]")
        labels.append(f"[v{i}][a{i}]")
    graph.append(f"{''.join(labels)}concat=n={len(parts)}:v=1:a=1[v][a]")
    _ffmpeg(*inputs, "-filter_complex", ";".join(graph), "-map", "[v]", "-map", "[a]",
            "-c:v", "libx264", "-preset", "ultrafast", "-crf", "20", "-c:a", "aac", "-b:a", "128k", out)


def _seconds(path: Path) -> float:
    return float(subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0",
                                 str(path)], capture_output=True, text=True, check=True).stdout)


@pytest.fixture(scope="module")
def long_inputs(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("fix")
    interview, cut, short = folder / "interview.mp4", folder / "cut.mp4", folder / "short.mp4"
    # 41 s: a music intro, the take, then the others, cut one to the next.
    _concat(interview, [(INTRO, "", INTRO_S), (TAKE, "", None), *((o, "", s) for o, s in OUTRO)])
    # The only clean stretch is 6 s of one speaker, between two stretches of music.
    _concat(short, [(INTRO, "", INTRO_S), ("good_obama_a.mp4", "", 6.0), (INTRO, "", INTRO_S)])
    # The same speaker, then a hard cut to a 1.5x tighter framing of him: one voice, two shots.
    _concat(cut, [("good_obama_pauses.mp4", "", None), ("good_obama_a.mp4", "crop=300:300:75:40,", 6.0)])
    return {"interview": interview, "cut": cut, "short": short}


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@_on_shared_media
def test_intro_music_and_outro_person_leave_the_take(long_inputs, tmp_path):
    out, page = tmp_path / "ada.mp4", tmp_path / "page.html"
    take_start = INTRO_S
    take_end = take_start + _seconds(SHARED_MEDIA / TAKE)
    run = cli("fix", str(long_inputs["interview"]), "-o", str(out), "--report", str(page), "--format", "json")
    assert run.returncode == 0, run.stderr
    result = FixResult.model_validate_json(run.stdout)

    w = result.window
    assert take_start - TOLERANCE_S <= w.start and w.end <= take_end + TOLERANCE_S, (w, take_start, take_end)
    assert w.duration >= 13.5, w  # nearly all of the 14.9 s take, under 15 s less the margin
    assert {s.check for s in result.rejected} >= {"music", "scene_cuts", "single_speaker"}
    # What was written is what was checked GO: the report's bytes are the file's.
    assert result.output == str(out) and result.report.go
    assert result.report.sources[0].sha256 == _sha256(out)
    assert result.report.sources[0].path == str(out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ada.mp4", "page.html"]  # no partial file beside them

    # The page in a real browser: a row per check that rejected stretches, the window drawn over the take.
    from test_html import _chromium

    shown = _chromium(page, tmp_path, "--dump-dom")
    assert shown.returncode == 0 and 'data-ready="1"' in shown.stdout, shown.stderr[-2000:]
    assert "Uncaught" not in shown.stderr
    dom = shown.stdout
    for check in ("music", "scene_cuts", "single_speaker"):
        assert f"data-check=\"{check}\"" in dom
    assert 'id="window"' in dom and "the cut's check" in dom and "GO" in dom


@_on_shared_media
def test_a_hard_cut_keeps_the_window_on_the_longer_side_and_a_rerun_keeps_it_whole(long_inputs, tmp_path):
    out = tmp_path / "ada.mp4"
    first_shot = _seconds(SHARED_MEDIA / "good_obama_pauses.mp4")
    fixed = preflight.fix(long_inputs["cut"], output=out)
    w = fixed.window
    assert w.end <= first_shot + 0.05 and w.duration >= first_shot - 1.0, w
    assert fixed.go and fixed.report.sources[0].sha256 == _sha256(out)

    # fix on its own output: (nearly) the whole file, and a dry run writes nothing.
    before = sorted(p.name for p in tmp_path.iterdir())
    again = cli("fix", str(out), "--dry-run", "--format", "json")
    assert again.returncode == 0, again.stderr
    rerun = json.loads(again.stdout)
    whole = _seconds(out)
    assert rerun["window"]["start"] <= 0.3 and rerun["window"]["end"] >= whole - 0.3, (rerun["window"], whole)
    assert rerun["output"] is None and rerun["report"] is None
    assert sorted(p.name for p in tmp_path.iterdir()) == before


@_on_shared_media
def test_the_only_clean_six_seconds_are_the_window(long_inputs, tmp_path):
    out = tmp_path / "ada.mp4"
    start = INTRO_S
    fixed = preflight.fix(long_inputs["short"], output=out)
    w = fixed.window
    assert abs(w.start - start) <= TOLERANCE_S and abs(w.end - (start + 6.0)) <= TOLERANCE_S, w
    assert {s.check for s in fixed.rejected} >= {"music", "scene_cuts"}
    assert fixed.go and fixed.report.sources[0].sha256 == _sha256(out)


@_on_shared_media
def test_no_clean_stretch_exits_1_with_the_reason_and_writes_nothing(tmp_path):
    out = tmp_path / "ada.mp4"
    result = cli("fix", str(SHARED_MEDIA / INTRO), "-o", str(out))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "no 4 s stretch" in result.stdout
    assert "music or singing 0:00" in result.stdout and "no speech is heard" in result.stdout
    assert "best partial window" in result.stdout
    assert not out.exists() and list(tmp_path.iterdir()) == []


@_on_shared_media
def test_refuses_to_overwrite_its_input_or_to_read_past_the_limit(long_inputs, tmp_path):
    source = long_inputs["cut"]
    with pytest.raises(UsageError, match="names an input"):
        preflight.fix(source, output=source)
    with pytest.raises(UsageError, match=r"\.wav"):
        preflight.fix(SHARED_MEDIA / "audio_good_radio31.wav", output=tmp_path / "voice.mp4")
    config = tmp_path / "short.toml"
    config.write_text("[fix]\nmax_input_s = 10.0\n")
    refused = cli("fix", str(source), "-o", str(tmp_path / "ada.mp4"), "--config", str(config))
    assert refused.returncode == 2
    assert refused.stdout == "" and len(refused.stderr.strip().splitlines()) == 1
    assert " s long" in refused.stderr and "up to 10 s" in refused.stderr
    with pytest.raises(InputError):
        preflight.fix(source, output=tmp_path / "ada.mp4", policy=preflight.Policy.model_validate({"fix": {"max_input_s": 10}}))


def test_a_margin_that_leaves_no_window_is_a_bad_policy():
    with pytest.raises(ValueError, match="leaves no window"):
        preflight.Policy.model_validate({"fix": {"margin_s": 11.5}})


@_on_shared_media
def test_a_recording_kept_whole_keeps_its_own_verdict(tmp_path, monkeypatch):
    # a dub kept whole is not re-encoded into a GO, and another voice is never re-synced
    from preflight.media import Media

    decoded, made = [], Media.__init__
    monkeypatch.setattr(Media, "__init__", lambda self, probe, **kw: decoded.append(probe.path.name) or made(self, probe, **kw))
    out = tmp_path / "ada.mp4"
    result = preflight.fix(SHARED_MEDIA / "dub_obama_demo3_voice.mp4", output=out)
    # decoded once, as a check decodes it, for the plan, the window and its check (then the copy with the sound
    # moved by the lag av_sync names, which fails too: nothing written)
    assert decoded.count("dub_obama_demo3_voice.mp4") == 1, decoded
    assert result.window is not None and result.window.duration >= result.duration - 1.0
    assert not result.go and result.output is None and not out.exists()
    assert any(c.id == "av_sync" and c.reason == "av_sync.other_voice" for c in result.report.checks)
    assert result.sound_moved_ms is None and not list(tmp_path.iterdir())


SYNCED = "good_obama_pauses.mp4"  # a clear own-voice sync peak: strong enough to read an offset


def _late(out: Path, seconds: float) -> Path:
    """SYNCED with its own sound ``seconds`` late, the picture copied (as eval/cases.py's dubs family)."""
    _ffmpeg("-i", SHARED_MEDIA / SYNCED, "-filter_complex", f"[0:a]adelay={round(seconds * 1000)}:all=1,apad[a]",
            "-map", "0:v", "-map", "[a]", "-c:v", "copy", "-c:a", "aac", "-shortest", out)
    return out


@_on_shared_media
def test_fix_moves_a_sound_out_of_sync_and_writes_it_only_when_go(tmp_path):
    own = next(c for c in preflight.check(video=SHARED_MEDIA / SYNCED).checks if c.id == "av_sync")
    late = _late(tmp_path / "late.mp4", 0.5)
    failed = next(c for c in preflight.check(video=late).checks if c.id == "av_sync")
    assert failed.status is Status.FAIL and failed.reason == "av_sync.offset"
    expected = 500 + own.details["offset_ms"]  # the source itself runs a little late
    assert abs(failed.details["offset_ms"] - expected) <= 80
    result = preflight.fix(late, output=tmp_path / "ada.mp4")
    assert result.go and result.output == str(tmp_path / "ada.mp4")
    assert abs(result.sound_moved_ms - expected) <= 80  # measured again on the window fix cut
    moved = next(c for c in result.report.checks if c.id == "av_sync")
    assert moved.status is Status.PASS and abs(moved.details["offset_ms"]) <= 80
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ada.mp4", "late.mp4"]


@_on_shared_media
def test_create_fix_submits_the_re_synced_copy(mosaic_api, tmp_path):
    late = _late(tmp_path / "late.mp4", 0.5)
    run = cli("create", "--name", "Ada", "--video", str(late), "--fix")
    assert run.returncode == 0, run.stderr
    assert "the sound moved" in run.stderr and "earlier" in run.stderr and "Traceback" not in run.stderr
    (video,) = [u for u in mosaic_api.uploads.values() if u.kind == "video" and u.sha256]
    assert video.sha256 != hashlib.sha256(late.read_bytes()).hexdigest()  # the re-synced copy went up


@_on_shared_media
def test_batch_fix_re_syncs_a_set_whose_sound_is_late(tmp_path):
    folder, cuts = tmp_path / "in", tmp_path / "cuts"
    folder.mkdir(), cuts.mkdir()
    _late(folder / "ada.mp4", 0.5)
    run = cli("batch", str(folder), "--fix", str(cuts), env={"PREFLIGHT_HOME": str(tmp_path / "home")})
    assert run.returncode == 1, run.stderr  # the verdict is the source's; the re-synced copy is a new file
    assert "cut GO ada" in run.stdout and "Traceback" not in run.stderr
    (line,) = [json.loads(x) for x in (cuts / "fixes.jsonl").read_text().splitlines()]
    # the copy's own check (test_fix_moves_a_sound_out_of_sync_and_writes_it_only_when_go checks one again)
    assert line["sound_moved_ms"] >= 500 and line["report"]["verdict"] == "go" and (cuts / "ada.mp4").exists()
    assert line["report"]["sources"][0]["path"] == str(cuts / "ada.mp4")


def _two_readers(out: Path) -> Path:
    """A voice, then 13.9 s of another reader (21.9 s): a cut keeps the longer, one-voice stretch."""
    _ffmpeg("-i", SHARED_MEDIA / "audio_good_radio31.wav", "-i", SHARED_MEDIA / "aud_libri_198-209-0000.ogg",
            "-filter_complex", "[0:a]aresample=16000[a];[1:a]aresample=16000[b];[a][b]concat=n=2:v=0:a=1[s]",
            "-map", "[s]", out)
    return out


@_on_shared_media
def test_create_fix_submits_the_cut_once_and_a_recording_with_no_window_sends_nothing(mosaic_api, tmp_path):
    voice = _two_readers(tmp_path / "interview.wav")
    face = SHARED_MEDIA / "img_obama.jpg"
    runs = [cli("create", "--name", "Ada", "--image", str(face), "--audio", str(voice), "--fix") for _ in range(2)]
    for run in runs:
        assert run.returncode == 0, run.stderr
        assert "window" in run.stderr and "Traceback" not in run.stderr
    (avatar_id,) = mosaic_api.avatars  # the second run found the first one's avatar: the cut is the same bytes
    assert avatar_id in runs[1].stdout
    (audio,) = [u for u in mosaic_api.uploads.values() if u.kind == "audio" and u.sha256]
    assert audio.sha256 != hashlib.sha256(voice.read_bytes()).hexdigest()  # the cut went up, not the recording
    assert audio.size < voice.stat().st_size * 15.5 / _seconds(voice)

    music = tmp_path / "music.wav"
    _ffmpeg("-i", SHARED_MEDIA / INTRO, "-vn", "-ac", "1", "-ar", "16000", music)
    refused = cli("create", "--name", "Bo", "--image", str(face), "--audio", str(music), "--fix")
    assert refused.returncode == 1 and "no window" in refused.stderr and "nothing sent" in refused.stderr
    assert len(mosaic_api.avatars) == 1 and "Traceback" not in refused.stderr
    bad = cli("create", "--name", "Cy", "--image", str(face), "--fix")
    assert bad.returncode == 2 and "--fix cuts a recording" in bad.stderr


@_on_shared_media
def test_batch_fix_cuts_the_no_go_sets_a_window_can_save_and_lists_every_attempt(tmp_path):
    folder, cuts = tmp_path / "in", tmp_path / "cuts"
    folder.mkdir(), cuts.mkdir()
    face = (SHARED_MEDIA / "img_obama.jpg").read_bytes()
    for name in ("ada", "bo", "cy"):
        (folder / f"{name}.jpg").write_bytes(face)
    _two_readers(folder / "ada.wav")  # too long, two voices: a window saves it
    _ffmpeg("-i", SHARED_MEDIA / INTRO, "-vn", "-ac", "1", "-ar", "16000", folder / "bo.wav")  # music: nothing to keep
    _ffmpeg("-i", SHARED_MEDIA / "audio_good_radio31.wav", folder / "cy.wav")  # GO already: left alone
    run = cli("batch", str(folder), "--fix", str(cuts), env={"PREFLIGHT_HOME": str(tmp_path / "home")})
    assert run.returncode == 1, run.stderr  # the verdicts are the sources'; the cuts are new files
    assert "cut GO ada" in run.stdout and "not cut bo" in run.stdout and "Traceback" not in run.stderr
    assert sorted(p.name for p in cuts.iterdir()) == ["ada.wav", "fixes.jsonl"]
    lines = [json.loads(line) for line in (cuts / "fixes.jsonl").read_text().splitlines()]
    assert [(x["set"], x["output"] is not None) for x in lines] == [("ada", True), ("bo", False)]
    assert preflight.check(image=folder / "ada.jpg", audio=cuts / "ada.wav").go
    assert _seconds(cuts / "ada.wav") <= 15.0
    missing = cli("batch", str(folder), "--fix", str(tmp_path / "nowhere"))
    assert missing.returncode == 2 and "no such folder" in missing.stderr


def test_the_checks_a_cut_can_save_are_registered_checks():
    from preflight.analyzers import CHECK_IDS
    from preflight.fix import CUTTABLE

    assert CUTTABLE <= set(CHECK_IDS) and "overlay" not in CUTTABLE and "duration" in CUTTABLE


def test_the_first_ranked_window_its_checks_pass_is_chosen():
    # A stretch free of bad moments can still fail as a whole: here the first 10 s, whose
    # background is 6 dB under the voice. The ranking prefers it; its judgment passes it over.
    import numpy as np

    from preflight.analyzers import ANALYZERS, noise
    from preflight.fix import Window, first_passing

    n = 1250  # 20 s of 16 ms frames
    t = np.arange(n) * 256 / 16_000
    spoken = (t % 2.0) < 1.0
    background = np.where(t < 10.0, 2.5e-3, 1e-6)
    heard = noise.Background("rec.wav", np.where(spoken, 1e-2 + background, background), np.zeros(n, bool), background, spoken, spoken, 0, 20.0,
                             lambda: 4.0)
    judges = [(ANALYZERS["noise"], heard)]
    noisy, clean = (Window(start=a, end=a + 10, speech_s=5.0, in_pauses=2) for a in (0.0, 10.0))
    window, checks = first_passing([noisy, clean], judges, preflight.Policy())
    assert window == clean and [c.status.value for c in checks] == ["pass"]
    window, checks = first_passing([noisy], judges, preflight.Policy())
    assert window is None and checks[0].status is Status.FAIL and checks[0].reason == "noise.loud"


@pytest.mark.console
@pytest.mark.slow
def test_two_runs_writing_one_output_each_write_it_whole(fixture_path, tmp_path):
    # two processes writing one output: each partial file is its own, so neither reads the other's
    # half-written cut nor finds it gone. A voice beside a photo: the cut, its check and the rename
    # are a video's, at a fifth of the cost.
    out = tmp_path / "ada.wav"
    face, voice = fixture_path("face.png"), fixture_path("speech.wav")
    exe = str(Path(sys.executable).with_name("preflight"))
    runs = [subprocess.Popen([exe, "fix", "--image", str(face), "--audio", str(voice), "-o", str(out), "--format", "json"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = [(run.wait(timeout=600), run.communicate()) for run in runs]
    for code, (stdout, stderr) in results:
        assert code == 0, stderr
        assert json.loads(stdout)["report"]["verdict"] == "go"
    assert preflight.check(image=face, audio=out).go and [p.name for p in tmp_path.iterdir()] == ["ada.wav"]


def test_a_recording_whose_header_states_no_length_is_held_to_the_limit(fixture_path, tmp_path, monkeypatch):
    # a header without a length must not let fix decode past fix.max_input_s and choose a window there
    source = fixture_path("no_duration.mkv")  # 72 s; no length in its header
    policy = preflight.Policy.model_validate({"fix": {"max_input_s": 12}})
    with pytest.raises(InputError, match=r"72\.\d s long \(its packets' times; its header states no length\)"):
        preflight.fix(source, output=tmp_path / "ada.mp4", policy=policy)
    # and when the packets cannot tell, the decode itself stops a second past the limit
    fixing = sys.modules["preflight.fix"]  # the module: the package's `fix` is the function
    monkeypatch.setattr(fixing, "packets_end", lambda probe: None)
    with pytest.raises(InputError, match=r"13\.0 s long \(as it decodes, at least; its header states no length\)"):
        preflight.fix(source, output=tmp_path / "ada.mp4", policy=policy)
    assert list(tmp_path.iterdir()) == []


def test_a_damaged_recording_says_the_window_comes_from_the_part_that_decodes(fixture_path):
    # truncated.mp4: the talking head's index first, its data cut at 55%: a window chosen from the
    # readable part must say so
    import io

    from rich.console import Console

    from preflight.cli import _show_fix

    result = preflight.fix(fixture_path("truncated.mp4"), dry_run=True)
    assert len(result.warnings) == 1 and result.warnings[0].startswith("the recording is damaged: the picture stops at")
    assert "the window was chosen from the part that decodes" in result.warnings[0]
    assert preflight.fix(fixture_path("talking_head.mp4"), dry_run=True).warnings == []
    shown = io.StringIO()  # what `preflight fix --dry-run` prints for this result
    _show_fix(result, Console(file=shown, width=200))
    assert "warning: the recording is damaged" in shown.getvalue()


def test_a_fix_call_with_a_timeout_stops_a_decode_that_stalls(fixture_path, tmp_path):
    from preflight.errors import TimedOut

    with pytest.raises(TimedOut, match="did not finish in its time"):
        preflight.fix(fixture_path("edit_list.mp4"), output=tmp_path / "ada.mp4", timeout=2)
    assert list(tmp_path.iterdir()) == []


def test_a_failure_a_repair_removes_makes_a_no_go_savable():
    from preflight.analyzers import REASONS
    from preflight.fix import savable
    from preflight.policy import Policy
    from preflight.repairs import REMOVES
    from preflight.report import Check, Report, Status

    assert set(REMOVES) <= set(REASONS)

    def report(*failing: tuple[str, str]) -> Report:
        checks = [Check(id=i, source="x", status=Status.FAIL, reason=r, value=None, message=r) for i, r in failing]
        return Report.judge([], checks, Policy(), judged_by={})

    assert savable(report(("overlay", "overlay.text"))) and savable(report(("faces", "faces.several"), ("overlay", "overlay.mark")))
    assert not savable(report(("overlay", "overlay.text"), ("resolution", "resolution.too_low")))
