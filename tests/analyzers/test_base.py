"""The analyzer contract: what a module declares, and what the pipeline does with it."""

import dataclasses
import re

import pytest
from conftest import ROOT

import preflight
from preflight.analyzers import ANALYZERS, CHECK_IDS, Aspect, base
from preflight.analyzers.base import Analyzer
from preflight.media import Role
from preflight.report import Status


def _broken(*args):
    raise ValueError("a bug")


def test_a_broken_analyzer_reports_every_check_it_declares_as_an_error(monkeypatch, fixture_path):
    # the faces analyzer declares faces and face_size: a crash must leave neither out of the report
    monkeypatch.setitem(ANALYZERS, "faces", dataclasses.replace(ANALYZERS["faces"], judge=_broken))
    report = preflight.check(fixture_path("face.png"))
    errors = {c.id: c for c in report.checks if c.status is Status.ERROR}
    assert set(errors) == {"faces", "face_size"}
    assert all(c.reason == "analysis.broken" and "ValueError: a bug" in c.message for c in errors.values())


def test_a_check_id_an_analyzer_does_not_declare_is_its_bug(monkeypatch, fixture_path):
    music = ANALYZERS["music"]
    stray = dataclasses.replace(music, judge=lambda heard, window, policy: [
        c.model_copy(update={"id": "musik"}) for c in music.judge(heard, window, policy)])
    monkeypatch.setitem(ANALYZERS, "music", stray)
    [check] = [c for c in preflight.check(fixture_path("speech.wav")).checks if c.id == "music"]
    assert check.status is Status.ERROR and "undeclared checks ['musik']" in check.message


def test_an_analyzer_runs_only_on_the_roles_it_declares(monkeypatch, fixture_path):
    seen = []
    faces = ANALYZERS["faces"]
    monkeypatch.setitem(ANALYZERS, "faces", dataclasses.replace(
        faces, measure=lambda media, policy: seen.append(media.role) or faces.measure(media, policy)))
    report = preflight.check(fixture_path("speech.wav"))
    assert seen == [] and not any(c.id in faces.checks for c in report.checks)


def test_a_declaration_names_a_real_policy_section_and_its_own_reason_codes():
    with pytest.raises(ValueError, match="no section 'facez'"):
        Analyzer(checks=("faces",), roles=frozenset({Role.IMAGE}), policy="facez", aspect=Aspect.PICTURE,
                 reasons={}, measure=_broken, judge=_broken, windowed=True)
    with pytest.raises(ValueError, match="not of its checks"):
        Analyzer(checks=("faces",), roles=frozenset({Role.IMAGE}), policy="faces", aspect=Aspect.PICTURE,
                 reasons={"noise.loud": "x"}, measure=_broken, judge=_broken, windowed=True)


def test_check_ids_are_unique_and_every_analyzer_is_registered_by_its_name():
    assert len(CHECK_IDS) == len(set(CHECK_IDS))
    assert all(name == a.name for name, a in ANALYZERS.items())
    modules = {p.stem for p in (ROOT / "preflight" / "analyzers").glob("*.py")} - {"__init__", "base"}
    assert {a.judge.__module__.rsplit(".", 1)[1] for a in ANALYZERS.values()} == modules
    assert base.Aspect.SOUND in {a.aspect for a in ANALYZERS.values()}


def test_the_readme_checks_table_is_the_registry():
    table = (ROOT / "README.md").read_text().split("## Checks", 1)[1].split("\n## ", 1)[0]
    rows = [[c.strip() for c in line.strip("|").split("|")] for line in table.splitlines()[4:] if line.startswith("|")]
    listed = [check for row in rows for check in row[0].split(", ")]
    assert listed == list(CHECK_IDS)
    by_id = {check: a for a in ANALYZERS.values() for check in a.checks}
    for ids, on, section, *_ in rows:
        a = by_id[ids.split(", ")[0]]
        assert set(re.findall(r"video|image|audio", on.split(" with ")[0].split(" (")[0])) == {r.value for r in a.roles}, ids
        assert section == (f"`[{a.policy}]`" if a.policy else "-"), ids


def test_a_check_is_made_from_its_analyzers_declaration():
    # the id (its first check's unless named) and the unit come from the declaration; the call gives what varies
    from pathlib import Path

    from preflight.roles import Source

    faces, source = ANALYZERS["faces"], Source(Path("/tmp/clip.mp4"), Role.VIDEO, "clip.mp4")
    one = faces.check(source, Status.PASS, value=1.0, message="one face")
    assert (one.id, one.unit, one.source) == ("faces", "share of frames with one face", "clip.mp4")
    size = faces.check(source, Status.WARN, check="face_size", reason="face_size.small", value=0.1, message="small")
    assert (size.id, size.unit) == ("face_size", "face height / frame height")
    assert faces.check(source, Status.SKIPPED, value=None, unit="", message="no frames").unit == ""
    with pytest.raises(ValueError, match="not among its checks"):
        dataclasses.replace(faces, units={"face_area": "px"})
