"""The Python API as an integrator meets it: what `import preflight` offers, and its types."""

import os
import re
import subprocess
import sys

import pytest

from conftest import ROOT

import preflight


def _readme_python() -> str:
    """Every Python example of the README (the indented blocks that start with `import preflight`), as one module."""
    blocks = re.findall(r"^    import preflight\n(?:^(?:    .*)?\n)+", (ROOT / "README.md").read_text(), flags=re.M)
    assert len(blocks) >= 2, "the README's Python examples are gone"
    return "\n".join(f"def example_{i}() -> None:\n" + block.rstrip() for i, block in enumerate(blocks))


@pytest.mark.slow  # mypy --strict over the package, without its cache
def test_the_readmes_python_examples_type_check(tmp_path):
    # create_avatar and plan_avatar are loaded lazily (a module __getattr__): their types must still
    # reach mypy, or `avatar.id` in the README's example is an error
    pytest.importorskip("mypy")
    snippet = tmp_path / "readme_examples.py"
    snippet.write_text("import preflight\n\n\n" + _readme_python() + "\n\n\nreveal_type(preflight.create_avatar)\nreveal_type(preflight.MosaicClient)\n")
    result = subprocess.run([sys.executable, "-m", "mypy", "--strict", "--follow-imports=silent", "--no-incremental",
                             "--python-executable", sys.executable, str(snippet)],
                            capture_output=True, text=True, env={**os.environ, "MYPYPATH": str(ROOT)}, timeout=300)
    notes = [line for line in result.stdout.splitlines() if "note: Revealed type" in line]
    errors = [line for line in result.stdout.splitlines() if ": error:" in line]
    assert not errors and result.returncode == 0, result.stdout + result.stderr
    assert "-> preflight.mosaic.Avatar" in notes[0] and re.search(r"def \(name: (builtins\.)?str", notes[0]), notes
    assert "preflight.mosaic.MosaicClient" in notes[1]


def test_dir_lists_every_export_and_the_submission_side_loads_on_first_use():
    # the lazily loaded exports (create_avatar, plan_avatar, Avatar, MosaicClient) are listed too
    assert set(preflight.__all__) <= set(dir(preflight))
    code = ("import sys, preflight; before = 'preflight.submit' in sys.modules; "
            "preflight.create_avatar; print(before, 'preflight.submit' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True).stdout
    assert out.split() == ["False", "True"]
    with pytest.raises(AttributeError, match="no attribute 'create_avatr'"):
        preflight.create_avatr  # noqa: B018
