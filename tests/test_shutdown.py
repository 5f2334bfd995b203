"""Stopping at once: Ctrl-C and the time limit end a run with its code, its children killed and
its partial files gone, never a crash in a native library's teardown.

The interrupt tests run `preflight check` and `preflight fix` as a user does, each in a session
of its own (a background job of the suite's shell would ignore SIGINT), and send SIGINT to the
process group, as a terminal's Ctrl-C does, at moments told by what the process is doing:
the child processes it runs and the CPU time it has used, not the wall clock (this machine's
load moves that by tens of seconds)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from conftest import ROOT

PREFLIGHT = str(Path(sys.executable).with_name("preflight"))


def _script(tmp_path: Path, body: str) -> subprocess.Popen:
    path = tmp_path / "run.py"
    path.write_text(textwrap.dedent(body))
    return subprocess.Popen([sys.executable, str(path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True, env={**os.environ, "PYTHONPATH": str(ROOT)})


def test_a_stop_kills_the_children_deletes_the_partials_and_joins_no_thread(tmp_path):
    child = _script(tmp_path, f"""
        import subprocess, threading
        from pathlib import Path
        from preflight import shutdown
        sleeper = shutdown.process(subprocess.Popen(["sleep", "60"]))
        print(sleeper.pid, flush=True)
        partial = Path({str(tmp_path)!r}) / ".cut.partial.mp4"
        shutdown.partial_file(partial)
        partial.write_bytes(b"half")
        with shutdown.temporary_folder("preflight-test-") as folder:
            (folder / "download.mp4").write_bytes(b"x")
            print(folder, flush=True)
            threading.Thread(target=threading.Event().wait).start()  # a normal exit would wait for it for ever
            shutdown.stop_now(7, "stopped")
    """)
    out, err = child.communicate(timeout=60)
    pid, folder = out.split()
    assert child.returncode == 7 and err.strip() == "stopped"
    assert not (tmp_path / ".cut.partial.mp4").exists() and not Path(folder).exists()
    assert _gone(int(pid))


def test_sigint_ends_a_run_whose_main_thread_is_stuck_in_native_code(tmp_path):
    # The main thread blocks SIGINT and sleeps: Python's handler can never run there. The
    # handler's C part still writes to the wake-up socket, and the watching thread stops the run.
    child = _script(tmp_path, """
        import signal, time
        from preflight import shutdown
        with shutdown.interruptible():
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
            print("ready", flush=True)
            time.sleep(60)
    """)
    assert child.stdout.readline().strip() == "ready"
    started = time.monotonic()
    os.killpg(child.pid, signal.SIGINT)
    _, err = child.communicate(timeout=60)
    assert child.returncode == 130 and err.strip() == "interrupted"
    assert time.monotonic() - started < 30  # not the minute of the sleep


def test_the_deadline_stops_the_run_with_its_line(tmp_path):
    child = _script(tmp_path, """
        import time
        from preflight import shutdown
        with shutdown.deadline(1.0, "error: too slow", 4):
            time.sleep(60)
    """)
    _, err = child.communicate(timeout=60)
    assert child.returncode == 4 and err.strip() == "error: too slow"


def test_a_sigint_ignored_by_whoever_started_the_run_stays_ignored(tmp_path):
    child = _script(tmp_path, """
        import signal, time
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        from preflight import shutdown
        with shutdown.interruptible():
            print("ready", flush=True)
            time.sleep(3)
        print("done", flush=True)
    """)
    assert child.stdout.readline().strip() == "ready"
    os.killpg(child.pid, signal.SIGINT)
    out, _ = child.communicate(timeout=60)
    assert child.returncode == 0 and out.strip() == "done"


# -- Ctrl-C at five moments of a check and of a fix ------------------------------------------------


def _children(pid: int) -> list[str]:
    """The command lines of the process's children."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            if int(Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(Path(f"/proc/{entry}/cmdline").read_text().replace("\0", " "))
        except (OSError, IndexError, ValueError):
            pass  # it ended while being read
    return found


def _group(pgid: int) -> list[int]:
    """Processes still in the process group (the run and anything it started), zombies left out."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if int(fields[2]) == pgid and fields[0] != "Z":
                found.append(int(entry))
    return found


def _cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _gone(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def _decoding(kids: list[str], of: str = "") -> bool:
    return any("-filter_complex" in k and of in k for k in kids)


class Moment:
    """A point of the run, told from outside: ``ready(kids, cpu, seen)`` is asked every few ms
    with its children's command lines, its CPU seconds and a dict it may keep notes in."""

    def __init__(self, name: str, ready: Callable[[list[str], float, dict], bool]) -> None:
        self.name, self.ready = name, ready

    def __repr__(self) -> str:
        return self.name


def _after_decode(extra_cpu: float, of: str = "") -> Callable[[list[str], float, dict], bool]:
    def ready(kids: list[str], cpu: float, seen: dict) -> bool:
        if _decoding(kids, of):
            seen["decoding"] = True
        elif seen.get("decoding"):
            seen.setdefault("ended", cpu)
            return cpu >= seen["ended"] + extra_cpu
        return False
    return ready


CHECK_MOMENTS = [
    Moment("loading (0.4 s of CPU)", lambda kids, cpu, seen: cpu >= 0.4),
    Moment("probing (ffprobe runs)", lambda kids, cpu, seen: any("ffprobe" in k for k in kids)),
    Moment("decoding, the models reading as it goes", lambda kids, cpu, seen: _decoding(kids)),
    Moment("inference, just after the decode", _after_decode(0.0)),
    Moment("inference, 0.6 s of CPU after the decode", _after_decode(0.6)),
]
FIX_MOMENTS = [
    Moment("the streamed decode of the recording", lambda kids, cpu, seen: _decoding(kids)),
    Moment("choosing the window, after the decode", _after_decode(0.2)),
    Moment("cutting (ffmpeg writes the partial file)", lambda kids, cpu, seen: any("partial" in k and "-filter_complex" not in k for k in kids)),
    # (an interrupt in a check's decode and in its inference: CHECK_MOMENTS; here, that the partial cut goes too)
    Moment("re-checking the cut: inference after its decode", _after_decode(0.0, "partial")),
]


def _slow_but(*fast: str) -> Callable[[list[Moment]], list]:
    """The moments as parameters, all but those named ``fast`` marked slow: one interrupt of each
    command stays in the fast run, the others (each a run of seconds of CPU) in the whole one."""
    return lambda moments: [m if m.name in fast else pytest.param(m, marks=pytest.mark.slow) for m in moments]


def _interrupt(args: list[str], moment: Moment, folder: Path) -> tuple[subprocess.CompletedProcess, str]:
    child = subprocess.Popen([PREFLIGHT, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             start_new_session=True, cwd=folder)
    seen: dict = {}
    deadline = time.monotonic() + 600
    try:
        while child.poll() is None and time.monotonic() < deadline:
            try:
                if moment.ready(_children(child.pid), _cpu(child.pid), seen):
                    break
            except OSError:
                pass
            time.sleep(0.003)
        came = child.poll() is None
        if came:
            os.killpg(child.pid, signal.SIGINT)
        out, err = child.communicate(timeout=300)
    finally:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGKILL)
    assert came, f"the run ended (exit {child.returncode}) before the moment: {moment}"
    time.sleep(0.5)
    return subprocess.CompletedProcess(args, child.returncode, out, err), ", ".join(map(str, _group(child.pid)))


@pytest.mark.console
@pytest.mark.parametrize("moment", _slow_but("decoding, the models reading as it goes")(CHECK_MOMENTS), ids=str)
def test_ctrl_c_during_a_check_exits_130_with_nothing_written(moment, fixture_path, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    run, left = _interrupt(["check", str(fixture_path("talking_head.mp4")), "--format", "json",
                            "--report", str(out / "page.html")], moment, tmp_path)
    assert run.returncode == 130, f"{moment}: exit {run.returncode}: {run.stderr[-800:]}"
    assert run.stderr.strip().splitlines()[-1] == "interrupted" and "Traceback" not in run.stderr
    assert run.stdout == "" and list(out.iterdir()) == []
    assert left == "", f"still running after the interrupt: {left}"


@pytest.mark.console
@pytest.mark.parametrize("moment", _slow_but("the streamed decode of the recording")(FIX_MOMENTS), ids=str)
def test_ctrl_c_during_a_fix_exits_130_with_nothing_written(moment, fixture_path, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    run, left = _interrupt(["fix", str(fixture_path("long.mp4")), "-o", str(out / "ada.mp4"),
                            "--report", str(out / "fix.html")], moment, tmp_path)
    assert run.returncode == 130, f"{moment}: exit {run.returncode}: {run.stderr[-800:]}"
    assert run.stderr.strip().splitlines()[-1] == "interrupted" and "Traceback" not in run.stderr
    assert run.stdout == "" and list(out.iterdir()) == []  # no cut, no partial cut, no page
    assert left == "", f"still running after the interrupt: {left}"
