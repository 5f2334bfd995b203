"""The command line's manners: flags where a user puts them, `-` for standard input, whole lines
in a pipe, a spinner on a terminal."""

import os
import pty
import re
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import run_cli

pytestmark = pytest.mark.usefixtures("fixture_path")
PREFLIGHT = str(Path(sys.executable).with_name("preflight"))


def test_quiet_and_verbose_after_the_command_too(fixture_path):
    # on main `preflight check -v X` was refused: -q and -v went only before the command
    clip = str(fixture_path("speech.wav"))
    after = run_cli("check", "-v", clip)
    before = run_cli("-v", "check", clip)
    assert after.returncode == before.returncode == 0, after.stderr
    assert "policy: " in after.stderr and "checked in" in after.stderr and "policy: " in before.stderr
    quiet = run_cli("check", clip, "--quiet")
    assert quiet.returncode == 0 and quiet.stderr == "" and quiet.stdout.startswith("GO")
    both = run_cli("-q", "check", "-v", clip)
    assert both.returncode == 2 and "give -v or -q, not both" in both.stderr
    assert "--verbose" in run_cli("batch", "--help").stdout
    assert run_cli("version", "-v").stdout.count("\n") > 3  # version's own -v: everything that judges


def test_dash_reads_the_media_from_standard_input(fixture_path):
    # on main `-` was taken for a file name
    clip = fixture_path("talking_head.mp4")
    with clip.open("rb") as stdin:
        result = subprocess.run([PREFLIGHT, "check", "-", "--format", "json"], stdin=stdin, capture_output=True,
                                text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    import json

    report = json.loads(result.stdout)
    [source] = report["sources"]
    assert source["path"] == "-" and source["role"] == "video" and all(c["source"] == "-" for c in report["checks"])
    import hashlib

    assert source["sha256"] == hashlib.sha256(clip.read_bytes()).hexdigest()  # the bytes that came in
    empty = subprocess.run([PREFLIGHT, "check", "-"], stdin=subprocess.DEVNULL, capture_output=True, text=True,
                           timeout=120)
    assert empty.returncode == 2 and empty.stderr.strip() == "error: standard input is empty: pipe a media file into '-'"
    with clip.open("rb") as stdin:
        twice = subprocess.run([PREFLIGHT, "check", "-", "--audio", "-"], stdin=stdin, capture_output=True, text=True,
                               timeout=120)
    assert twice.returncode == 2 and "one source only" in twice.stderr


def test_text_in_a_pipe_is_not_wrapped_nor_padded(fixture_path):
    # on main piped text was wrapped at 80 columns, every line padded with spaces to the table's width
    result = run_cli("check", str(fixture_path("talking_head.mp4")), env={"COLUMNS": ""})
    lines = result.stdout.splitlines()
    assert not [line for line in lines if line != line.rstrip()]
    [duration] = [line for line in lines if " duration " in line]
    assert duration.endswith("(4-15 s)") and len(duration) > 80  # one line, as long as it is
    assert all(line.startswith(("  pass  ", "  skip  ")) for line in lines[1:])  # a row a check: no continuation


def test_a_spinner_says_the_step_on_a_terminal_and_nothing_in_a_pipe(fixture_path):
    # on main `check` showed nothing on a terminal for the 6-10 s it took
    clip = str(fixture_path("talking_head.mp4"))
    master, slave = pty.openpty()
    process = subprocess.Popen([PREFLIGHT, "check", clip], stdout=subprocess.PIPE, stderr=slave,
                               env={**os.environ, "TERM": "xterm"})
    os.close(slave)
    seen, deadline = b"", time.monotonic() + 300
    while time.monotonic() < deadline:
        if select.select([master], [], [], 0.2)[0]:
            try:
                chunk = os.read(master, 1 << 16)
            except OSError:  # the process closed its end
                break
            seen += chunk
        elif process.poll() is not None:
            break
    os.close(master)
    assert process.wait(60) == 0
    shown = seen.decode("utf-8", "replace")
    # the steps it drew (the spinner redraws 12 times a second: a short step can pass between two)
    steps = set(re.findall(r"checking: (decoding talking_head\.mp4|\w+ on talking_head\.mp4 \(\d+ of \d+ analyses done\))",
                           shown))
    assert steps and "\r" in shown, shown[-2000:]  # a step, redrawn in place
    assert process.stdout is not None and process.stdout.read().startswith(b"GO")
    piped = run_cli("check", clip)
    assert piped.stderr == ""
