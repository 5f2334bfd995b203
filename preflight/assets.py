"""Where the bundled model files are: inside the installed wheel, or models/ of a source checkout."""

from __future__ import annotations

from pathlib import Path

from preflight.errors import ToolMissing

_PLACES = (
    Path(__file__).parent / "models",  # the wheel (pyproject force-includes models/ here)
    Path(__file__).parent.parent / "models",  # an editable install or a checkout
)


def model_path(name: str) -> Path:
    for folder in _PLACES:
        if (folder / name).is_file():
            return folder / name
    raise ToolMissing(f"model file {name} is missing from the installation; reinstall avatar-preflight")
