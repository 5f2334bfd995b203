"""The labelled real recordings in ../shared/media: every label naming a check this build runs
must be flagged by it, and no `go` file may fail one."""

import pytest

from conftest import SHARED_MEDIA, shared_labels

import preflight
from preflight.report import Status

# The checks this build has; labels naming others (av_sync) wait for their analyzers.
BUILT = {"duration", "streams", "decodable", "resolution", "faces", "face_size", "scene_cuts", "speech",
         "single_speaker", "music", "noise", "loudness", "clipping", "mouth_motion", "frontal", "overlay"}
LABELS = shared_labels()

pytestmark = pytest.mark.skipif(not LABELS, reason=f"no labelled media at {SHARED_MEDIA}")


@pytest.fixture(scope="module")
def reports():
    cache = {}

    def get(label):
        if label.file not in cache:
            path = SHARED_MEDIA / label.file
            cache[label.file] = preflight.check(path, policy=preflight.Policy())
        return cache[label.file]

    return get


@pytest.mark.parametrize("label", [l for l in LABELS if l.must_flag & BUILT], ids=lambda l: l.file)
def test_labelled_problems_are_flagged(reports, label):
    report = reports(label)
    flagged = {c.id for c in report.checks if c.status in (Status.WARN, Status.FAIL)}
    missing = (label.must_flag & BUILT) - flagged
    assert not missing, f"{label.file}: {sorted(missing)} not flagged; checks: " + "; ".join(
        f"{c.id}={c.status.value} ({c.message})" for c in report.checks
    )


@pytest.mark.parametrize("label", [l for l in LABELS if l.verdict == "go"], ids=lambda l: l.file)
def test_good_files_fail_no_built_check(reports, label):
    report = reports(label)
    failing = [c for c in report.checks if c.id in BUILT and c.status in (Status.FAIL, Status.ERROR)]
    assert not failing, f"{label.file}: " + "; ".join(f"{c.id}: {c.message}" for c in failing)
