"""The command line: ``preflight check``.

Exit codes: 0 GO (warnings allowed), 1 NO-GO, 2 bad usage or unreadable input, 3 API failure.
"""

from __future__ import annotations

import contextlib
import enum
import os
import sys
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

from preflight.errors import PreflightError
from preflight.version import __version__

EXIT_GO, EXIT_NO_GO, EXIT_USAGE = 0, 1, 2

app = typer.Typer(
    help="Check source media for a Mosaic AI avatar before it is submitted.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


class Format(str, enum.Enum):
    text = "text"
    json = "json"


def _version(value: bool) -> None:
    if value:
        print(f"preflight {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        Optional[bool], typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = None,
) -> None:
    """Check source media for a Mosaic AI avatar before it is submitted."""


@app.command()
def check(
    files: Annotated[Optional[list[str]], typer.Argument(help="Media files; their roles are inferred from their streams.", show_default=False)] = None,
    video: Annotated[Optional[str], typer.Option(help="The talking video.")] = None,
    image: Annotated[Optional[str], typer.Option(help="The character image.")] = None,
    audio: Annotated[Optional[str], typer.Option(help="The voice audio.")] = None,
    output: Annotated[Format, typer.Option("--format", help="text for people, json for programs.")] = Format.text,
    strict: Annotated[bool, typer.Option("--strict", help="Warnings block like failures.")] = False,
    config: Annotated[Optional[Path], typer.Option(help="A policy TOML file (default: preflight.toml or \\[tool.preflight] in pyproject.toml, found from here up).")] = None,
) -> None:
    """Check one source set: a video, an image with a voice audio, or any one of them alone.

    Exit 0 GO, 1 NO-GO, 2 bad usage or unreadable input.
    """
    from preflight.check import check as run_check
    from preflight.policy import load_policy
    from preflight.report import render_terminal

    with _errors_as_exit_codes():
        policy = load_policy(config)
        if strict:
            policy = policy.model_copy(update={"strict": True})
        with _quiet_native_stderr():
            report = run_check(*(files or []), video=video, image=image, audio=audio, policy=policy)
        if output is Format.json:
            sys.stdout.write(report.to_json() + "\n")
        else:
            render_terminal(report, Console(highlight=False))
    raise typer.Exit(EXIT_GO if report.go else EXIT_NO_GO)


@contextlib.contextmanager
def _errors_as_exit_codes() -> Iterator[None]:
    """User-facing failures become one line on stderr and an exit code, never a traceback."""
    err = Console(stderr=True, highlight=False)
    try:
        yield
    except PreflightError as exc:
        err.print(f"[bold red]error:[/] {exc}", markup=True, soft_wrap=True)
        raise typer.Exit(exc.exit_code) from None
    except KeyboardInterrupt:
        err.print("interrupted")
        raise typer.Exit(130) from None
    except Exception as exc:  # noqa: BLE001 - a bug must still not drown the user in a traceback
        if os.environ.get("PREFLIGHT_DEBUG"):
            traceback.print_exc()
        err.print(
            f"[bold red]internal error:[/] {type(exc).__name__}: {exc} (set PREFLIGHT_DEBUG=1 for details)",
            markup=True,
            soft_wrap=True,
        )
        raise typer.Exit(EXIT_USAGE) from None


@contextlib.contextmanager
def _quiet_native_stderr() -> Iterator[None]:
    """Send what native libraries (mediapipe, TFLite) write to fd 2 to /dev/null for good,
    while Python's own messages keep going to the terminal through a copy of the old fd."""
    if os.environ.get("PREFLIGHT_DEBUG"):
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


def main() -> None:
    app()
