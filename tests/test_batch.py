"""Batches: discovery and pairing, the worker pool (a bad file, a hung set), the cache, and the
command line's exit codes, lines and interruption."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import cli
from preflight.batch import SourceSet, discover, run
from preflight.errors import UsageError
from preflight.ledger import Ledger
from preflight.media import Role
from preflight.policy import Policy


# What each kind of file in a folder is made of: a real video, photo or voice from the fixtures.
_LIKE = {".mp4": "no_audio.mp4", ".mov": "no_audio.mp4", ".png": "face.png", ".jpg": "face.png", ".wav": "speech.wav"}


def _touch(folder: Path, *names: str) -> None:
    from conftest import FIXTURES

    for name in names:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        like = _LIKE.get(Path(name).suffix.lower())
        if like:
            shutil.copy(FIXTURES / like, folder / name)
        else:
            (folder / name).write_text("not media\n")


def test_pairing_rules(tmp_path):
    _touch(tmp_path, "a.mp4", "b.png", "b.wav", "c.mp4", "c.wav", "d.png", "e.wav", "notes.txt", ".hidden.mp4",
           "sub/f.MOV", "g.mp4", "g.mov", "h.mp4", "h.jpg", "README")
    sets, skipped = discover(tmp_path)
    found = {s.name: s for s in sets}
    assert sorted(found) == ["a", "b", "c", "d", "e", "g", "h", "h (image)", "sub/f"]
    assert found["a"].given == {"video": str(tmp_path / "a.mp4")}
    # one Role type everywhere, as the report's
    assert all(isinstance(role, Role) for s in found.values() for role in s.given)
    assert found["b"].given == {"image": str(tmp_path / "b.png"), "audio": str(tmp_path / "b.wav")}
    assert found["c"].given == {"video": str(tmp_path / "c.mp4"), "audio": str(tmp_path / "c.wav")}
    assert found["sub/f"].given == {"video": str(tmp_path / "sub" / "f.MOV")}
    assert "needs a voice audio" in found["d"].problem and "needs an image" in found["e"].problem
    assert "share a name" in found["g"].problem
    assert found["h"].problem is None and "needs a voice audio" in found["h (image)"].problem
    assert sorted(Path(s.path).name for s in skipped) == ["README", "notes.txt"]
    assert all(s.reason.startswith("not readable media") for s in skipped)


@pytest.mark.slow
def test_roles_come_from_the_streams_not_the_names(tmp_path, fixture_path):
    # a file's streams say what it is: an mp4 named .wav is a video, an AVIF photo an image
    shutil.copy(fixture_path("talking_head.mp4"), tmp_path / "clip.wav")
    subprocess.run(["ffmpeg", "-loglevel", "error", "-i", str(fixture_path("face.png")), "-frames:v", "1", "-c:v",
                    "libaom-av1", "-still-picture", "1", str(tmp_path / "bob.avif")], check=True)
    shutil.copy(fixture_path("speech.wav"), tmp_path / "bob.wav")
    (tmp_path / "fake.mp4").write_text("a text file with a video's name\n")
    sets, skipped = discover(tmp_path)
    found = {s.name: s for s in sets}
    assert found["clip"].given == {"video": str(tmp_path / "clip.wav")} and found["clip"].problem is None
    assert found["bob"].given == {"image": str(tmp_path / "bob.avif"), "audio": str(tmp_path / "bob.wav")}
    # named as a video, not one: a set that cannot be checked (an error), not a skip
    assert found["fake"].unreadable == (str(tmp_path / "fake.mp4"),) and skipped == []


def test_the_cache_key_changes_with_what_judges(tmp_path, fixture_path, monkeypatch):
    # a new mediapipe, FFmpeg or model file must not reuse verdicts made by the old one
    from preflight.batch import cache

    sources = SourceSet("ada", video=str(fixture_path("talking_head.mp4")))
    before = cache.cache_key(sources, Policy())
    assert before == cache.cache_key(sources, Policy())
    newer = {**cache.judges(), "mediapipe": "0.0.1"}
    monkeypatch.setattr(cache, "judges", lambda: newer)
    assert cache.cache_key(sources, Policy()) != before


def test_a_cached_result_is_made_into_the_asking_sets_report(tmp_path):
    # the cache keeps what was judged, by role: the report comes back made for the set that
    # finds it, its name, sources, checks and pictures named as that set names them
    from preflight.batch import cache
    from preflight.evidence import Evidence
    from preflight.report import Check, Report, SourceInfo, Status
    from preflight.version import judges

    def judged(video: str, audio: str) -> tuple[Report, list[Evidence]]:
        infos = [SourceInfo(path=video, role=Role.VIDEO, format="mov,mp4", duration=9.0, has_audio=True, sha256="a" * 64),
                 SourceInfo(path=audio, role=Role.AUDIO, format="wav", duration=9.0, has_audio=True, sha256="b" * 64)]
        checks = [Check(id="faces", source=video, status=Status.PASS, value=1, message="one face"),
                  Check(id="music", source=audio, status=Status.FAIL, reason="music.heard", value=0.4,
                        message="music under the voice", fix="record without music")]
        return (Report.judge(infos, checks, Policy(), judged_by=judges(), name="first"),
                [Evidence(source=video), Evidence(source=audio)])

    report, evidence = judged("first/a.mp4", "first/a.wav")
    with Ledger(tmp_path / "ledger.sqlite") as ledger:
        cache.store(ledger, "k", report, evidence)
        other = SourceSet("ada", video="later/ada.mp4", audio="later/ada.wav", labels=((Role.AUDIO, "voice.wav"),),
                          title="Ada")
        found, pictures = cache.cached(ledger, "k", other, Policy())
        expected, expected_pictures = judged("later/ada.mp4", "voice.wav")
        assert found == expected.model_copy(update={"name": "Ada"}) and pictures == expected_pictures
        # a set that lacks one of the stored roles cannot be named: it is checked again
        assert cache.cached(ledger, "k", SourceSet("v", video="v.mp4"), Policy()) is None
        # a result with two sources of one role cannot be put by role: it is not kept
        twice = report.model_copy(update={"sources": (report.sources[0], report.sources[0].model_copy(
            update={"path": "first/b.mp4"}))})
        cache.store(ledger, "k2", twice, [])
        assert ledger.checked("k2") is None


def test_manifest_rows(tmp_path):
    manifest = tmp_path / "m.csv"
    manifest.write_text("name,video,image,audio\nAda,clips/ada.mp4,,\n,,face.png,https://example.com/v.wav\nEmpty,,face.png,\n")
    sets, skipped = discover(manifest)
    assert [s.name for s in sets] == ["Ada", "face", "Empty"] and skipped == []
    assert sets[0].video == str(tmp_path / "clips" / "ada.mp4")
    assert sets[1].audio == "https://example.com/v.wav" and sets[1].problem is None
    assert sets[2].problem == "row 4 needs a video, or an image and an audio"


@pytest.mark.parametrize("content", ["just,some,columns\n1,2,3\n", None])
def test_a_bad_target_is_a_usage_error(tmp_path, content):
    target = tmp_path / "m.csv"
    if content is None:
        target = tmp_path / "clip.mp4"
        target.write_bytes(b"x")
    else:
        target.write_text(content)
    with pytest.raises(UsageError):
        discover(target)


@pytest.mark.slow
def test_a_corrupt_file_among_good_ones_is_one_error_row(fixture_path, pool_here):
    sets = [SourceSet("good", video=str(fixture_path("talking_head.mp4"))),
            SourceSet("text", video=str(fixture_path("text.mp4"))),
            SourceSet("voice", image=str(fixture_path("face.png")), audio=str(fixture_path("speech.wav"))),
            SourceSet("cut", video=str(fixture_path("cut.mp4")))]
    results = {r.set.name: r for r in run(sets, Policy(), jobs=2)}
    # the puppet talking head is GO with a warning: its 84 px mouth is too small for av_sync to judge
    assert {name: r.outcome for name, r in results.items()} == {"good": "warn", "text": "error", "voice": "go", "cut": "no-go"}
    assert "not a readable video" in results["text"].report.checks[0].message
    assert results["good"].report.name == "good"
    (cut,) = results["cut"].evidence
    assert len(cut.frames) == 8 and len(cut.cuts) == 1 and cut.wave.speech


@pytest.mark.slow
def test_a_set_that_hangs_is_stopped_and_the_batch_goes_on(web, fixture_path):
    sets = [SourceSet("stalls", video=f"{web.url}/stall"),
            SourceSet("voice", image=str(fixture_path("face.png")), audio=str(fixture_path("speech.wav")))]
    results = {r.set.name: r for r in run(sets, Policy(), jobs=1, time_limit=8)}
    assert results["stalls"].outcome == "error"
    assert "longer than 8 s" in results["stalls"].report.checks[0].message
    assert results["voice"].outcome == "go"


@pytest.mark.slow  # sleeps: 10 s
def test_a_set_s_time_limit_counts_from_when_its_worker_is_ready():
    import toy_worker
    from preflight.batch.pool import READY, Pool

    assert toy_worker.READY == READY
    task = (SourceSet("ada", audio="ada.wav"), None)
    # a 4 s start, then 2 s and preflight's imports for the set: over the limit in all, neither part alone
    with Pool(1, Policy(), time_limit=6, worker=toy_worker.slow_to_start) as pool:
        assert [outcome.why for _, outcome in pool.map([task])] == ["answered"]
    with Pool(1, Policy(), time_limit=2, worker=toy_worker.slow_to_start) as pool:  # a start longer than the limit itself
        ((_, outcome),) = list(pool.map([task]))
    assert outcome.why.startswith("the checker process did not start within 2 s")


@pytest.mark.slow
def test_an_unchanged_set_comes_from_the_cache_until_the_policy_changes(tmp_path, fixture_path, pool_here):
    # the checks in this process (the cache is the batch's, not its workers')
    sets = [SourceSet("voice", image=str(fixture_path("face.png")), audio=str(fixture_path("speech.wav")))]
    with Ledger(tmp_path / "ledger.sqlite") as ledger:
        (first,) = run(sets, Policy(), jobs=1, ledger=ledger)
        (again,) = run(sets, Policy(), jobs=1, ledger=ledger)
        (strict,) = run(sets, Policy(strict=True), jobs=1, ledger=ledger)
        (forced,) = run(sets, Policy(), jobs=1, ledger=ledger, use_cache=False)
        # a stored result that no longer reads as a report (an older schema) is checked again, not a crash
        from preflight.batch import cache_key

        ledger.store_checked(cache_key(sets[0], Policy()), '{"verdict": "go", "checks": [{"value": "old"}]}', b"")
        (stale,) = run(sets, Policy(), jobs=1, ledger=ledger)
    assert (first.cached, again.cached, strict.cached, forced.cached, stale.cached) == (False, True, False, False, False)
    assert again.report == first.report and again.evidence == first.evidence
    assert stale.report.verdict == first.report.verdict


def test_batch_command_exit_codes_lines_and_report(tmp_path, fixture_path, fixture_folder, pool_here):
    folder = fixture_folder(tmp_path, {"ada.png": "face.png", "ada.wav": "speech.wav", "bob.mp4": "lowres.mp4"})
    lines, html = tmp_path / "r.jsonl", tmp_path / "r.html"
    env = {"PREFLIGHT_HOME": str(tmp_path / "home")}
    result = cli("batch", str(folder), "--jobs", "2", "--jsonl", str(lines), "--report", str(html), env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    reports = [json.loads(line) for line in lines.read_text().splitlines()]
    assert sorted(r["name"] for r in reports) == ["ada", "bob"] and all(r["verdict"] == "go" for r in reports)
    assert "<html" in html.read_text()[:200]
    (folder / "cut.mp4").write_bytes(fixture_path("cut.mp4").read_bytes())
    again = cli("batch", str(folder), env=env)
    assert again.returncode == 1 and "2 from the cache" in again.stdout and "NO-GO cut: " in again.stdout
    # --jsonl -: the lines on stdout, nothing else there, and no file named "-"
    piped = cli("batch", str(folder), "--jsonl", "-", env=env, cwd=tmp_path)
    assert piped.returncode == 1 and not (tmp_path / "-").exists()
    assert sorted(json.loads(line)["name"] for line in piped.stdout.splitlines()) == ["ada", "bob", "cut"]
    assert "NO-GO cut: " in piped.stderr
    # --format json: one JSON event per finished set on stderr (as --progress json), the summary on stdout
    logged = cli("batch", str(folder), "--format", "json", env=env)  # --format json: JSON progress too
    events = [json.loads(line) for line in logged.stderr.splitlines()]
    assert sorted(e["name"] for e in events) == ["ada", "bob", "cut"] and [e["done"] for e in events] == [1, 2, 3]
    assert {e["name"]: e["reasons"] for e in events}["cut"] and all(e["cached"] for e in events)
    summary = json.loads(logged.stdout)
    assert (summary["go"] + summary["warn"], summary["no-go"], summary["sets"]["cut"]) == (2, 1, "no-go")
    assert cli("batch", str(tmp_path / "nowhere"), env=env).returncode == 2


@pytest.mark.console
@pytest.mark.slow
def test_ctrl_c_stops_cleanly_keeps_lines_and_the_rerun_resumes(tmp_path, fixture_folder):
    # four image + voice sets: a GO set as a video is, at a fraction of a video's check (about a
    # second each, one at a time, so three leave the interrupt seconds to land after the first line)
    folder = fixture_folder(tmp_path, {**{f"set{i}.png": "face.png" for i in range(4)},
                                       **{f"set{i}.wav": "speech.wav" for i in range(4)}})
    for i in range(4):  # different bytes, so each is checked on its own
        with (folder / f"set{i}.png").open("ab") as f:
            f.write(bytes([i]))
    lines = tmp_path / "r.jsonl"
    env = {**os.environ, "PREFLIGHT_HOME": str(tmp_path / "home")}
    child = subprocess.Popen([str(Path(sys.executable).with_name("preflight")), "batch", str(folder), "--jobs", "1",
                              "--jsonl", str(lines)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and (not lines.exists() or len(lines.read_text().splitlines()) < 1):
        time.sleep(0.1)
    child.send_signal(signal.SIGINT)
    out, err = child.communicate(timeout=60)
    assert child.returncode == 130, err
    kept = [json.loads(line) for line in lines.read_text().splitlines()]
    assert 1 <= len(kept) < 4 and "interrupted" in out and "Traceback" not in err
    rerun = cli("batch", str(folder), "--jobs", "2", env={"PREFLIGHT_HOME": str(tmp_path / "home")})
    assert rerun.returncode == 0
    assert f"{len(kept)} from the cache" in rerun.stdout and "4 of 4 sets checked" in rerun.stdout


@pytest.mark.slow
def test_a_worker_that_dies_is_one_error_row_and_is_replaced(web, fixture_path):
    import multiprocessing
    import threading

    sets = [SourceSet("dies", video=f"{web.url}/stall"),
            SourceSet("voice", image=str(fixture_path("face.png")), audio=str(fixture_path("speech.wav")))]

    def kill_the_worker():
        time.sleep(3)  # it is then waiting on the stalled download
        for child in multiprocessing.active_children():
            os.kill(child.pid, signal.SIGKILL)

    threading.Thread(target=kill_the_worker, daemon=True).start()
    results = {r.set.name: r for r in run(sets, Policy(), jobs=1, time_limit=60)}
    assert results["dies"].outcome == "error"
    assert "crashed" in results["dies"].report.checks[0].message
    assert results["voice"].outcome == "go"


def test_submit_creates_avatars_for_the_go_sets_only(mosaic_api, tmp_path, fixture_folder, pool_here):
    folder = fixture_folder(tmp_path, {"ada.png": "face.png", "ada.wav": "speech.wav",
                                       "bo.png": "face.png", "bo.wav": "speech_short.wav"})
    result = cli("batch", str(folder), "--submit")
    assert result.returncode == 1  # bo's voice is too short: NO-GO
    (avatar,) = mosaic_api.avatars.values()
    assert avatar["name"] == "ada" and sorted(avatar["sources"]) == ["audio_id", "image_id"]
    assert f"ada: avatar {avatar['id']}" in result.stdout
    assert mosaic_api.api_key not in result.stdout + result.stderr
    again = cli("batch", str(folder), "--submit")
    assert len(mosaic_api.avatars) == 1 and f"ada: avatar {avatar['id']}" in again.stdout


def test_without_a_writable_ledger_the_batch_still_checks(tmp_path, fixture_folder):
    folder = fixture_folder(tmp_path, {"ada.png": "face.png", "ada.wav": "speech.wav"})
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    result = cli("batch", str(folder), env={"PREFLIGHT_HOME": str(blocker / "home")})
    assert result.returncode == 0, result.stderr
    assert "going on without the ledger (no cache)" in result.stderr and "1 of 1 sets checked" in result.stdout


@pytest.mark.slow
def test_a_file_named_as_media_that_does_not_read_is_an_error_row_never_a_skip(tmp_path, fixture_path, fixture_folder):
    # a file named as media that does not read is an error (exit 1), not a skip that leaves the set GO
    folder = fixture_folder(tmp_path, {"good.png": "face.png", "good.wav": "speech.wav", "cut_short.mp4": "truncated_header.mp4",
                                       "nothing.mp4": "empty.mp4", "ada.png": "face.png", "ada.wav": "empty.mp4"})
    (folder / "notes.txt").write_text("not media, and not named as media\n")
    lines = tmp_path / "r.jsonl"
    result = cli("batch", str(folder), "--jsonl", str(lines), "--jobs", "1", env={"PREFLIGHT_HOME": str(tmp_path / "home")})
    rows = {r["name"]: r for r in map(json.loads, lines.read_text().splitlines())}
    assert result.returncode == 1, result.stderr
    assert {n: r["checks"][0]["status"] for n, r in rows.items() if n != "good"} == dict.fromkeys(
        ["cut_short", "nothing", "ada"], "error")
    assert rows["good"]["verdict"] == "go"
    assert "index (the MP4 'moov' atom) is missing" in rows["cut_short"]["checks"][0]["message"]
    assert "empty (0 bytes)" in rows["nothing"]["checks"][0]["message"]
    assert "ada.wav cannot be read" in rows["ada"]["checks"][0]["message"]
    assert "1 files skipped" in result.stdout and "errors" in result.stdout


@pytest.mark.slow
def test_a_manifest_row_naming_dev_zero_or_a_fifo_is_an_error_row_at_once(tmp_path, fixture_path):
    # hashing /dev/zero's bytes for the cache never ends and a FIFO blocks: refused as they are named
    os.mkfifo(tmp_path / "pipe.mp4")
    manifest = tmp_path / "m.csv"
    manifest.write_text(f"name,video,image,audio\nzero,/dev/zero,,\nfifo,pipe.mp4,,\n"
                        f"good,,{fixture_path('face.png')},{fixture_path('speech.wav')}\n")
    lines = tmp_path / "r.jsonl"
    result = cli("batch", str(manifest), "--jsonl", str(lines), "--jobs", "1", env={"PREFLIGHT_HOME": str(tmp_path / "home")})
    rows = {r["name"]: r for r in map(json.loads, lines.read_text().splitlines())}
    assert result.returncode == 1, result.stderr
    assert rows["good"]["verdict"] == "go"
    for name in ("zero", "fifo"):
        assert rows[name]["checks"][0]["status"] == "error" and "not a regular file" in rows[name]["checks"][0]["message"]


@pytest.mark.slow
def test_a_cached_row_carries_this_sets_name_and_path(tmp_path, fixture_path, fixture_folder):
    # the cache is keyed by bytes: a row found there still carries its own set's name and path,
    # also for names that look like options, hold a newline or are not ASCII
    folder = fixture_folder(tmp_path, {"good.mp4": "talking_head.mp4"})
    env = {"PREFLIGHT_HOME": str(tmp_path / "home")}
    assert cli("batch", str(folder), env=env).returncode == 0
    names = ["-o", "line\nbreak", "Zoë 声"]
    for name in names:
        shutil.copy(folder / "good.mp4", folder / f"{name}.mp4")
    lines = tmp_path / "r.jsonl"
    result = cli("batch", str(folder), "--jsonl", str(lines), env=env)
    rows = [json.loads(line) for line in lines.read_text().splitlines()]
    assert result.returncode == 0 and "4 from the cache" in result.stdout
    assert sorted(r["name"] for r in rows) == sorted(["good", *names])
    for row in rows:
        paths = {row["sources"][0]["path"]} | {c["source"] for c in row["checks"]}
        assert paths == {str(folder / f"{row['name']}.mp4")}, row["name"]


def test_batch_outputs_may_not_overwrite_a_source(tmp_path, fixture_path, fixture_folder):
    folder = fixture_folder(tmp_path, {"talking_head.mp4": "talking_head.mp4", "cut.mp4": "cut.mp4"})
    env = {"PREFLIGHT_HOME": str(tmp_path / "home")}
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    for args, words in ((("--report", folder / "cut.mp4"), "--report names an input"),
                        (("--jsonl", folder / "talking_head.mp4"), "--jsonl names an input"),
                        (("--report", tmp_path / "r.out", "--jsonl", tmp_path / "r.out"), "named by both")):
        result = cli("batch", str(folder), *map(str, args), env=env)
        assert result.returncode == 2 and words in result.stderr, result.stderr
        assert "checking" not in result.stderr and result.stdout == ""
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
