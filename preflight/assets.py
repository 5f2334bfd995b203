"""Where the model files are: inside the installed wheel, or models/ of a source checkout, unless
``PREFLIGHT_MODELS`` names a folder of them (to try changed models; their digest is then what
``preflight version -v``, the cache and a cluster's version check see)."""

from __future__ import annotations

import os
from pathlib import Path

from preflight.errors import ToolMissing

_PLACES = (
    Path(__file__).parent / "models",  # the wheel (pyproject force-includes models/ here)
    Path(__file__).parent.parent / "models",  # an editable install or a checkout
)


def model_path(name: str) -> Path:
    override = os.environ.get("PREFLIGHT_MODELS")
    for folder in (Path(override),) if override else _PLACES:
        if (folder / name).is_file():
            return folder / name
    if override:
        raise ToolMissing(f"model file {name} is missing from PREFLIGHT_MODELS={override}; copy it there, or unset it")
    raise ToolMissing(f"model file {name} is missing from the installation; reinstall avatar-preflight")
