"""The command line: exit codes, output streams, bad input. Most run in this process
(``conftest.cli``); the few marked ``console`` start the installed script, for what only a process
shows: its exit, native libraries kept off stderr, a missing ffmpeg on PATH, the time limit."""

import json
import os
import shutil

import pytest

from conftest import cli, run_cli

pytestmark = pytest.mark.usefixtures("fixture_path")


@pytest.mark.console
def test_go_clip_exits_0_with_verdict_line(fixture_path):
    # the installed script: mediapipe's and TFLite's native chatter must not reach stderr
    result = run_cli("check", str(fixture_path("talking_head.mp4")))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0].startswith("GO")
    assert "scene_cuts" in result.stdout and "faces" in result.stdout
    assert result.stderr == ""  # in a pipe: no spinner, no note, no native library's line


def test_no_go_clip_exits_1_names_the_fix_and_can_write_an_html_page_with_pictures(fixture_path, tmp_path):
    page = tmp_path / "cut.html"
    result = cli("check", str(fixture_path("cut.mp4")), "--report", str(page))
    assert result.returncode == 1
    assert result.stdout.startswith("NO-GO")
    assert "continuous take" in result.stdout
    html = page.read_text()
    assert "cuts: the frames on both sides" in html and html.count("data:image/jpeg;base64,") >= 10
    assert cli("check", str(fixture_path("cut.mp4")), "--report", str(tmp_path / "no" / "x.html")).returncode == 2


def test_json_is_the_only_thing_on_stdout(fixture_path):
    result = cli("check", str(fixture_path("speech_short.wav")), "--format", "json")  # 2.5 s: too short
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["verdict"] == "no-go"
    assert {c["id"]: c["status"] for c in report["checks"]}["duration"] == "fail"


@pytest.mark.slow
def test_strict_turns_warnings_into_no_go(fixture_path):
    strict = cli("check", str(fixture_path("lowres.mp4")), "--strict", "--format", "json")
    report = json.loads(strict.stdout)
    statuses = {c["status"] for c in report["checks"]}
    assert "warn" in statuses and not statuses & {"fail", "error"}  # GO, with warnings, but for --strict
    assert strict.returncode == 1 and report["verdict"] == "no-go" and report["strict"] is True


def test_image_and_audio_are_one_source_set(fixture_path):
    result = cli("check", "--image", str(fixture_path("face.png")), "--audio", str(fixture_path("speech.wav")),
                     "--format", "json")
    assert result.returncode == 0, result.stdout
    report = json.loads(result.stdout)
    assert sorted(s["role"] for s in report["sources"]) == ["audio", "image"]


def test_config_file_changes_the_limits(fixture_path, tmp_path):
    config = tmp_path / "strict.toml"
    config.write_text("[duration]\nmax_s = 6.0\n")
    result = cli("check", str(fixture_path("speech.wav")), "--config", str(config), "--format", "json")  # 11 s
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["policy"]["duration"]["max_s"] == 6.0


def test_preflight_toml_found_from_working_directory(fixture_path, tmp_path):
    (tmp_path / "preflight.toml").write_text("[duration]\nmin_s = 12.0\n")
    result = cli("check", str(fixture_path("speech.wav")), "--format", "json", cwd=tmp_path)
    report = json.loads(result.stdout)
    assert report["policy"]["duration"]["min_s"] == 12.0
    assert result.returncode == 1
    assert [c["status"] for c in report["checks"] if c["id"] == "duration"] == ["fail"]  # 11 s, under the file's 12


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("empty.mp4", "empty"),
        ("text.mp4", "not a readable"),
        ("truncated_header.mp4", "incomplete"),
        ("huge.png", "8192"),
    ],
)
def test_unreadable_input_is_one_line_and_exit_2(fixture_path, name, words):
    result = cli("check", str(fixture_path(name)))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and words in lines[0], result.stderr
    assert result.stdout == ""


def test_missing_file_and_directory_exit_2(tmp_path):
    for target, words in ((tmp_path / "nope.mp4", "no such file"), (tmp_path, "folder")):
        result = cli("check", str(target))
        assert result.returncode == 2 and words in result.stderr
        assert "Traceback" not in result.stderr


def test_bad_usage_exits_2(fixture_path):
    assert cli("check").returncode == 2
    unknown = cli("check", "--frobnicate")
    assert unknown.returncode == 2
    [line] = unknown.stderr.strip().splitlines()
    # click words it "No such option: --x" or (8.2 and later, unvendored) "No such option '--x'."
    assert line.startswith("error: No such option") and "--frobnicate" in line and "`preflight check --help`" in line
    two_videos = cli("check", str(fixture_path("talking_head.mp4")), str(fixture_path("cut.mp4")))
    assert two_videos.returncode == 2 and "one of each role" in two_videos.stderr
    wrong_role = cli("check", "--image", str(fixture_path("speech.wav")))
    assert wrong_role.returncode == 2 and "given as the image" in wrong_role.stderr


def test_bad_config_exits_2(fixture_path, tmp_path):
    config = tmp_path / "bad.toml"
    config.write_text("[duration]\nmax_seconds = 6\n")
    result = cli("check", str(fixture_path("speech.wav")), "--config", str(config))
    assert result.returncode == 2 and "max_seconds" in result.stderr


@pytest.mark.console
def test_missing_ffmpeg_is_a_clear_error(fixture_path, tmp_path):
    # A PATH with python's folder but without ffmpeg/ffprobe.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("env",):
        os.symlink(shutil.which(tool), bin_dir / tool)
    result = run_cli("check", str(fixture_path("talking_head.mp4")), env={"PATH": str(bin_dir)})
    assert result.returncode == 2
    assert "ffprobe is not installed" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.console
def test_dash_h_is_help_from_the_script():
    result = run_cli("-h", env={"COLUMNS": "200"})
    assert result.returncode == 0 and "Usage: preflight" in result.stdout, result.stderr


@pytest.mark.parametrize("command", ["check", "create", "status", "list", "batch", "version", "schema"])
def test_dash_h_is_help_everywhere(command):
    result = cli(*command.split(), "-h", env={"COLUMNS": "200"})
    assert result.returncode == 0 and "Usage: preflight" in result.stdout, result.stderr
    if command == "create":  # markdown help: paragraphs wrap to the terminal, not at the docstring's line ends
        assert "Running it again for the same media and name returns the avatar made the first time." in result.stdout


def test_a_broken_check_exits_4_unless_another_check_failed(fixture_path, monkeypatch):
    # a crashed analyzer is not a verdict on the media: exit 4, not the 1 of media that fails.
    # A bug in an analyzer cannot be made from the outside: one is swapped for a crash.
    import dataclasses

    from preflight.analyzers import ANALYZERS

    monkeypatch.setitem(ANALYZERS, "music", dataclasses.replace(ANALYZERS["music"], measure=lambda media, policy: 1 / 0))
    broken = cli("check", str(fixture_path("speech.wav")))
    assert broken.returncode == 4 and "ZeroDivisionError" in broken.stdout, broken.stdout + broken.stderr
    failing = cli("check", str(fixture_path("speech_short.wav")))  # too short: a real failure too
    assert failing.returncode == 1


def test_the_schema_command_prints_the_published_schema():
    from conftest import ROOT

    result = cli("schema")
    assert result.returncode == 0
    assert json.loads(result.stdout) == json.loads((ROOT / "schema" / "report.schema.json").read_text())
    assert (ROOT / "preflight" / "py.typed").is_file()  # the package's types are for its users too


def test_shell_completion_completes_commands_and_options():
    words = cli(env={"_PREFLIGHT_COMPLETE": "complete_bash", "COMP_WORDS": "preflight ch", "COMP_CWORD": "1"})
    assert words.returncode == 0 and words.stdout.split() == ["check"]
    options = cli(env={"_PREFLIGHT_COMPLETE": "complete_bash", "COMP_WORDS": "preflight check --fo", "COMP_CWORD": "2"})
    assert options.stdout.split() == ["--format"]
    # typer names the shell it finds among the process's parents (none under a detached test run);
    # its own test switch makes the option take the shell's name instead
    script = cli("--show-completion", "bash", env={"_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "1"})
    assert "complete -o" in script.stdout and "_PREFLIGHT_COMPLETE=complete_bash" in script.stdout, script.stderr


def test_version():
    result = cli("--version")
    assert result.returncode == 0 and result.stdout.startswith("preflight ")
    verbose = cli("version", "-v")
    names = [line.split()[0] for line in verbose.stdout.splitlines()[1:]]
    assert verbose.returncode == 0 and {"ffmpeg", "mediapipe", "onnxruntime", "opencv", "models"} <= set(names)
    assert "missing" not in verbose.stdout


def _voice_set(fixture_path):
    return ["--image", str(fixture_path("face.png")), "--audio", str(fixture_path("speech.wav"))]


def test_create_prints_the_avatar_and_keeps_the_key_out_of_everything(mosaic_api, fixture_path):
    result = cli("create", "--name", "Ada", *_voice_set(fixture_path))
    assert result.returncode == 0, result.stderr
    (avatar_id,) = mosaic_api.avatars
    assert f"avatar {avatar_id}" in result.stdout and "pending" in result.stdout
    assert "uploading" in result.stderr and "Traceback" not in result.stderr
    listed = cli("list")
    shown = cli("status", avatar_id, "--format", "json")
    assert listed.returncode == 0 and avatar_id in listed.stdout and "Ada" in listed.stdout
    assert shown.returncode == 0 and json.loads(shown.stdout)["id"] == avatar_id
    for run in (result, listed, shown):
        assert mosaic_api.api_key not in run.stdout + run.stderr


def test_verbose_shows_the_policy_timings_and_a_retried_request_and_quiet_shows_nothing(mosaic_api, fixture_path):
    # a retried 503 leaves a trace when asked (-v), none otherwise
    mosaic_api.fault("GET /avatar-profiles", times=1, status=503)
    loud = cli("-v", "create", "--name", "Ada", *_voice_set(fixture_path))
    assert loud.returncode == 0, loud.stderr
    assert "policy: the built-in limits" in loud.stderr and "503" in loud.stderr and "try 2 of" in loud.stderr
    assert mosaic_api.api_key not in loud.stderr
    timed = cli("-v", "check", str(fixture_path("speech.wav")))
    assert "noise (speech.wav): pass in" in timed.stderr and "checked in" in timed.stderr
    silent = cli("-q", "create", "--name", "Grace", *_voice_set(fixture_path))
    assert silent.returncode == 0 and silent.stderr == "" and "avatar" in silent.stdout
    assert cli("-q", "-v", "check", str(fixture_path("speech.wav"))).returncode == 2


def test_create_no_go_shows_the_report_sends_nothing_exits_1(mosaic_api, fixture_path):
    result = cli("create", "--name", "Ada", "--image", str(fixture_path("face.png")),
                 "--audio", str(fixture_path("speech_short.wav")))  # 2.5 s of voice: too short
    assert result.returncode == 1
    assert result.stdout.startswith("NO-GO") and "nothing was sent" in result.stderr
    assert mosaic_api.requests == []


def test_create_without_a_key_is_one_line_exit_2(mosaic_api, fixture_path):
    result = cli("create", "--name", "Ada", *_voice_set(fixture_path), env={"MOSAIC_API_KEY": ""})
    assert result.returncode == 2
    assert result.stderr.strip() == "error: MOSAIC_API_KEY is not set: export your Mosaic API key (mk_...) to submit avatars"
    assert mosaic_api.requests == []


def test_create_dry_run_needs_no_key_and_lists_the_requests(mosaic_api, fixture_path):
    result = cli("create", "--name", "Ada", *_voice_set(fixture_path), "--dry-run", "--format", "json",
                     env={"MOSAIC_API_KEY": ""})
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["report"]["verdict"] == "go" and out["requests"][-1].startswith("POST /avatar-profiles/create")
    assert mosaic_api.requests == []


def test_create_json_is_the_avatar(mosaic_api, fixture_path):
    result = cli("create", "--name", "Ada", *_voice_set(fixture_path), "--format", "json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["id"] in mosaic_api.avatars


def test_a_failed_avatar_exits_3_with_its_message(mosaic_api, fixture_path):
    mosaic_api.avatars_fail = True
    result = cli("create", "--name", "Ada", *_voice_set(fixture_path), "--wait")
    assert result.returncode == 3
    assert result.stderr.strip().splitlines()[-1].endswith("failed: no face could be tracked in the video")


def test_an_api_error_exits_3_on_one_line_with_the_key_masked(mosaic_api, fixture_path):
    mosaic_api.fault("POST /avatar-profiles/create", times=1, status=400, error="bad token {authorization}")
    result = cli("create", "--name", "Ada", *_voice_set(fixture_path))
    assert result.returncode == 3
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: POST") and "400 Bad Request: bad token Bearer mk_***" in last
    assert mosaic_api.api_key not in result.stdout + result.stderr


def _sha(path):
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_no_output_may_be_an_input_a_folder_or_another_output_and_all_are_refused_first(fixture_path, tmp_path,
                                                                                         monkeypatch):
    # an output over an input would destroy it; refused before any analysis starts (the analysis
    # is swapped for an error here, so a refusal that came after it would show as exit 4)
    import importlib

    def started(*_, **__):
        raise AssertionError("the analysis started before the outputs were refused")

    monkeypatch.setattr(importlib.import_module("preflight.pipeline"), "inspect", started)
    monkeypatch.setattr(importlib.import_module("preflight.fix"), "fix", started)
    clip, voice = tmp_path / "v.mp4", tmp_path / "a.wav"
    shutil.copy(fixture_path("edit_list.mp4"), clip)
    shutil.copy(fixture_path("speech.wav"), voice)
    (tmp_path / "dir.mp4").mkdir()
    (tmp_path / "link.html").symlink_to(clip)
    before = {p: _sha(p) for p in (clip, voice)}
    cases = {
        ("check", clip, "--report", clip): "--report names an input",
        ("check", clip, "--report", tmp_path / "link.html"): "--report names an input",
        ("fix", clip, "-o", tmp_path / "out.mp4", "--report", clip): "--report names an input",
        ("fix", voice, "-o", tmp_path / "c.wav", "--report", tmp_path / "c.wav"): "named by both -o and --report",
        ("fix", clip, "-o", tmp_path / "dir.mp4"): "-o names a folder",
        ("fix", clip, "-o", tmp_path / "nowhere" / "out.mp4"): "does not exist",
        ("check", clip, "--report", "/dev/null"): "not a file",
    }
    for args, words in cases.items():
        result = cli(*map(str, args))
        lines = result.stderr.strip().splitlines()
        assert result.returncode == 2 and len(lines) == 1 and words in lines[0], (args, result.stderr)
        assert result.stdout == ""
    assert {p: _sha(p) for p in (clip, voice)} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.wav", "dir.mp4", "link.html", "v.mp4"]


@pytest.mark.console
@pytest.mark.slow
def test_check_fix_and_create_stop_at_their_time_limit(fixture_path, tmp_path, mosaic_api):
    # 10,000 edit-list entries keep ffmpeg busy for over 10 minutes: each command stops at its limit
    # (the process ends at once, so this runs the script)
    stall = fixture_path("edit_list.mp4")
    for args in (("check", stall), ("fix", stall, "-o", tmp_path / "out.mp4"),
                 ("create", "--name", "Ada", "--video", stall)):
        result = run_cli(*map(str, args), "--time-limit", "3")
        last = result.stderr.strip().splitlines()[-1]
        assert result.returncode == 4, (args, result.stderr)
        assert last.startswith("error: ") and "did not finish within 3 s (--time-limit)" in last
        assert "Traceback" not in result.stderr and result.stdout == ""
    assert [p.name for p in tmp_path.iterdir() if p.name != "home"] == []  # no cut, no partial cut
    assert mosaic_api.requests == []  # stopped while checking: nothing sent


@pytest.mark.slow
def test_a_file_whose_header_states_no_length_is_decoded_a_second_past_the_maximum(fixture_path):
    # no_duration.mkv runs 72 s; decoding all of such a file is unbounded (a 20-minute one grows
    # past 4.6 GB): the check stops a second past the 15 s maximum, where the verdict is decided
    result = cli("check", str(fixture_path("no_duration.mkv")), "--format", "json")
    checks = {c["id"]: c for c in json.loads(result.stdout)["checks"]}
    assert result.returncode == 1 and checks["duration"]["status"] == "fail"
    assert checks["duration"]["message"].startswith("at least 16 s long (as decoded")
    assert "(first 16 s checked)" in checks["decodable"]["message"]


@pytest.mark.slow
def test_more_than_eight_channels_are_averaged_not_a_broken_picture(fixture_path, report_of):
    # ffmpeg's own downmix fails on 32 channels ("the picture stops at 0.0 s", no speech, numpy's
    # RuntimeWarning on stderr): they are averaged instead
    result = cli("check", str(fixture_path("channels32.mov")), "--format", "json")
    report = json.loads(result.stdout)
    alone = report_of("talking_head.mp4")  # the same picture and sound, in two channels
    assert result.returncode == 0 and report["verdict"] == alone.verdict == "go", result.stderr
    statuses = {c["id"]: c["status"] for c in report["checks"]}
    assert statuses["decodable"] == statuses["speech"] == "pass"
    assert result.stderr == ""


@pytest.mark.parametrize(("toml", "words"), [
    ("[duration]\nmax_s = " + "9" * 5000 + "\n", "4300 digits"),  # int() refuses it: ValueError
    ("x = " + "[" * 100_000 + "]" * 100_000 + "\n", "nested too deep"),  # tomllib: RecursionError
    ("[duration]\nmax_s = 1e400\n", "finite number"),  # TOML reads it as infinity
    ("[resolution]\nwarn_below = " + "9" * 4000 + "\n", "this large"),
])
def test_a_hostile_policy_file_is_one_line_and_exit_2(fixture_path, tmp_path, toml, words):
    config = tmp_path / "p.toml"
    config.write_text(toml)
    result = cli("check", str(fixture_path("speech.wav")), "--config", str(config))
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1 and words in lines[0], result.stderr


def test_a_broken_pyproject_in_the_working_directory_is_warned_about(fixture_path, tmp_path):
    (tmp_path / "pyproject.toml").write_text("[tool.preflight\nduration = {max_s = 6\n")
    result = cli("check", str(fixture_path("speech.wav")), "--format", "json", cwd=tmp_path)
    assert result.returncode == 0 and json.loads(result.stdout)["policy"]["duration"]["max_s"] == 15.0
    assert "pyproject.toml: not valid TOML" in result.stderr and "[tool.preflight] in it is not read" in result.stderr
