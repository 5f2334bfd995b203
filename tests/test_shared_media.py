"""The labelled real recordings in ../shared/media, judged by the labels' own rule (its README):

- ``go``: no check fails (or errors);
- ``no-go``: the verdict is NO-GO and at least one ``must_flag`` check warns or fails;
- ``flag``: at least one ``must_flag`` check warns or fails (either verdict).

Every row is tested. A file this build still gets wrong is marked ``xfail(strict=True)`` with its
failure class, so a file that starts passing fails the suite until its mark is removed: the list
can only shrink.

The files are checked two at a time in worker processes (a check keeps about one and a half of the
two cores busy), each exactly as ``preflight.check`` checks it. The slowest go first (videos, the
largest first, then audio, then images), so the two workers finish together rather than one
idling while the other ends on a long video.
"""

import json
import multiprocessing
from concurrent.futures import Future, ProcessPoolExecutor

import jsonschema
import pytest

from conftest import ROOT, SHARED_MEDIA, shared_labels

import preflight
from preflight.analyzers import REASONS
from preflight.report import Status

SCHEMA = json.loads((ROOT / "schema" / "report.schema.json").read_text())

FLAGGED = (Status.WARN, Status.FAIL)
BLOCKING = (Status.FAIL, Status.ERROR)

# file -> failure class: what still misses the labels' rule (each is NO-GO, for another check).
KNOWN_MISSES = {
    # Dubs on weak lip-sync evidence: av_sync warns (av_sync.unclear), never fails, because own
    # voices score as low there (eval/README.md); nothing else fails them, so they are GO.
    "dub_demo3_obama_voice.mp4": "weak evidence: a 73 px mouth, av_sync only warns",
    "dub_demo3_german_voice.mp4": "weak evidence: a 73 px mouth, av_sync only warns",
    "dub_may_katie_voice.mp4": "weak evidence: 107 speech frames (a 5 s clip), av_sync only warns",
}

LABELS = shared_labels()

pytestmark = pytest.mark.skipif(not LABELS, reason=f"no labelled media at {SHARED_MEDIA}")


def _param(label):
    marks = [pytest.mark.xfail(strict=True, reason=KNOWN_MISSES[label.file])] if label.file in KNOWN_MISSES else []
    return pytest.param(label, id=label.file, marks=marks)


_COST_RANK = {"video": 2, "audio": 1}  # an image is one frame: the cheapest


def _slowest_first(files: list[str]) -> list[str]:
    """``files`` by their expected cost, largest first: kind, then bytes (length x size)."""
    kinds = {label.file: label.kind for label in LABELS}
    return sorted(files, key=lambda f: (_COST_RANK.get(kinds[f], 0), (SHARED_MEDIA / f).stat().st_size), reverse=True)


def _check(file: str) -> str:
    return preflight.check(SHARED_MEDIA / file, policy=preflight.Policy()).to_json()


@pytest.fixture(scope="module")
def checked(request) -> dict[str, Future]:
    """The selected labelled files' reports, as futures, all submitted at once."""
    wanted = [item.callspec.params["label"].file for item in request.session.items
              if item.module is request.module and hasattr(item, "callspec") and "label" in item.callspec.params]
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        yield {file: pool.submit(_check, file) for file in _slowest_first(wanted)}


@pytest.mark.slow
@pytest.mark.parametrize("label", [_param(label) for label in LABELS])
def test_label_rule(label, checked):
    report = preflight.Report.model_validate_json(checked[label.file].result(timeout=600))
    flagged = {c.id for c in report.checks if c.status in FLAGGED}
    summary = "; ".join(f"{c.id}={c.status.value} ({c.message})" for c in report.checks)
    unlisted = {c.reason for c in report.checks if c.reason} - set(REASONS)
    assert not unlisted, f"reason codes missing from the registry: {unlisted}"
    jsonschema.validate(json.loads(report.to_json()), SCHEMA)  # what `check --format json` prints
    if label.verdict == "go":
        failing = [c.id for c in report.checks if c.status in BLOCKING]
        assert not failing, f"{label.file} is go, but {failing} fail: {summary}"
        return
    assert label.must_flag & flagged, f"{label.file}: none of {sorted(label.must_flag)} flagged: {summary}"
    if label.verdict == "no-go":
        assert report.verdict == "no-go", f"{label.file} is no-go, but the verdict is GO: {summary}"


def test_every_known_miss_is_a_labelled_file():
    assert set(KNOWN_MISSES) <= {label.file for label in LABELS}
