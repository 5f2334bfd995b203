"""The command line: ``preflight check``, ``fix``, ``create``, ``status``, ``list``, ``batch`` and ``serve``.

Exit codes: 0 GO (warnings allowed) or done, 1 NO-GO (nothing sent), 2 bad usage or unreadable
input, 3 the Mosaic API or the avatar failed, 4 a check broke or the time limit passed, 130
interrupted. Every output path is checked before any work starts (:mod:`preflight.outputs`);
``check``, ``fix`` and ``create`` stop at once on Ctrl-C or at ``--time-limit``
(:mod:`preflight.shutdown`).
"""

from __future__ import annotations

import contextlib
import copy
import enum
import io
import json
import logging
import os
import signal
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, Optional

import typer
import typer.core
from rich.console import Console
from rich.markup import escape
from rich.text import Text

from preflight import shutdown
from preflight.errors import ClusterLost, MosaicError, PreflightError, RejectedSources, UsageError
from preflight.outputs import refuse_unsafe, write_atomically
from preflight.version import __version__

if TYPE_CHECKING:
    from preflight.mosaic import Avatar
    from preflight.policy import Policy

log = logging.getLogger("preflight.cli")

# The README's exit-code table lists these.
EXIT_GO, EXIT_NO_GO, EXIT_USAGE, EXIT_API, EXIT_BUG = 0, 1, 2, 3, 4

class _Group(typer.core.TyperGroup):
    """The command group: every command but `version` (whose -v says more) also takes -q and -v
    after its name, as before it (`preflight check -v clip.mp4` = `preflight -v check clip.mp4`)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Copies of the group's own options (typer's option class, whichever click it runs on),
        # each calling _say itself since the commands do not take them as arguments.
        own = [copy.copy(p) for p in self.params if p.name in ("verbose", "quiet")]
        for option in own:
            option.expose_value, option.callback = False, _chatter(option.name or "")
        for name, command in self.commands.items():
            if name != "version":
                command.params += own


app = typer.Typer(
    cls=_Group,
    help="Check source media for a Mosaic AI avatar before it is submitted.",
    add_completion=True,  # --install-completion / --show-completion for bash, zsh, fish, PowerShell
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
    rich_markup_mode="markdown",  # a docstring's paragraphs wrap to the terminal, not at its line ends
    pretty_exceptions_enable=False,
)


class ProgressMode(str, enum.Enum):
    bar = "bar"
    json = "json"
    none = "none"


class Format(str, enum.Enum):
    text = "text"
    json = "json"


def _version(value: bool) -> None:
    if value:
        print(f"preflight {__version__}")
        raise typer.Exit()


class _CurrentStderr(logging.StreamHandler):
    """Writes to whatever sys.stderr is now: the CLI swaps it to keep native libraries quiet."""

    @property
    def stream(self) -> Any:  # type: ignore[override]
        return sys.stderr

    @stream.setter
    def stream(self, _: Any) -> None:
        pass


_QUIET = False  # -q: nothing on stderr but errors
_VERBOSE_HELP = "Also say the policy file used, each check's time and every retried request, on stderr."
_QUIET_HELP = "Nothing on stderr but errors (no progress, no notes)."


@app.callback()
def _main(
    version: Annotated[
        Optional[bool], typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help=_VERBOSE_HELP)] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help=_QUIET_HELP)] = False,
) -> None:
    """Check source media for a Mosaic AI avatar before it is submitted."""
    _say(verbose=verbose, quiet=quiet)


def _say(*, verbose: bool, quiet: bool) -> None:
    """How much goes to stderr: -v adds notes (the log at INFO), -q leaves only errors."""
    global _QUIET
    if verbose and quiet:
        raise typer.BadParameter("give -v or -q, not both")
    _QUIET = quiet
    handler = _CurrentStderr()
    handler.setFormatter(logging.Formatter("%(message)s"))
    root = logging.getLogger("preflight")
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO if verbose else logging.WARNING)
    root.propagate = False


def _chatter(which: str) -> Callable[[Any, Any, bool], None]:
    """The callback of a command's own -v or -q, given after its name: added to what the group's said."""
    def given(_: Any, __: Any, value: bool) -> None:
        if value:
            verbose = logging.getLogger("preflight").level == logging.INFO
            _say(verbose=verbose or which == "verbose", quiet=_QUIET or which == "quiet")
    return given


def _stderr() -> Console:
    """The console for progress and notes: silent with -q (errors use their own)."""
    return _console(stderr=True, quiet=_QUIET)


def _console(*, stderr: bool = False, quiet: bool = False) -> Console:
    """A console for people. On a terminal it wraps to the terminal's width; elsewhere (a pipe, a
    file, a CI log) each line stays whole, without the spaces a table pads it with."""
    stream = sys.stderr if stderr else sys.stdout
    if stream.isatty():
        return Console(stderr=stderr, highlight=False, quiet=quiet)
    # The stream is looked up at each write: the CLI swaps sys.stderr to keep native libraries quiet.
    return Console(file=_Unpadded(lambda: sys.stderr if stderr else sys.stdout), highlight=False, quiet=quiet,
                   width=100_000)


class _Unpadded(io.TextIOBase):
    """Writes whole lines with their trailing spaces cut."""

    def __init__(self, stream: Callable[[], Any]) -> None:
        self._stream, self._line = stream, ""

    def write(self, text: str) -> int:
        *lines, self._line = (self._line + text).split("\n")
        if lines:
            self._stream().write("".join(line.rstrip() + "\n" for line in lines))
        return len(text)

    def flush(self) -> None:
        if self._line:
            self._stream().write(self._line.rstrip())
            self._line = ""
        self._stream().flush()

    def isatty(self) -> bool:
        return False


@app.command()
def version(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Also FFmpeg's, the judging libraries' and the models' versions.")] = False,
) -> None:
    """Print preflight's version; with -v, everything a verdict depends on (as the report's judged_by)."""
    from preflight.version import judges

    print(f"preflight {__version__}")
    if verbose:
        for name, value in judges().items():
            if name != "preflight":
                print(f"  {name} {value}")


@app.command()
def schema() -> None:
    """Print the JSON Schema of the report that `check --format json` and `batch --jsonl` write."""
    from preflight.pipeline import report_schema

    print(json.dumps(report_schema(), indent=2))


Strict = Annotated[bool, typer.Option("--strict", help="Warnings block like failures.")]
JOBS_HELP = ("Worker processes (default: the CPUs this process may use, by its affinity and cgroup quota, "
             "at most one per 1.2 GB of available memory).")
TimeLimit = Annotated[float, typer.Option(min=1.0, help="Seconds the work may take before it is stopped as an error (exit 4).")]
# A check's, as a batch set's (batch.TIME_LIMIT_S); fix reads recordings of up to 10 minutes.
CHECK_TIME_LIMIT_S, FIX_TIME_LIMIT_S = 240.0, 900.0
Config = Annotated[Optional[Path], typer.Option(help="A policy TOML file (default: preflight.toml or \\[tool.preflight] in pyproject.toml, found from here up).")]
Output = Annotated[Format, typer.Option("--format", help="text for people, json for programs.")]


@app.command()
def check(
    files: Annotated[Optional[list[str]], typer.Argument(help="Media files or http(s) URLs; their roles are inferred from their streams.", show_default=False)] = None,
    video: Annotated[Optional[str], typer.Option(help="The talking video (a path or an http(s) URL).")] = None,
    image: Annotated[Optional[str], typer.Option(help="The character image.")] = None,
    audio: Annotated[Optional[str], typer.Option(help="The voice audio.")] = None,
    output: Output = Format.text,
    html: Annotated[Optional[Path], typer.Option("--report", help="Also write the report as an HTML page with pictures.")] = None,
    strict: Strict = False,
    config: Config = None,
    time_limit: TimeLimit = CHECK_TIME_LIMIT_S,
) -> None:
    """Check one source set: a video, an image with a voice audio, or any one of them alone.

    Exit 0 GO, 1 NO-GO, 2 bad usage or unreadable input, 4 a check broke (nothing failed) or
    the time limit passed.
    """
    from preflight.pipeline import inspect
    from preflight.sources import Sources
    from preflight.report import render_terminal

    with _errors_as_exit_codes(), shutdown.interruptible(), _time_limited(time_limit, "the check"):
        policy = _policy(config, strict)
        refuse_unsafe({"--report": html}, _inputs(files, video, image, audio))
        started = time.monotonic()
        with _quiet_native_stderr(), _spinner(_stderr(), "checking") as step:
            report, evidence = inspect(Sources(tuple(files or ()), video, image, audio), policy=policy,
                                       evidence=html is not None, notify=step)
        for c in report.checks:
            log.info("%s (%s): %s in %.2f s", c.id, Path(c.source).name, c.status.value, c.seconds or 0.0)
        log.info("checked in %.2f s", time.monotonic() - started)
        if html is not None:
            from preflight.batch import Result, SourceSet
            from preflight.html import render

            name = " + ".join(Path(s.path).name for s in report.sources)
            took = time.monotonic() - started
            write_atomically(html, render([Result(SourceSet(name), report, evidence, seconds=took)], [], name))
        if output is Format.json:
            sys.stdout.write(report.to_json() + "\n")
        else:
            render_terminal(report, _console())
    raise typer.Exit(_verdict_code(report))


@app.command()
def fix(
    files: Annotated[Optional[list[str]], typer.Argument(help="The long recording: a video, or a voice audio; or an image alone, to repair.", show_default=False)] = None,
    image: Annotated[Optional[str], typer.Option(help="The character image, cropped when it needs it (written beside the cut, named as it); the --audio is cut.")] = None,
    audio: Annotated[Optional[str], typer.Option(help="The voice audio to cut.")] = None,
    out: Annotated[Optional[Path], typer.Option("--output", "-o", help="Where to write the cut: .mp4 for a video, .wav for an audio; an image alone as it came (.png or .jpg).", show_default=False)] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the repairs, the window and why; write nothing.")] = False,
    no_crop: Annotated[bool, typer.Option("--no-crop", help="Do not crop out a second face, a mark, a caption or bars.")] = False,
    no_loudness: Annotated[bool, typer.Option("--no-loudness", help="Do not raise a quiet voice.")] = False,
    no_trim: Annotated[bool, typer.Option("--no-trim", help="Do not trim stray frames of another shot at the edges.")] = False,
    html: Annotated[Optional[Path], typer.Option("--report", help="Also write an HTML page: each repair (a crop drawn on a frame, before and after), the timeline with the stretches each check would fail and the window marked, and the cut's check.")] = None,
    output: Output = Format.text,
    strict: Strict = False,
    config: Config = None,
    time_limit: TimeLimit = FIX_TIME_LIMIT_S,
) -> None:
    """Repair a recording (crop, loudness, stray frames), find its best 4-15 s window, cut it, and check the cut.

    An image alone is only repaired. The cut (or the repaired image) is written only when its check
    is GO. Exit 0 written (or, with --dry-run, a window or an image's repair found), 1 no window
    qualifies, nothing to repair in an image, or the result is NO-GO (nothing written), 2 bad usage
    or unreadable input, 4 the time limit passed.
    """
    from preflight.fix import fix as fix_recording
    from preflight.report import render_terminal

    with _errors_as_exit_codes(), shutdown.interruptible(), _time_limited(time_limit, "fix"):
        policy = _policy(config, strict)
        refuse_unsafe({"-o": out, "--report": html}, _inputs(files, None, image, audio))
        with _quiet_native_stderr():
            allowed = {kind for kind, off in (("crop", no_crop), ("loudness", no_loudness), ("trim", no_trim)) if not off}
            result = fix_recording(*(files or ()), image=image, audio=audio, output=out, policy=policy, dry_run=dry_run,
                                   repairs=allowed)
        if html is not None:
            from preflight.html import render_fix

            write_atomically(html, render_fix(result))
        if output is Format.json:
            sys.stdout.write(result.model_dump_json(indent=2) + "\n")
        else:
            console = _console()
            _show_fix(result, console)
            if result.report is not None:
                render_terminal(result.report, console)
    found = result.repairs if result.image_only else result.window is not None
    if not found or (not dry_run and result.output is None):
        raise typer.Exit(EXIT_NO_GO)
    raise typer.Exit(EXIT_GO)


def _show_fix(result: Any, out: Console) -> None:
    for r in result.repairs:
        what = {"crop": lambda: "crop {2}x{3} at ({0}, {1})".format(*r.rect) + " of {0}x{1}".format(*r.frame),
                "loudness": lambda: f"gain {r.gain_db:+.1f} dB",
                "trim": lambda: f"trim to {r.start or 0:.2f}-" + (f"{r.end:.2f} s" if r.end is not None else "the end")}[r.kind]()
        out.print(Text.assemble(("repair", "bold"), f"  {what}: {r.why}"), soft_wrap=True)
    for refused in result.repairs_refused:
        out.print(Text.assemble(("no repair", "bold yellow"), f"  {refused}"), soft_wrap=True)
    w = result.window
    if result.image_only:
        out.print(Text.assemble(("image", "bold"), f"  {result.source}: {result.why}"), soft_wrap=True)
        if result.output is not None:
            out.print(Text.assemble(("wrote", "bold green"), f"  {result.output}, checked GO:"))
        elif result.report is not None:
            out.print(Text.assemble(("not written", "bold red"), ": the repaired image is NO-GO in its check:"))
        return
    if w is None:
        out.print(Text.assemble(("no window", "bold red"), f"  {result.source}"))
        out.print(f"  {result.why}", soft_wrap=True)
        _warn(result, out)
        if (p := result.best_partial) is not None:
            out.print(f"  best partial window: {p.start:.2f}-{p.end:.2f} s ({p.duration:.1f} s, {p.speech_s:.1f} s of speech)")
        return
    out.print(Text.assemble(("window", "bold"), f"  {w.start:.2f}-{w.end:.2f} s of {result.source}"))
    out.print(f"  {result.why}", soft_wrap=True)
    _warn(result, out)
    if result.checks:
        judged = ", ".join(f"{c.id} {c.status.value}" for c in result.checks)
        out.print(f"  the window, judged on the recording before the cut: {judged}", soft_wrap=True)
    for s in result.rejected:
        out.print(f"  avoided {s.start:.2f}-{s.end:.2f} s: {s.why} ({s.check})", soft_wrap=True)
    if result.sound_moved_ms:
        ms = result.sound_moved_ms
        out.print(f"  the sound moved {abs(ms)} ms {'earlier' if ms > 0 else 'later'}: av_sync measured it {abs(ms)} ms "
                  f"{'late' if ms > 0 else 'early'}", soft_wrap=True)
    if result.output is not None:
        also = f" and the image cropped, {result.image_output}" if result.image_output else ""
        out.print(Text.assemble(("wrote", "bold green"), f"  {result.output}{also}, checked GO:"))
    elif result.report is not None:
        what = ("the window is the whole recording, and the recording is NO-GO in its own check"
                if result.whole else "the cut is NO-GO in its check")
        out.print(Text.assemble(("not written", "bold red"), f": {what}:"))


@contextlib.contextmanager
def _spinner(err: Console, text: str) -> Iterator[Callable[[str], None]]:
    """A spinner on a terminal's stderr with the step given to the function it yields; nothing
    elsewhere (a pipe, a log, -q), where the function does nothing."""
    if not err.is_terminal or err.quiet:
        yield lambda step: None
        return
    with err.status(text, spinner="dots") as status:
        yield lambda step: status.update(f"{text}: {step}")
def _warn(result: Any, out: Console) -> None:
    for warning in result.warnings:
        out.print(Text.assemble(("  warning: ", "bold yellow"), warning), soft_wrap=True)


def _verdict_code(report: Any) -> int:
    """0 GO, 1 NO-GO because a check failed, 4 when only a broken check stands in the way: the
    media may be fine, the tool is not (retry, or report it)."""
    from preflight.report import Outcome

    return {Outcome.GO: EXIT_GO, Outcome.WARN: EXIT_GO, Outcome.NO_GO: EXIT_NO_GO, Outcome.ERROR: EXIT_BUG}[report.outcome]


@app.command()
def create(
    name: Annotated[str, typer.Option(help="The avatar's name.", show_default=False)],
    video: Annotated[Optional[str], typer.Option(help="The talking video: a path or an http(s) URL.")] = None,
    image: Annotated[Optional[str], typer.Option(help="The character image: a path or a URL.")] = None,
    audio: Annotated[Optional[str], typer.Option(help="The voice audio: a path or a URL.")] = None,
    video_id: Annotated[Optional[str], typer.Option(help="A video already uploaded to Mosaic.")] = None,
    image_id: Annotated[Optional[str], typer.Option(help="An image already uploaded to Mosaic.")] = None,
    audio_id: Annotated[Optional[str], typer.Option(help="An audio already uploaded to Mosaic.")] = None,
    wait: Annotated[bool, typer.Option("--wait", help="Wait until the avatar is ready or failed.")] = False,
    timeout: Annotated[float, typer.Option(help="How long --wait waits, in seconds.")] = 900.0,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check, and print the requests it would send; send nothing.")] = False,
    new: Annotated[bool, typer.Option("--new", help="Create another avatar even if these sources made one with this name.")] = False,
    trust_asset_ids: Annotated[bool, typer.Option("--trust-asset-ids", help="Submit asset ids, which cannot be checked here.")] = False,
    fix: Annotated[bool, typer.Option("--fix", help="First cut the video (or the voice audio) to its best 4-15 s window, as `preflight fix` does, and submit the cut.")] = False,
    output: Output = Format.text,
    strict: Strict = False,
    config: Config = None,
    time_limit: Annotated[Optional[float], typer.Option(min=1.0, help="Seconds the checking (and the cut, with --fix) may take before it is stopped as an error (exit 4); uploading and --wait are not counted.  \\[default: 240; 900 with --fix]", show_default=False)] = None,
) -> None:
    """Check the sources and, only if they are GO, upload them and create the avatar on Mosaic.

    Needs MOSAIC_API_KEY (MOSAIC_BASE_URL to point elsewhere). Running it again for the same
    media and name returns the avatar made the first time. With --fix too: the same recording
    cuts to the same bytes. Exit 0 created (or ready, with --wait), 1 NO-GO or no window to cut
    (nothing sent), 2 bad usage or input, 3 the API or the avatar failed, 4 the time limit passed.
    """
    from preflight import submit

    err = _stderr()
    out = _console()
    limit = time_limit or (FIX_TIME_LIMIT_S if fix else CHECK_TIME_LIMIT_S)
    with _errors_as_exit_codes(), _rejections_shown(output, out), shutdown.interruptible():
        policy = _policy(config, strict)
        with _quiet_native_stderr(), _time_limited(limit, "the check") as checked, \
                _cut_if(fix, dict(video=video, image=image, audio=audio), policy, err) as media:
            sources: dict[str, Any] = dict(**media, video_id=video_id, image_id=image_id, audio_id=audio_id,
                                           trust_asset_ids=trust_asset_ids)
            if dry_run:
                plan = submit.plan_avatar(name, policy=policy, **sources)
                _show(output, out, plan.report, requests=submit.dry_run(plan, new=new))
                return
            with err.status("checking the sources", spinner="dots") as spinner:
                def notify(line: str) -> None:
                    err.print(line, style="dim", soft_wrap=True)
                    spinner.update(line)

                avatar = submit.create_avatar(name, policy=policy, wait=wait, wait_timeout=timeout, new=new,
                                              notify=notify, checked=lambda _: checked(), **sources)
        _show(output, out, None, avatar=avatar)


@contextlib.contextmanager
def _cut_if(fix: bool, media: dict[str, str | None], policy: Any, err: Console) -> Iterator[dict[str, str | None]]:
    """``media`` as given; with ``fix``, its video (or voice audio) cut to the best window in a
    temporary folder, gone when the command ends (its image too, when fix cropped it). A dry run
    and a real one cut alike."""
    if not fix:
        yield media
        return
    from preflight.fix import fix as fix_recording

    cut = "video" if media["video"] is not None else "audio" if media["audio"] is not None else None
    if cut is None:
        raise UsageError("--fix cuts a recording: give --video, or --audio (with --image)")
    with shutdown.temporary_folder(prefix="preflight-fix-") as folder:
        target = folder / ("cut.mp4" if cut == "video" else "cut.wav")
        with err.status("finding the best window", spinner="dots"):
            result = fix_recording(**media, output=target, policy=policy)
        _show_fix(result.model_copy(update={"output": None, "report": None}), err)  # the cut is checked again below
        if result.output is None:
            where = f"no window of {result.source} passes: " if result.window is None else ""
            raise RejectedSources(f"{where}{result.refusal}; nothing sent", result.report)
        yield {**media, cut: result.output, **({"image": result.image_output} if result.image_output else {})}


@app.command()
def status(
    avatar_id: Annotated[str, typer.Argument(help="The avatar's id.", show_default=False)],
    output: Output = Format.text,
) -> None:
    """Show one avatar's status. Exit 0 when it exists (3 when it failed), 3 on API errors."""
    from preflight.mosaic import MosaicClient

    with _errors_as_exit_codes():
        with MosaicClient.from_env() as mosaic:
            avatar = mosaic.get_avatar(avatar_id)
            with _ledger_if_possible(_stderr()) as ledger:
                if ledger is not None:
                    ledger.set_status(mosaic.base_url, avatar.id, avatar.status, avatar.status_message)
        _show(output, _console(), None, avatar=avatar)
    raise typer.Exit(EXIT_API if avatar.status == "failed" else EXIT_GO)


@app.command("list")
def list_avatars(output: Output = Format.text) -> None:
    """List the account's avatars."""
    from rich.table import Table

    from preflight.mosaic import MosaicClient

    with _errors_as_exit_codes():
        with MosaicClient.from_env() as mosaic:
            avatars = mosaic.list_avatars()
    if output is Format.json:
        sys.stdout.write(json.dumps({"avatar_profiles": [a.model_dump(mode="json") for a in avatars]}, indent=2) + "\n")
        return
    table = Table("id", "name", "status", "message", box=None, pad_edge=False)
    for a in avatars:
        table.add_row(a.id, a.name or "", Text(a.status, style=_STATUS_STYLE.get(a.status, "")), a.status_message or "")
    _console().print(table if avatars else "no avatars yet")


@app.command()
def batch(
    target: Annotated[Path, typer.Argument(help="A folder of media, or a manifest .csv (name,video,image,audio).", show_default=False)],
    jobs: Annotated[Optional[int], typer.Option(min=1, help=JOBS_HELP, show_default=False)] = None,
    cluster: Annotated[Optional[str], typer.Option(envvar="PREFLIGHT_DASK_SCHEDULER", help="Check the sets on a Dask cluster instead: its scheduler (tcp://host:8786), or local:N for N local workers. Needs the `dask` extra.", show_default=False)] = None,
    report: Annotated[Optional[Path], typer.Option("--report", help="Write one self-contained HTML report here.")] = None,
    jsonl: Annotated[Optional[Path], typer.Option("--jsonl", help="Write one JSON report per line here, as each set finishes ('-': stdout, the summary then on stderr).")] = None,
    submit: Annotated[bool, typer.Option("--submit", help="Create avatars for the GO sets (needs MOSAIC_API_KEY).")] = False,
    fix_to: Annotated[Optional[Path], typer.Option("--fix", help="Then cut each NO-GO set that a window can save (too long, a cut, another voice, music...), or whose sound is out of sync, into this folder, as `preflight fix` does; only cuts checked GO are written.", show_default=False)] = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Check every set again, even if unchanged.")] = False,
    time_limit: Annotated[float, typer.Option(help="Seconds one set's check may take in its worker before it is stopped as an error (a worker's start is not counted).")] = 240.0,
    strict: Strict = False,
    config: Config = None,
    output: Annotated[Format, typer.Option("--format", help="text for people; json: progress as JSON events on stderr and the summary as one JSON object.")] = Format.text,
    progress_mode: Annotated[ProgressMode, typer.Option("--progress", help="bar, json (one event per finished set on stderr) or none.")] = ProgressMode.bar,
) -> None:
    """Check every source set in a folder or manifest, in parallel; summarise, and optionally submit.

    Exit 0 if every set is GO, 1 if any is NO-GO or could not be checked, 2 bad usage, 130 interrupted.
    """
    from preflight import batch as batches

    err = _stderr()
    out = err if _is_stdout(jsonl) else _console()  # stdout then carries only the JSON lines
    results: list[batches.Result] = []
    interrupted = False
    lost: ClusterLost | None = None
    if output is Format.json and progress_mode is ProgressMode.bar:
        progress_mode = ProgressMode.json  # a program's batch: its progress as JSON events too
    with _errors_as_exit_codes():
        policy = _policy(config, strict)
        if fix_to is not None and not fix_to.is_dir():
            raise UsageError(f"{fix_to}: no such folder for the cuts (make it first)")
        written = {"--report": report, "--jsonl": jsonl, "--fix": fix_to / "fixes.jsonl" if fix_to else None}
        refuse_unsafe(written, [target], streamed={"--jsonl"})  # before the folder is read
        if cluster is not None:
            if jobs is not None:
                raise UsageError("give --jobs (local workers) or --cluster, not both")
            from preflight.batch.cluster import require

            require(cluster)  # imports distributed, which sets its loggers' levels: ours come after
            _quiet_dask()
        sets, skipped = batches.discover(target)
        refuse_unsafe(written, [path for s in sets for path in s.files], streamed={"--jsonl"})
        client = _client_for_submit() if submit else None
        if not sets:
            raise UsageError(f"{target}: no media found" + (f" ({len(skipped)} files skipped)" if skipped else ""))
        if jobs is None:
            from preflight.batch.capacity import default_jobs

            jobs = default_jobs()
        with _ledger_if_possible(err) as ledger, _lines(jsonl) as write_line, \
                _progress(err, progress_mode, len(sets)) as finished:
            found = batches.run(sets, policy, jobs=jobs, time_limit=time_limit, ledger=ledger, use_cache=not no_cache,
                                cluster=cluster)
            try:
                for result in found:
                    results.append(result)
                    write_line(result.report.model_dump_json())
                    finished(result)
            except KeyboardInterrupt:
                interrupted = True
            except ClusterLost as exc:  # summarised and reported like an interruption, then its one line
                interrupted, lost = True, exc
            finally:
                found.close()
        if output is Format.json:
            summary = _summary_json(results, skipped, len(sets), interrupted)
            print(json.dumps(summary), file=sys.stderr if _is_stdout(jsonl) else sys.stdout)
        else:
            _summary(out, results, skipped, len(sets), interrupted)
        if report is not None:
            from preflight.html import render

            write_atomically(report, render(results, skipped, str(target), interrupted))
            err.print(f"report: {report}")
        if lost is not None:
            raise lost
        if fix_to is not None and not interrupted:
            _fix_no_go(results, fix_to, policy, err, out)
        if submit and client is not None and not interrupted:
            _submit_go(results, client, err, out)
    if interrupted:  # after the summary and the report: no teardown under native threads
        shutdown.stop_now(130)
    raise typer.Exit(EXIT_GO if results and all(r.report.go for r in results) else EXIT_NO_GO)


def _fix_no_go(results: list, folder: Path, policy: Policy, err: Console, out: Console) -> None:
    """Cut (and repair) each NO-GO set whose failures a window or a repair can remove into ``folder``
    (``name.mp4``, or ``name.wav`` beside its image, the image too when it is cropped, or an image
    alone repaired), one set at a time here; list every attempt in ``fixes.jsonl``."""
    from preflight.fix import savable
    from preflight.report import Outcome

    tried = []
    with _quiet_native_stderr():  # fix runs mediapipe here, in this process
        for r in sorted((r for r in results if r.outcome is Outcome.NO_GO), key=lambda r: r.set.name):
            if savable(r.report) and not (r.set.video and r.set.audio):  # one recording or an image, and fix can save it
                if (result := _fix_one(r.set, folder, policy, err, out)) is not None:
                    tried.append((r.set.name, result))
    write_atomically(folder / "fixes.jsonl", "".join(json.dumps({"set": name, **result.model_dump(mode="json")}) + "\n"
                                                      for name, result in tried))
    err.print(f"cuts: {sum(1 for _, result in tried if result.output)} of {len(tried)} sets tried, in {folder}")


def _fix_one(s: Any, folder: Path, policy: Policy, err: Console, out: Console) -> Any:
    """One set's :class:`~preflight.fix.FixResult` (None when its recording cannot be read), and a line for people."""
    from preflight.fix import fix as fix_recording

    from preflight.repairs import image_suffix

    target = folder / (f"{s.name}.{'mp4' if s.video else 'wav'}" if s.video or s.audio else s.name + image_suffix(s.image))
    try:
        with err.status(f"cutting {s.name}", spinner="dots"):
            result = fix_recording(video=s.video, image=s.image, audio=s.audio, output=target, policy=policy,
                                   timeout=FIX_TIME_LIMIT_S)  # a recording that stalls its decoder is not cut
    except PreflightError as exc:
        out.print(Text.assemble(("not cut ", "bold red"), s.name, f": {exc}"), soft_wrap=True)
        return None
    if result.output is not None and result.image_only:
        out.print(Text.assemble(("repaired GO ", "bold green"), s.name, f": {result.why} -> {result.output}"), soft_wrap=True)
    elif result.output is not None:
        w = result.window
        also = f" (and {result.image_output})" if result.image_output else ""
        out.print(Text.assemble(("cut GO ", "bold green"), s.name, f": {w.start:.2f}-{w.end:.2f} s -> {result.output}{also}"))
    else:
        out.print(Text.assemble(("not cut ", "bold red"), s.name, f": {result.refusal}"), soft_wrap=True)
    return result


def _quiet_dask() -> None:
    """Dask's client logs a lost scheduler with tracebacks, and its loggers (each with a level and
    a handler of its own) much else; the batch says what matters in one line. -v lets warnings through."""
    level = logging.WARNING if log.isEnabledFor(logging.INFO) else logging.CRITICAL
    for name in list(logging.root.manager.loggerDict):
        if name == "distributed" or name.startswith("distributed."):
            logging.getLogger(name).setLevel(level)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="The address to listen on; off localhost PREFLIGHT_SERVE_TOKEN is required.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="The port.")] = 8750,
    jobs: Annotated[Optional[int], typer.Option(min=1, help=JOBS_HELP, show_default=False)] = None,
    allow_host: Annotated[Optional[list[str]], typer.Option("--allow-host", help="Also answer to this host name (the name a proxy or DNS gives the server; '*': any). By default only the address served on, localhost on a loopback address, and the machine's names and addresses on 0.0.0.0.", show_default=False)] = None,
    queue: Annotated[int, typer.Option(min=1, help="Checks that may wait for a worker; past that, 429 with Retry-After.")] = 16,
    time_limit: Annotated[float, typer.Option(help="Seconds one check may take in its worker before it is stopped as an error (a worker's start is not counted).")] = 240.0,
    strict: Strict = False,
    config: Config = None,
) -> None:
    """Serve a web page and an HTTP API (/v1, OpenAPI at /v1/openapi.json) that check media as `check`
    does, and create avatars from GO checks when MOSAIC_API_KEY is set.

    Needs the serve extra (`pipx install '.[serve]'` in preflight's checkout). Exit 2 on bad usage; Ctrl-C stops it.
    """
    with _errors_as_exit_codes():
        try:
            from preflight.serve import serve as run_server
            import preflight.serve.app  # noqa: F401 - the extra's imports, checked before anything starts
        except ModuleNotFoundError as exc:
            if exc.name not in ("fastapi", "uvicorn", "python_multipart", "starlette"):
                raise
            raise UsageError(f"preflight serve needs {exc.name}: install preflight with its serve extra "
                             "(`pipx install --force '.[serve]'` in its checkout; README: Install)") from None
        from preflight.batch.capacity import default_jobs

        run_server(host, port, jobs=jobs or default_jobs(), queue_size=queue, time_limit=time_limit,
                   policy=_policy(config, strict), allow_hosts=allow_host or ())


def _client_for_submit() -> Any:
    from preflight.mosaic import MosaicClient

    return MosaicClient.from_env()  # before the checks: a missing key is known at once


def _submit_go(results: list, client: Any, err: Console, out: Console) -> None:
    """Print what submitting the GO sets made; raise when any could not be submitted or failed."""
    from preflight.submit import submit_checked

    go = [(r.set.name, r.report, r.set.given) for r in results if r.report.go]
    failed = 0
    with client:
        for name, outcome in submit_checked(go, client, notify=lambda line: err.print(line, style="dim", soft_wrap=True)):
            if isinstance(outcome, PreflightError):
                failed += 1
                out.print(Text.assemble(("not submitted", "bold red"), f"  {name}: {outcome}"), soft_wrap=True)
            else:
                failed += outcome.status == "failed"
                out.print(Text.assemble((outcome.status, f"bold {_STATUS_STYLE.get(outcome.status, '')}"),
                                        f"  {name}: avatar {outcome.id}",
                                        f" ({outcome.status_message})" if outcome.status_message else ""))
    if failed:
        raise MosaicError(f"{failed} of {len(go)} GO sets could not be submitted, or their avatar failed (see above)")


def _summary(out: Console, results: list, skipped: list, total: int, interrupted: bool) -> None:
    from collections import Counter

    from rich.table import Table

    from preflight.report import Outcome

    counts = Counter(r.outcome for r in results)
    reasons = Counter(c.id for r in results if r.outcome is Outcome.NO_GO for c in r.report.blocking)
    table = Table(box=None, pad_edge=False, show_header=False)
    table.add_column(no_wrap=True)
    table.add_column(justify="right")
    table.add_column(style="dim")
    table.add_row(Text("GO", style="bold green"), str(counts[Outcome.GO]), "")
    table.add_row(Text("GO with warnings", style="bold yellow"), str(counts[Outcome.WARN]), "")
    table.add_row(Text("NO-GO", style="bold red"), str(counts[Outcome.NO_GO]),
                  ", ".join(f"{check} {n}" for check, n in reasons.most_common()))
    table.add_row(Text("errors", style="bold magenta"), str(counts[Outcome.ERROR]), "")
    cached = sum(r.cached for r in results)
    notes = [f"{len(results)} of {total} sets checked" + (" (interrupted)" if interrupted else "")]
    if cached:
        notes.append(f"{cached} from the cache")
    if skipped:
        notes.append(f"{len(skipped)} files skipped (not media)")
    out.print(table)
    out.print("; ".join(notes), style="dim")
    for r in sorted((r for r in results if not r.outcome.go), key=lambda r: r.set.name):
        out.print(Text.assemble(("error " if r.outcome is Outcome.ERROR else "NO-GO ", "bold red"), r.set.name, ": ",
                                "; ".join(f"{c.id}: {c.message}" for c in r.report.blocking)), soft_wrap=True)


@contextlib.contextmanager
def _ledger_if_possible(err: Console) -> Iterator[Any]:
    """The ledger, or None with a warning: a batch without its cache still checks."""
    from preflight.ledger import Ledger

    try:
        ledger = Ledger()
    except UsageError as exc:
        err.print(f"[yellow]warning:[/] {exc}; going on without the ledger (no cache)", markup=True, soft_wrap=True)
        yield None
        return
    with ledger:
        yield ledger


def _is_stdout(path: Path | None) -> bool:
    return path is not None and str(path) == "-"


@contextlib.contextmanager
def _lines(path: Path | None) -> Iterator[Any]:
    """One JSON report per line, each flushed as it is written, so an interrupted run keeps its lines."""
    if path is None:
        yield lambda line: None
        return
    if _is_stdout(path):
        def emit(line: str) -> None:
            sys.stdout.write(line + "\n")
            sys.stdout.flush()

        yield emit
        return
    try:
        f = path.open("w", encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"{path}: cannot write the results ({exc.strerror})") from None
    with f:
        def write(line: str) -> None:
            f.write(line + "\n")
            f.flush()

        yield write


@contextlib.contextmanager
def _progress(err: Console, mode: ProgressMode, total: int) -> Iterator[Callable[[Any], None]]:
    """A function to call with each finished set: a bar, one JSON event per set on stderr, or nothing."""
    if mode is ProgressMode.none or err.quiet:
        yield lambda result: None
        return
    if mode is ProgressMode.json:
        done = 0

        def event(result: Any) -> None:
            nonlocal done
            done += 1
            print(json.dumps(_set_event(result, done, total)), file=sys.stderr, flush=True)

        yield event
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, ProgressColumn, TextColumn, TimeRemainingColumn

    class Rate(ProgressColumn):
        def render(self, task: Any) -> Text:
            return Text(f"{task.speed * 60:.1f} sets/min" if task.speed else "", style="dim")

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), Rate(), TimeRemainingColumn(),
                  console=err) as progress:
        task = progress.add_task(f"checking {total} source sets", total=total)
        yield lambda result: progress.advance(task)


def _set_event(result: Any, done: int, total: int) -> dict[str, Any]:
    """One finished set, for a pipeline's logs: what it is, how it came out, and why."""
    return {"event": "set", "done": done, "total": total, "name": result.set.name, "outcome": result.outcome,
            "verdict": result.report.verdict, "cached": result.cached, "seconds": round(result.seconds, 2),
            "reasons": sorted({c.reason for c in result.report.checks if c.reason and c.status.value != "skipped"})}


def _summary_json(results: list, skipped: list, total: int, interrupted: bool) -> dict[str, Any]:
    from collections import Counter

    from preflight.report import Outcome

    counts = Counter(r.outcome for r in results)
    return {"event": "summary", "total": total, "checked": len(results), "interrupted": interrupted,
            "cached": sum(r.cached for r in results), "skipped_files": len(skipped),
            **{k.value: counts[k] for k in Outcome},
            "sets": {r.set.name: r.outcome for r in results}}


def _inputs(files: list[str] | None, *named: str | None) -> list[str]:
    """The sources as given: what no output may overwrite."""
    return [*(files or ()), *(n for n in named if n)]


@contextlib.contextmanager
def _time_limited(seconds: float, what: str) -> Iterator[Callable[[], None]]:
    """Within the block, the run is stopped at once after ``seconds`` (exit 4), its partial files
    deleted; yields a function that ends the limit early (create: the checking is done)."""
    line = (f"error: {what} did not finish within {seconds:g} s (--time-limit) and was stopped: the file may be "
            "damaged or built to stall the decoder; if it is only slow, give more seconds")
    with shutdown.deadline(seconds, line, EXIT_BUG) as cancel:
        yield cancel


_STATUS_STYLE = {"ready": "green", "failed": "red", "pending": "yellow", "processing": "yellow"}


def _policy(config: Path | None, strict: bool) -> Policy:
    from preflight.policy import load_policy

    policy = load_policy(config)
    return policy.model_copy(update={"strict": True}) if strict else policy


def _show(output: Format, out: Console, report: Any, *, avatar: Avatar | None = None,
          requests: list[str] | None = None) -> None:
    """create's and status's results: JSON of everything there is, or the report and a few lines."""
    from preflight.report import render_terminal

    if output is Format.json:
        whole: dict[str, Any] = {}
        if report is not None:
            whole["report"] = report.model_dump(mode="json")
        if requests is not None:
            whole["requests"] = requests
        if avatar is not None:
            whole["avatar"] = avatar.model_dump(mode="json")
        sys.stdout.write(json.dumps(whole if report is not None else whole["avatar"], indent=2) + "\n")
        return
    if report is not None:
        render_terminal(report, out)
    if requests is not None:
        out.print("\n[bold]dry run:[/] would send", markup=True)
        for i, line in enumerate(requests, 1):
            out.print(f"  {i}. {line}", soft_wrap=True)
    if avatar is not None:
        out.print(Text.assemble((avatar.status, f"bold {_STATUS_STYLE.get(avatar.status, '')}"), "  ",
                                f"avatar {avatar.id}", f"  {avatar.name!r}" if avatar.name else ""))
        for label, value in (("message", avatar.status_message), ("preview", avatar.video_preview_url)):
            if value:
                out.print(f"  {label}: {value}", soft_wrap=True)


@contextlib.contextmanager
def _rejections_shown(output: Format, out: Console) -> Iterator[None]:
    """A NO-GO in create shows the report that refused it before the one-line error."""
    try:
        yield
    except RejectedSources as exc:
        if exc.report is not None:
            _show(output, out, exc.report)
        raise


@contextlib.contextmanager
def _errors_as_exit_codes() -> Iterator[None]:
    """User-facing failures become one line on stderr and an exit code, never a traceback."""
    err = _console(stderr=True)
    try:
        yield
    except PreflightError as exc:
        err.print(f"[bold red]error:[/] {escape(str(exc))}", markup=True, soft_wrap=True)  # "[serve]" is not markup
        raise typer.Exit(exc.exit_code) from None
    except KeyboardInterrupt:  # the blocks it passed through have cleaned up: no teardown under native threads
        shutdown.stop_now(130, "interrupted")
    except Exception as exc:  # noqa: BLE001 - a bug must still not drown the user in a traceback
        if os.environ.get("PREFLIGHT_DEBUG"):
            traceback.print_exc()
        err.print(
            f"[bold red]internal error:[/] {type(exc).__name__}: {escape(str(exc))} (set PREFLIGHT_DEBUG=1 for details)",
            markup=True,
            soft_wrap=True,
        )
        raise typer.Exit(EXIT_BUG) from None


@contextlib.contextmanager
def _quiet_native_stderr() -> Iterator[None]:
    """Send what native libraries (mediapipe, TFLite) write to fd 2 to /dev/null for good,
    while Python's own messages keep going to the terminal through a copy of the old fd."""
    if os.environ.get("PREFLIGHT_DEBUG") or not _writes_to_fd(sys.stderr, 2):  # run in-process: stderr is not ours
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    os.close(devnull)
    # Not restored on exit: mediapipe also prints while the interpreter shuts down.
    sys.stderr = os.fdopen(saved, "w", buffering=1, encoding="utf-8", errors="replace")
    yield


def _writes_to_fd(stream: Any, fd: int) -> bool:
    try:
        return bool(stream.fileno() == fd)
    except (AttributeError, OSError, ValueError):  # io.StringIO and the like have no descriptor
        return False


def main() -> None:
    _leave(run())


def run(argv: list[str] | None = None) -> int:
    """The exit code of the command line ``argv`` (default: the process's own arguments), without
    ending the process: what ``main`` runs, and what the tests call in-process."""
    try:
        if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:  # loaded: each command takes Ctrl-C its own way
            signal.signal(signal.SIGINT, signal.default_int_handler)
        code = app(args=argv, prog_name="preflight", standalone_mode=False)  # the exit code, not an exit
    except (typer.Abort, KeyboardInterrupt):  # Ctrl-C before a command took it over (or before click
        shutdown.stop_now(130, "interrupted")  # began to catch it: typer builds the command first)
    except typer.Exit as exc:
        code = exc.exit_code
    except Exception as exc:  # click's usage errors (typer vendors click): one line, as every other error
        if not hasattr(exc, "format_message") or not isinstance(getattr(exc, "exit_code", None), int):
            raise
        ctx = getattr(exc, "ctx", None)
        if not exc.format_message() and ctx is not None:  # no arguments at all: the help, as click shows it
            print(ctx.get_help(), file=sys.stderr)
            return EXIT_USAGE
        where = f" (see `{ctx.command_path} --help`)" if ctx is not None and exc.exit_code == EXIT_USAGE else ""
        print(f"error: {exc.format_message()}{where}", file=sys.stderr)
        return int(exc.exit_code)
    if code == 130:  # typer's answer to a Ctrl-C before a command took it over
        shutdown.stop_now(130, "interrupted")
    return code if isinstance(code, int) else EXIT_GO


def _leave(code: int) -> NoReturn:
    """End with ``code`` once what was printed is out, without the interpreter's teardown: a
    native library's thread may still be mid-call (an analysis that timed out goes on in its
    daemon thread), and a Ctrl-C during the teardown killed the process by its signal. The work
    is done: a Ctrl-C now changes nothing."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a reader that went away (a closed pipe)
            pass
    os._exit(code)
