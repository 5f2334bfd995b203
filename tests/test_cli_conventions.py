"""The command line's manners: flags where a user puts them, `-` for standard input, whole lines
in a pipe, a spinner on a terminal (the one test that needs the script: a pseudo-terminal)."""

import os
import pty
import re
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import cli

pytestmark = pytest.mark.usefixtures("fixture_path")
PREFLIGHT = str(Path(sys.executable).with_name("preflight"))


def test_quiet_and_verbose_after_the_command_too(fixture_path):
    # users write `preflight check -v X` as often as `preflight -v check X`
    clip = str(fixture_path("speech.wav"))
    after = cli("check", "-v", clip)
    before = cli("-v", "check", clip)
    assert after.returncode == before.returncode == 0, after.stderr
    assert "policy: " in after.stderr and "checked in" in after.stderr and "policy: " in before.stderr
    quiet = cli("check", clip, "--quiet")
    assert quiet.returncode == 0 and quiet.stderr == "" and quiet.stdout.startswith("GO")
    both = cli("-q", "check", "-v", clip)
    assert both.returncode == 2 and "give -v or -q, not both" in both.stderr
    assert "--verbose" in cli("batch", "--help").stdout
    assert cli("version", "-v").stdout.count("\n") > 3  # version's own -v: everything that judges


def test_dash_reads_the_media_from_standard_input(fixture_path):
    # `-` is standard input, as in every Unix tool, not a file of that name
    clip = fixture_path("speech.wav")
    result = cli("check", "-", "--format", "json", stdin=clip.read_bytes())
    assert result.returncode == 0, result.stderr
    import json

    report = json.loads(result.stdout)
    [source] = report["sources"]
    assert source["path"] == "-" and source["role"] == "audio" and all(c["source"] == "-" for c in report["checks"])
    import hashlib

    assert source["sha256"] == hashlib.sha256(clip.read_bytes()).hexdigest()  # the bytes that came in
    empty = cli("check", "-", stdin=b"")
    assert empty.returncode == 2 and empty.stderr.strip() == "error: standard input is empty: pipe a media file into '-'"
    twice = cli("check", "-", "--audio", "-", stdin=clip.read_bytes())
    assert twice.returncode == 2 and "one source only" in twice.stderr


@pytest.mark.slow
def test_text_in_a_pipe_is_not_wrapped_nor_padded(fixture_path):
    # a pipe is read by programs (grep, a CI log): no wrapping at 80 columns, no padding to a table's width
    result = cli("check", str(fixture_path("talking_head.mp4")), env={"COLUMNS": ""})
    lines = result.stdout.splitlines()
    assert not [line for line in lines if line != line.rstrip()]
    [duration] = [line for line in lines if " duration " in line]
    assert duration.endswith("(4-15 s)") and len(duration) > 80  # one line, as long as it is
    # a row a check, and a flagged check's own detail lines (limit, where, fix): no wrapped continuation
    rows = [line for line in lines[1:] if not line.startswith(" " * 10)]
    details = [line.split()[0] for line in lines[1:] if line.startswith(" " * 10)]
    assert rows and all(line.startswith(("  pass  ", "  warn  ", "  skip  ")) for line in rows)
    assert set(details) <= {"limit", "where", "fix"}


@pytest.mark.slow
@pytest.mark.console
def test_a_spinner_says_the_step_on_a_terminal(fixture_path):
    # a check takes seconds: a terminal shows which step it is on
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
    # and nothing on stderr in a pipe: test_cli's test_go_clip_exits_0_with_verdict_line
