"""A hostile but realistic user: the cases of issue 30, each through the command line, `preflight
serve` on 127.0.0.1 and the Python API, judged right or wrong.

    .venv/bin/python eval/hostile.py                  # builds into eval/out/hostile, prints the table
    .venv/bin/python eval/hostile.py --only interrupt,serve

A row is right when the user's files survive, the run ends in bounded time and memory with its
documented exit code and one clear line (never a traceback), and what it reports is true:

1. no output overwrites an input (a path, a symbolic or a hard link) or another output;
2. a recording whose header states no length is held to the decode's bound (check) and to
   ``fix.max_input_s`` (fix), in memory and time;
3. a manifest naming /dev/zero or a FIFO gives error rows at once; a file that stalls the
   decoder (50,000 edit-list entries) stops at the time limit of check, fix, create and serve;
4. Ctrl-C (SIGINT to the process group) at moments spread over a check and a fix: 130, every
   time, nothing written, no process left behind;
5. two fix runs writing one output;
6. a truncated or empty .mp4 in a batch is an error row, not a skip;
7. cached batch rows carry their own names;
8. a video with 32 channels of sound;
9. an output that is a folder, a policy of 5,000 digits or nested 100,000 deep: exit 2;
10. a policy of 1e400, a broken pyproject.toml, a half-truncated faststart recording, a JSON
    body over its limit, a download that is not media.

The media come from ../shared/media (good_aoc.mp4, a GO talking head; dur_15p2_demo3.mp4, a
15.2 s take that fix must cut and re-check; audio_good_radio31.wav).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "media"
PREFLIGHT = str(Path(sys.executable).with_name("preflight"))
sys.path.insert(0, str(ROOT / "tests"))  # the Mosaic stand-in and the file server the tests use
sys.path.insert(0, str(ROOT / "fixtures"))  # the edit-list maker

from rows import judged, print_rows  # noqa: E402 - eval/, beside this file

GOOD, TAKE, VOICE = SHARED / "good_aoc.mp4", SHARED / "dur_15p2_demo3.mp4", SHARED / "audio_good_radio31.wav"


@dataclass
class Run:
    rc: int
    stdout: str
    stderr: str
    seconds: float
    peak_mb: float = 0.0  # the largest resident size of the process (and its children), MB
    notes: dict = field(default_factory=dict)  # what a case measured besides

    def one_line(self, *words: str, rc: int = 2) -> bool:
        """Exit ``rc`` with one error line holding ``words`` and nothing on stdout."""
        errors = [line for line in self.stderr.splitlines() if line.startswith("error:")]
        return (self.rc == rc and len(errors) == 1 and all(w in errors[0] for w in words)
                and "Traceback" not in self.stderr)

    def last(self) -> str:
        lines = self.stderr.strip().splitlines()
        return lines[-1][:110] if lines else ""


@dataclass
class Case:
    name: str
    via: str  # cli, serve or api
    expect: str
    run: Callable[[Path], Run]
    right: Callable[[Run], bool]
    got: Callable[[Run], str]


CASES: list[Case] = []


def case(name: str, via: str, expect: str, right: Callable[[Run], bool], got: Callable[[Run], str] | None = None):
    def register(run: Callable[[Path], Run]) -> Callable[[Path], Run]:
        CASES.append(Case(name, via, expect, run, right, got or (lambda r: f"exit {r.rc}: {r.last()}")))
        return run
    return register


# -- running things ------------------------------------------------------------------------------

def preflight(*args: object, cwd: Path | None = None, env: dict[str, str] | None = None, timeout: float = 900) -> Run:
    """The console script as a user runs it, with its peak memory (children included)."""
    started = time.perf_counter()
    done = subprocess.run(["/usr/bin/time", "-q", "-f", "%M", PREFLIGHT, *map(str, args)], capture_output=True,
                          text=True, cwd=cwd, env={**os.environ, **(env or {})}, timeout=timeout)
    stderr, peak = _peak(done.stderr)
    return Run(done.returncode, done.stdout, stderr, time.perf_counter() - started, peak)


def api(code: str, timeout: float = 900) -> Run:
    """Python code calling the API, in a process of its own; it prints one JSON object last."""
    started = time.perf_counter()
    done = subprocess.run(["/usr/bin/time", "-q", "-f", "%M", sys.executable, "-c", textwrap.dedent(code)],
                          capture_output=True, text=True, timeout=timeout, env={**os.environ, "PYTHONPATH": str(ROOT)})
    stderr, peak = _peak(done.stderr)
    run = Run(done.returncode, done.stdout, stderr, time.perf_counter() - started, peak)
    try:
        run.notes = json.loads(done.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        run.notes = {}
    return run


def _peak(stderr: str) -> tuple[str, float]:
    """The process's own stderr, and the peak resident size (MB) /usr/bin/time wrote last."""
    lines = stderr.rstrip("\n").split("\n")
    if lines and lines[-1].strip().isdigit():
        return "\n".join(lines[:-1]) + ("\n" if len(lines) > 1 else ""), int(lines[-1]) / 1024
    return stderr, 0.0


def ff(*args: object) -> None:
    subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-y", *map(str, args)], check=True)


_MADE = threading.RLock()  # re-entrant: a file made from another makes that one first


def made(out: Path, name: str, make: Callable[[Path], None]) -> Path:
    """``out/name``, made once."""
    with _MADE:
        path = out / name
        if not path.exists():
            partial = path.with_name(f".{name}.making")
            make(partial)
            partial.replace(path)
        return path


def undeclared_20min(out: Path) -> Path:
    """The good clip 150 times over (20:09), copied to Matroska through a pipe: no length in its header."""
    def make(path: Path) -> None:
        listing = out / "list.txt"
        listing.write_text("".join(f"file '{GOOD}'\n" for _ in range(150)))
        with path.open("wb") as f:
            subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-f", "concat", "-safe", "0", "-i", str(listing),
                            "-c", "copy", "-f", "matroska", "-"], stdout=f, check=True)
    return made(out, "undeclared_20min.mkv", make)


def moov_last(out: Path) -> Path:
    """The good clip as ffmpeg writes an MP4: its index last."""
    return made(out, "moov_last.mp4", lambda p: ff("-i", GOOD, "-c", "copy", "-f", "mp4", p))


def edit_list(out: Path) -> Path:
    """The good clip with 50,000 one-tick pieces strewn over its picture's edit list: minutes of
    decoding on any machine (10,000 took 110-190 s here), past every limit the rows set."""
    from make_fixtures import with_edit_list

    return made(out, "edit_list_50k.mp4", lambda p: with_edit_list(moov_last(out), p, 50_000))


def cut_short(out: Path) -> Path:
    """The good clip cut at half, before its index: a download that stopped."""
    return made(out, "cut_short.mp4", lambda p: p.write_bytes(moov_last(out).read_bytes()[: moov_last(out).stat().st_size // 2]))


def channels32(out: Path) -> Path:
    split = "".join(f"[a{i}]" for i in range(32))
    return made(out, "channels32.mov", lambda p: ff(
        "-i", GOOD, "-filter_complex", f"[0:a]aformat=channel_layouts=mono,asplit=32{split};{split}amerge=inputs=32[a]",
        "-map", "0:v", "-map", "[a]", "-c:v", "copy", "-c:a", "pcm_s16le", "-f", "mov", p))


def half_faststart(out: Path) -> Path:
    def make(path: Path) -> None:
        whole = out / "faststart.mp4"
        ff("-i", TAKE, "-c", "copy", "-movflags", "+faststart", "-f", "mp4", whole)
        data = whole.read_bytes()
        path.write_bytes(data[: len(data) // 2])  # the index first and whole; the data cut at half
    return made(out, "half_faststart.mp4", make)


def folder_of(out: Path, name: str, files: dict[str, Path | bytes]) -> Path:
    """A fresh folder ``out/name`` holding copies (or bytes) under the given names."""
    folder = out / name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for target, source in files.items():
        if isinstance(source, bytes):
            (folder / target).write_bytes(source)
        else:
            shutil.copy(source, folder / target)
    return folder


def digest(*paths: Path) -> list[str]:
    return [hashlib.sha256(p.read_bytes()).hexdigest() for p in paths]


def home(out: Path, name: str) -> dict[str, str]:
    return {"PREFLIGHT_HOME": str(out / "home" / name)}


# -- 1. outputs never overwrite inputs -----------------------------------------------------------

def _untouched(run: Run) -> bool:
    return run.one_line(run.notes["words"]) and run.notes["before"] == run.notes["after"] and run.seconds < 120


def _refused(out: Path, name: str, args: list[object], inputs: list[Path], words: str, folder: Path) -> Run:
    before = digest(*inputs)
    run = preflight(*args, "--time-limit", "120", cwd=folder, env=home(out, name))
    run.notes = {"before": before, "after": digest(*inputs), "words": words}
    return run


def _unchanged(run: Run) -> str:
    return f"exit {run.rc} in {run.seconds:.0f} s, inputs {'unchanged' if run.notes['before'] == run.notes['after'] else 'CHANGED'}: {run.last()}"


for _name, _args, _words in (
    ("check_report_is_the_input", lambda f: ["check", f / "v.mp4", "--report", f / "v.mp4"], "--report names an input"),
    ("check_report_links_to_the_input", lambda f: ["check", f / "v.mp4", "--report", f / "soft.html"], "--report names an input"),
    ("check_report_hard_link_of_the_input", lambda f: ["check", f / "v.mp4", "--report", f / "hard.html"], "--report names an input"),
    ("fix_report_is_the_input", lambda f: ["fix", f / "v.mp4", "-o", f / "out.mp4", "--report", f / "v.mp4"], "--report names an input"),
    ("fix_o_and_report_one_file", lambda f: ["fix", f / "a.wav", "-o", f / "c.wav", "--report", f / "c.wav"], "named by both"),
    ("fix_o_is_a_folder", lambda f: ["fix", f / "v.mp4", "-o", f / "dir.mp4"], "-o names a folder"),
    ("batch_report_is_a_source", lambda f: ["batch", f, "--report", f / "v.mp4"], "--report names an input"),
    ("batch_jsonl_is_a_source", lambda f: ["batch", f, "--jsonl", f / "a.wav"], "--jsonl names an input"),
):
    def _output_case(out: Path, name: str = _name, args: Callable = _args, words: str = _words) -> Run:
        # The video stalls the decoder: an analysis begun before the refusal would run into the time limit.
        folder = folder_of(out, name, {"v.mp4": edit_list(out), "a.wav": VOICE})
        (folder / "dir.mp4").mkdir()
        (folder / "soft.html").symlink_to(folder / "v.mp4")
        os.link(folder / "v.mp4", folder / "hard.html")
        return _refused(out, name, args(folder), [folder / "v.mp4", folder / "a.wav"], words, folder)
    case(_name, "cli", f"exit 2 at once, one line ({_words}), the inputs unchanged", _untouched, _unchanged)(_output_case)


@case("api_fix_output_is_the_input", "api", "UsageError, the input unchanged",
      lambda r: r.notes.get("error") == "UsageError" and r.notes["before"] == r.notes["after"],
      lambda r: f"{r.notes.get('error')}: {r.notes.get('message', r.stderr[-100:])[:90]}")
def _api_output(out: Path) -> Run:
    folder = folder_of(out, "api_output", {"v.mp4": GOOD})
    return api(f"""
        import hashlib, json, preflight
        path = {str(folder / 'v.mp4')!r}
        before = hashlib.sha256(open(path, 'rb').read()).hexdigest()
        try:
            preflight.fix(path, output=path)
            found = {{"error": None}}
        except preflight.PreflightError as exc:
            found = {{"error": type(exc).__name__, "message": str(exc)}}
        found.update(before=before, after=hashlib.sha256(open(path, 'rb').read()).hexdigest())
        print(json.dumps(found))
    """)


# -- 2. no length in the header ------------------------------------------------------------------

@case("check_20min_no_length", "cli", "NO-GO: duration at least 16 s (decoded a second past the maximum); under 1.5 GB",
      lambda r: r.rc == 1 and "at least 16 s" in r.notes.get("duration", "") and r.peak_mb < 1500,
      lambda r: f"exit {r.rc}, {r.peak_mb:.0f} MB, {r.seconds:.0f} s: {r.notes.get('duration', r.last())[:70]}")
def _check_20min(out: Path) -> Run:
    run = preflight("check", undeclared_20min(out), "--format", "json")
    if run.rc in (0, 1):
        run.notes["duration"] = next(c["message"] for c in json.loads(run.stdout)["checks"] if c["id"] == "duration")
    return run


@case("fix_20min_no_length", "cli", "exit 2 in seconds: 1209.6 s long, over fix.max_input_s",
      lambda r: r.one_line("1209", "up to 600 s") and r.seconds < 120,
      lambda r: f"exit {r.rc} in {r.seconds:.0f} s: {r.last()}")
def _fix_20min(out: Path) -> Run:
    return preflight("fix", undeclared_20min(out), "-o", out / "cut_20min.mp4")


@case("api_check_20min_no_length", "api", "a NO-GO report, duration at least 16 s; under 1.5 GB",
      lambda r: r.notes.get("duration", "").startswith("at least 16 s") and r.peak_mb < 1500,
      lambda r: f"{r.peak_mb:.0f} MB, {r.seconds:.0f} s: {r.notes.get('duration', r.stderr[-80:])[:80]}")
def _api_check_20min(out: Path) -> Run:
    return api(f"""
        import json, preflight
        report = preflight.check({str(undeclared_20min(out))!r})
        print(json.dumps({{"verdict": report.verdict, "duration": [c.message for c in report.checks if c.id == "duration"][0]}}))
    """)


@case("api_fix_20min_no_length", "api", "InputError: over fix.max_input_s",
      lambda r: r.notes.get("error") == "InputError" and "up to 600 s" in r.notes.get("message", ""),
      lambda r: f"{r.notes.get('error')} in {r.seconds:.0f} s: {r.notes.get('message', r.stderr[-80:])[-80:]}")
def _api_fix_20min(out: Path) -> Run:
    return api(f"""
        import json, preflight
        try:
            preflight.fix({str(undeclared_20min(out))!r}, dry_run=True)
            print(json.dumps({{"error": None}}))
        except preflight.PreflightError as exc:
            print(json.dumps({{"error": type(exc).__name__, "message": str(exc)}}))
    """)


# -- 3. hangs ------------------------------------------------------------------------------------

def _rows(run: Run) -> dict[str, dict]:
    return {r["name"]: r for r in map(json.loads, run.stdout.splitlines())} if run.rc in (0, 1) else {}


def _error_rows_right(run: Run, names: tuple[str, ...], words: str) -> bool:
    rows = _rows(run)
    return (run.rc == 1 and run.seconds < 300 and rows.get("good", {}).get("verdict") == "go"
            and all(rows.get(n, {}).get("checks", [{}])[0].get("status") == "error"
                    and words in rows[n]["checks"][0]["message"] for n in names))


def _rows_got(run: Run) -> str:
    rows = _rows(run)
    shown = ", ".join(f"{n}: {r['checks'][0]['status'] if r['verdict'] != 'go' else 'go'}" for n, r in sorted(rows.items()))
    return f"exit {run.rc} in {run.seconds:.0f} s: {shown or run.last()}"


@case("batch_manifest_dev_zero_and_fifo", "cli", "error rows 'not a regular file' at once, the good row GO, exit 1",
      lambda r: _error_rows_right(r, ("zero", "fifo"), "not a regular file"), _rows_got)
def _manifest(out: Path) -> Run:
    folder = folder_of(out, "manifest", {"good.mp4": GOOD})
    os.mkfifo(folder / "pipe.mp4")
    (folder / "m.csv").write_text("name,video\nzero,/dev/zero\nfifo,pipe.mp4\ngood,good.mp4\n")
    return preflight("batch", folder / "m.csv", "--jsonl", "-", "--jobs", "1", env=home(out, "manifest"), timeout=600)


for _command in ("check", "fix", "create"):
    def _stall(out: Path, command: str = _command) -> Run:
        from standin import StandIn

        mosaic = StandIn().start()
        try:
            args = {"check": ["check", edit_list(out)], "fix": ["fix", edit_list(out), "-o", out / "stall_cut.mp4"],
                    "create": ["create", "--name", "Ada", "--video", edit_list(out)]}[command]
            run = preflight(*args, "--time-limit", "20", env={**home(out, f"stall_{command}"), "MOSAIC_API_KEY": mosaic.api_key,
                                                              "MOSAIC_BASE_URL": mosaic.url})
            run.notes["sent"] = len(mosaic.requests)
        finally:
            mosaic.stop()
        return run
    case(f"{_command}_stalling_decoder_time_limit", "cli", "exit 4 about 20 s in: one line naming --time-limit; nothing sent",
         lambda r: r.one_line("did not finish within 20 s (--time-limit)", rc=4) and r.notes["sent"] == 0 and r.seconds < 120,
         lambda r: f"exit {r.rc} in {r.seconds:.0f} s, {r.notes.get('sent')} requests: {r.last()[:70]}")(_stall)


@case("api_check_stalling_decoder", "api", "a report with the analysis timed out (not cleared), in bounded time",
      lambda r: r.notes.get("verdict") == "no-go" and "analysis.timed_out" in r.notes.get("reasons", []) and r.seconds < 120,
      lambda r: f"{r.notes.get('verdict')} in {r.seconds:.0f} s: {sorted(set(r.notes.get('reasons', [])))}")
def _api_check_stall(out: Path) -> Run:
    return api(f"""
        import json, preflight
        report = preflight.check({str(edit_list(out))!r}, timeout=15)
        print(json.dumps({{"verdict": report.verdict, "reasons": [c.reason for c in report.checks if c.reason]}}))
    """)


@case("api_fix_stalling_decoder", "api", "TimedOut after its timeout, nothing written",
      lambda r: r.notes.get("error") == "TimedOut" and r.notes.get("left") == [] and r.seconds < 120,
      lambda r: f"{r.notes.get('error')} in {r.seconds:.0f} s, left {r.notes.get('left')}")
def _api_fix_stall(out: Path) -> Run:
    folder = folder_of(out, "api_fix_stall", {})
    return api(f"""
        import json, os, preflight
        try:
            preflight.fix({str(edit_list(out))!r}, output={str(folder / 'cut.mp4')!r}, timeout=15)
            found = {{"error": None}}
        except preflight.PreflightError as exc:
            found = {{"error": type(exc).__name__, "message": str(exc)}}
        found["left"] = os.listdir({str(folder)!r})
        print(json.dumps(found))
    """)


# -- 4. Ctrl-C -----------------------------------------------------------------------------------

def _cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _group(pgid: int) -> list[int]:
    found = []
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            found.append(int(entry))
    return found


def _interrupt_args(command: str, folder: Path) -> list[object]:
    return {"check": ["check", GOOD, "--format", "json", "--report", folder / "out" / "page.html"],
            "fix": ["fix", TAKE, "-o", folder / "out" / "ada.mp4", "--report", folder / "out" / "fix.html"]}[command]


def _fresh(folder: Path) -> Path:
    shutil.rmtree(folder, ignore_errors=True)
    (folder / "out").mkdir(parents=True)
    return folder


_WHOLE: dict[str, float] = {}


def _whole_cpu(out: Path, command: str) -> float:
    """The CPU seconds an uninterrupted run's own process takes (its children left out), once."""
    with _MADE:
        if command not in _WHOLE:
            folder = _fresh(out / f"whole_{command}")
            child = subprocess.Popen([PREFLIGHT, *map(str, _interrupt_args(command, folder))], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, cwd=folder)
            used = 0.0
            while child.poll() is None:
                try:
                    used = _cpu(child.pid)
                except OSError:
                    pass
                time.sleep(0.01)
            _WHOLE[command] = used
        return _WHOLE[command]


def _interrupted(out: Path, command: str, share: float) -> Run:
    at = share * _whole_cpu(out, command)
    folder = _fresh(out / f"interrupt_{command}_{share:g}")
    child = subprocess.Popen([PREFLIGHT, *map(str, _interrupt_args(command, folder))], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, start_new_session=True, cwd=folder)
    started = time.perf_counter()
    came = False
    while child.poll() is None:
        try:
            if _cpu(child.pid) >= at:
                came = True
                os.killpg(child.pid, signal.SIGINT)
                break
        except OSError:
            pass
        time.sleep(0.003)
    stdout, stderr = child.communicate(timeout=600)
    time.sleep(0.5)
    run = Run(child.returncode, stdout, stderr, time.perf_counter() - started)
    written = sorted((folder / "out").iterdir())
    run.notes = {"came": came, "at": at, "written": [p.name for p in written], "left": _group(child.pid),
                 "whole": all(_whole(p) for p in written)}
    return run


def _whole(path: Path) -> bool:
    """A page that ends as a page does, a cut that ffprobe reads to its end."""
    if path.suffix == ".html":
        return path.read_text(errors="replace").rstrip().endswith("</html>")
    probed = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", str(path)],
                            capture_output=True, text=True)
    return probed.returncode == 0 and bool(probed.stdout.strip())


def _interrupt_right(r: Run) -> bool:
    """130 and 'interrupted' with nothing written; or, when the signal came as the work had
    finished, its own exit with every output whole. Never a crash, a traceback or a process left."""
    if not r.notes["came"] or r.notes["left"] or "Traceback" in r.stderr:
        return False
    if r.rc == 130:
        return r.stderr.strip().splitlines()[-1:] == ["interrupted"] and r.stdout == "" and r.notes["written"] == []
    return r.rc in (0, 1) and r.notes["whole"]


for _command in ("check", "fix"):
    for _share in (0.05, 0.15, 0.3, 0.45, 0.6, 0.75, 0.9):
        def _ctrl_c(out: Path, command: str = _command, share: float = _share) -> Run:
            return _interrupted(out, command, share)
        case(f"{_command}_ctrl_c_at_{_share:.0%}_cpu", "cli",
             "130, 'interrupted', nothing written (or, finished first: its own exit, outputs whole); nothing left running",
             _interrupt_right,
             lambda r: (f"exit {r.rc} at {r.notes['at']:.1f} s CPU: {r.last()[:40]!r}, written {r.notes['written']}, "
                        f"left {r.notes['left']}" if r.notes["came"] else f"ended (exit {r.rc}) before the moment"))(_ctrl_c)


# -- 5. two fix runs, one output -----------------------------------------------------------------

@case("fix_twice_at_once_one_output", "cli", "both exit 0, the output GO, no temporary left",
      lambda r: r.notes["codes"] == [0, 0] and r.notes["go"] and r.notes["left"] == ["ada.mp4"],
      lambda r: f"exits {r.notes['codes']}, output GO {r.notes['go']}, folder {r.notes['left']}")
def _twice(out: Path) -> Run:
    folder = folder_of(out, "twice", {})
    target = folder / "ada.mp4"
    runs = [subprocess.Popen([PREFLIGHT, "fix", str(GOOD), "-o", str(target)], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True) for _ in range(2)]
    codes = [r.wait(timeout=900) for r in runs]
    for r in runs:
        r.communicate()
    check = preflight("check", target, "--format", "json") if target.exists() else Run(2, "", "", 0)
    run = Run(max(codes), "", "", 0)
    run.notes = {"codes": codes, "go": check.rc == 0, "left": sorted(p.name for p in folder.iterdir())}
    return run


# -- 6, 7. batch: unreadable media, cached names ----------------------------------------------------

@case("batch_truncated_and_empty_mp4", "cli", "error rows naming the missing index and the empty file; exit 1",
      lambda r: _error_rows_right(r, ("cut_short",), "index") and _error_rows_right(r, ("nothing",), "empty"), _rows_got)
def _truncated(out: Path) -> Run:
    folder = folder_of(out, "truncated", {"good.mp4": GOOD, "cut_short.mp4": cut_short(out), "nothing.mp4": b""})
    return preflight("batch", folder, "--jsonl", "-", "--jobs", "1", env=home(out, "truncated"))


@case("batch_cached_rows_own_names", "cli", "every row its own name and path, three from the cache",
      lambda r: r.rc == 0 and r.notes["wrong"] == [] and r.notes["rows"] == 4,
      lambda r: f"exit {r.rc}, {r.notes['rows']} rows, wrong: {r.notes['wrong']}")
def _cached(out: Path) -> Run:
    folder = folder_of(out, "cached", {"good.mp4": GOOD})
    env = home(out, "cached")
    shutil.rmtree(env["PREFLIGHT_HOME"], ignore_errors=True)
    preflight("batch", folder, env=env)
    for name in ("-o", "line\nbreak", "Zoë 声"):
        shutil.copy(GOOD, folder / f"{name}.mp4")
    run = preflight("batch", folder, "--jsonl", "-", env=env)
    rows = [json.loads(line) for line in run.stdout.splitlines()]
    wrong = [r["name"] for r in rows if {r["sources"][0]["path"]} | {c["source"] for c in r["checks"]}
             != {str(folder / f"{r['name']}.mp4")}]
    run.notes = {"rows": len(rows), "wrong": wrong}
    return run


@case("api_batch_unreadable_and_cached_names", "api", "error rows for the cut-short and empty files; cached rows under their own names",
      lambda r: r.notes.get("outcomes") == {"-o": "go", "cut_short": "error", "good": "go", "nothing": "error"}
      and r.notes.get("cached") == ["-o"] and r.notes.get("named_right") is True,
      lambda r: f"{r.notes.get('outcomes')}, cached {r.notes.get('cached')}, names right {r.notes.get('named_right')}")
def _api_batch(out: Path) -> Run:
    folder = folder_of(out, "api_batch", {"good.mp4": GOOD, "cut_short.mp4": cut_short(out), "nothing.mp4": b""})
    return api(f"""
        import json, shutil
        from pathlib import Path
        from preflight.batch import discover, run
        from preflight.ledger import Ledger
        from preflight.policy import Policy
        folder = Path({str(folder)!r})
        with Ledger(folder.parent / "api_batch.sqlite") as ledger:
            sets, _ = discover(folder)
            list(run([s for s in sets if s.name == "good"], Policy(), jobs=1, ledger=ledger))
            shutil.copy(folder / "good.mp4", folder / "-o.mp4")
            sets, _ = discover(folder)
            results = list(run(sets, Policy(), jobs=1, ledger=ledger))
        print(json.dumps({{"outcomes": {{r.set.name: r.outcome for r in sorted(results, key=lambda r: r.set.name)}},
                          "cached": sorted(r.set.name for r in results if r.cached and r.set.name != "good"),
                          "named_right": all(r.report.sources[0].path == r.set.video for r in results if r.set.video and r.report.sources)}}))
    """)


# -- 8. 32 channels ------------------------------------------------------------------------------

@case("check_32_channels", "cli", "GO as the clip it was made from, nothing on stderr",
      lambda r: r.rc == 0 and json.loads(r.stdout)["verdict"] == "go" and r.stderr == "",
      lambda r: f"exit {r.rc}: " + (", ".join(f"{c['id']} {c['status']}" for c in json.loads(r.stdout)["checks"]
                                             if c["status"] not in ("pass", "skipped")) if r.rc in (0, 1) else r.last()))
def _many_channels(out: Path) -> Run:
    return preflight("check", channels32(out), "--format", "json")


@case("api_check_32_channels", "api", "GO; the sound decoded (speech passes)",
      lambda r: r.notes.get("verdict") == "go" and r.notes.get("speech") == "pass",
      lambda r: f"{r.notes.get('verdict')}, speech {r.notes.get('speech')}")
def _api_many_channels(out: Path) -> Run:
    return api(f"""
        import json, preflight
        report = preflight.check({str(channels32(out))!r})
        print(json.dumps({{"verdict": report.verdict, "speech": [c.status.value for c in report.checks if c.id == "speech"][0]}}))
    """)


# -- 9, 10. policies and the rest ----------------------------------------------------------------

for _name, _toml, _words in (("policy_5000_digits", "[duration]\nmax_s = " + "9" * 5000 + "\n", "4300 digits"),
                             ("policy_nested_100000_deep", "x = " + "[" * 100_000 + "]" * 100_000 + "\n", "nested too deep"),
                             ("policy_1e400", "[duration]\nmax_s = 1e400\n", "finite number")):
    def _policy(out: Path, name: str = _name, toml: str = _toml) -> Run:
        (out / f"{name}.toml").write_text(toml)
        return preflight("check", "--config", out / f"{name}.toml", GOOD)
    case(_name, "cli", f"exit 2, one line ({_words})", lambda r, w=_words: r.one_line(w))(_policy)


@case("api_policy_nested_100000_deep", "api", "UsageError", lambda r: r.notes.get("error") == "UsageError",
      lambda r: f"{r.notes.get('error')}: {r.notes.get('message', r.stderr[-80:])[-70:]}")
def _api_policy(out: Path) -> Run:
    (out / "deep.toml").write_text("x = " + "[" * 100_000 + "]" * 100_000 + "\n")
    return api(f"""
        import json, preflight
        from pathlib import Path
        try:
            preflight.load_policy(Path({str(out / 'deep.toml')!r}))
            print(json.dumps({{"error": None}}))
        except Exception as exc:
            print(json.dumps({{"error": type(exc).__name__, "message": str(exc)}}))
    """)


@case("pyproject_broken_in_cwd", "cli", "GO on the built-in limits, and a warning naming the file",
      lambda r: r.rc == 0 and "pyproject.toml: not valid TOML" in r.stderr,
      lambda r: f"exit {r.rc}: {r.last()[:90]}")
def _pyproject(out: Path) -> Run:
    folder = folder_of(out, "pyproject", {"pyproject.toml": b"[tool.preflight\nduration = {max_s = 6\n"})
    return preflight("check", GOOD, cwd=folder)


@case("fix_half_truncated_faststart", "cli", "the window said to come from the part that decodes",
      lambda r: r.rc in (0, 1) and "warning: the recording is damaged" in r.stdout,
      lambda r: f"exit {r.rc}: " + next((line.strip()[:90] for line in r.stdout.splitlines() if "damaged" in line), r.last()))
def _faststart(out: Path) -> Run:
    return preflight("fix", half_faststart(out), "--dry-run")


# -- serve ---------------------------------------------------------------------------------------

class Serve:
    """`preflight serve` on 127.0.0.1 with one worker and a 90 s time limit, for the serve rows."""

    _lock = threading.Lock()
    _server: Serve | None = None

    def __init__(self, out: Path) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        from fileserver import FileServer

        self.files = FileServer(out).start()
        self.log = (out / "serve.log").open("w")
        self.process = subprocess.Popen([PREFLIGHT, "serve", "--port", str(self.port), "--jobs", "1", "--time-limit", "90"],
                                        stdout=self.log, stderr=subprocess.STDOUT,
                                        env={**os.environ, **home(out, "serve"), "MOSAIC_API_KEY": ""})
        self.url = f"http://127.0.0.1:{self.port}"
        import httpx

        self.api = httpx.Client(base_url=self.url, timeout=60)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if self.api.get("/v1/info").status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.3)
        raise RuntimeError("preflight serve did not start")

    @classmethod
    def get(cls, out: Path) -> Serve:
        with cls._lock:
            if cls._server is None:
                cls._server = Serve(out)
            return cls._server

    @classmethod
    def stop(cls) -> None:
        if cls._server is not None:
            cls._server.process.send_signal(signal.SIGINT)
            cls._server.process.wait(30)
            cls._server.files.stop()

    def finished(self, answer) -> dict:
        check_id = answer.json()["id"]
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            record = self.api.get(f"/v1/checks/{check_id}", params={"wait": 30}).json()
            if record["status"] in ("done", "error"):
                return record
        raise RuntimeError(f"check {check_id} never finished")

    def upload(self, **files: Path) -> Run:
        started = time.perf_counter()
        answer = self.api.post("/v1/checks", files={role: (p.name, p.read_bytes()) for role, p in files.items()})
        record = self.finished(answer) if answer.status_code == 202 else answer.json()
        run = Run(answer.status_code, json.dumps(record), "", time.perf_counter() - started)
        run.notes = record
        return run


def _message(r: Run) -> str:
    error = r.notes.get("error") or {}
    return f"{r.notes.get('status', r.rc)} {r.notes.get('verdict', '')}: {error.get('message', '')[:80]}"


@case("serve_32_channels", "serve", "GO", lambda r: r.notes.get("verdict") == "go", _message)
def _serve_channels(out: Path) -> Run:
    return Serve.get(out).upload(video=channels32(out))


@case("serve_stalling_decoder", "serve", "an error record at the server's time limit; the server goes on",
      lambda r: r.notes.get("status") == "error" and "longer than 90 s" in (r.notes.get("error") or {}).get("message", ""),
      _message)
def _serve_stall(out: Path) -> Run:
    return Serve.get(out).upload(video=edit_list(out))


@case("serve_truncated_mp4", "serve", "an error record naming the missing index",
      lambda r: r.notes.get("status") == "error" and "index" in (r.notes.get("error") or {}).get("message", ""), _message)
def _serve_truncated(out: Path) -> Run:
    return Serve.get(out).upload(video=cut_short(out))


@case("serve_json_over_64kb", "serve", "413 upload.too_large naming 64 kB (never '0 MB')",
      lambda r: r.rc == 413 and "64 kB" in r.stdout and "0 MB" not in r.stdout,
      lambda r: f"{r.rc}: {json.loads(r.stdout).get('error', {}).get('message', '')[:90]}")
def _serve_json(out: Path) -> Run:
    server = Serve.get(out)
    answer = server.api.post("/v1/checks", content=b"{" + b" " * 70_000 + b"}", headers={"Content-Type": "application/json"})
    return Run(answer.status_code, answer.text, "", 0)


@case("serve_url_not_media", "serve", "an error record naming the URL, never the server's temporary path",
      lambda r: r.notes.get("status") == "error" and r.notes["url"] in r.notes["error"]["message"]
      and "preflight-" not in json.dumps(r.notes["error"]) and tempfile.gettempdir() + "/" not in json.dumps(r.notes["error"]),
      _message)
def _serve_url(out: Path) -> Run:
    server = Serve.get(out)
    (out / "notes.mp4").write_text("a web page saved under a video's name\n")
    url = f"{server.files.url}/files/notes.mp4"
    started = time.perf_counter()
    record = server.finished(server.api.post("/v1/checks", json={"video": url}))
    run = Run(200, json.dumps(record), "", time.perf_counter() - started)
    run.notes = {**record, "url": url}
    return run


@case("check_url_not_media", "cli", "exit 2, one line naming the URL, not a temporary path",
      lambda r: r.one_line(r.notes["url"]) and "preflight-" not in r.stderr, lambda r: f"exit {r.rc}: {r.last()[:90]}")
def _cli_url(out: Path) -> Run:
    server = Serve.get(out)
    (out / "notes.mp4").write_text("a web page saved under a video's name\n")
    url = f"{server.files.url}/files/notes.mp4"
    run = preflight("check", url)
    run.notes["url"] = url
    return run


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", nargs="?", type=Path, default=ROOT / "eval" / "out" / "hostile")
    parser.add_argument("--only", help="comma-separated parts of case names or of 'cli', 'serve', 'api'")
    parser.add_argument("--jobs", type=int, default=1, help="cases at once (the interrupt rows run alone after)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    chosen = [c for c in CASES if not args.only or any(part in c.name or part == c.via for part in args.only.split(","))]

    def run(c: Case) -> tuple[Case, str, bool]:
        return c, *judged(c, args.out)

    # The interrupt rows measure CPU time: they run one at a time, after the others.
    timed = [c for c in chosen if "ctrl_c" in c.name]
    try:
        with ThreadPoolExecutor(args.jobs) as pool:
            rows = list(pool.map(run, [c for c in chosen if c not in timed]))
        rows += [run(c) for c in timed]
    finally:
        Serve.stop()
    return print_rows([([c.name, c.via], c.expect, got, right) for c, got, right in rows], ["case", "via"])


if __name__ == "__main__":
    sys.exit(main())
