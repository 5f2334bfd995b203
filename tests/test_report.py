"""The report's verdict rules and its published JSON Schema."""

import json

import jsonschema
import pytest

from conftest import ROOT

from preflight.policy import Policy
from preflight.report import Check, Outcome, Report, Status

SCHEMA = json.loads((ROOT / "schema" / "report.schema.json").read_text())


def _checks(*statuses: Status) -> list[Check]:
    return [Check(id=f"c{i}", source="x", status=s, reason=None if s in (Status.PASS, Status.SKIPPED) else "faces.none",
                  value=None, message="m") for i, s in enumerate(statuses)]


@pytest.mark.parametrize(
    ("statuses", "strict", "verdict", "headline", "outcome"),
    [
        ((Status.PASS, Status.SKIPPED), False, "go", "GO", Outcome.GO),
        ((Status.PASS, Status.WARN), False, "go", "GO with warnings", Outcome.WARN),
        ((Status.PASS, Status.WARN), True, "no-go", "NO-GO", Outcome.NO_GO),
        ((Status.PASS, Status.FAIL), False, "no-go", "NO-GO", Outcome.NO_GO),
        ((Status.PASS, Status.ERROR), False, "no-go", "NO-GO", Outcome.ERROR),
        ((Status.WARN, Status.ERROR), True, "no-go", "NO-GO", Outcome.ERROR),
        ((Status.FAIL, Status.ERROR), False, "no-go", "NO-GO", Outcome.NO_GO),  # a failure is known whatever broke
    ],
)
def test_verdict(statuses, strict, verdict, headline, outcome):
    report = Report.judge([], _checks(*statuses), Policy(strict=strict), judged_by={})
    assert (report.verdict, report.headline, report.outcome) == (verdict, headline, outcome)
    assert [c.status for c in report.blocking] == [s for s in statuses if s in (Status.FAIL, Status.ERROR)
                                                  or (strict and s is Status.WARN)]


def test_the_verdict_rule_is_one_function():
    # the report, the CLI, batch, serve and fix ask report.outcome (or blocked/blocking, which ask it); only an
    # analyzer grades its own check's status
    import re

    rule = re.compile(r"status(\.value)? *(==|is) *(Status\.FAIL|\"fail\")|status\.value in \(\"fail\"")
    found = [f"{p.relative_to(ROOT)}:{n}" for p in (ROOT / "preflight").rglob("*.py")
             if p.name != "report.py" and p.parent.name != "analyzers"
             for n, line in enumerate(p.read_text().splitlines(), 1) if rule.search(line)]
    assert found == []


def test_the_report_is_a_leaf_and_its_judgment_pure():
    # what judged the checks is given, not found (no ffmpeg is started, no model file hashed)
    import ast

    report = Report.judge([], _checks(Status.PASS), Policy(), judged_by={"ffmpeg": "7.1"})
    assert report.judged_by == {"ffmpeg": "7.1"}
    tree = ast.parse((ROOT / "preflight" / "report.py").read_text())
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module.startswith("preflight")}
    assert imported == {"preflight.roles", "preflight.version"}


def test_published_schema_is_current():
    from preflight.analyzers import REASONS
    from preflight.pipeline import report_schema

    assert report_schema() == SCHEMA, "run `make schema`"
    # the reason codes are listed in the schema too, as an enum a validator holds reports to
    [listed] = [a["enum"] for a in SCHEMA["$defs"]["Check"]["properties"]["reason"]["anyOf"] if "enum" in a]
    assert listed == sorted(REASONS)


def test_the_schema_names_its_dialect_and_itself():
    # without "$schema" and "$id" a validator has to guess the draft
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert SCHEMA["$id"] == f"urn:avatar-preflight:report:{SCHEMA['properties']['schema_version']['default']}"
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


def test_a_judged_report_and_its_checks_cannot_be_changed():
    # a report that could be changed after judging could be passed on as GO
    from pydantic import ValidationError

    report = Report.judge([], _checks(Status.PASS, Status.FAIL), Policy(), judged_by={})
    with pytest.raises(ValidationError, match="frozen"):
        report.verdict = "go"
    with pytest.raises(ValidationError, match="frozen"):
        report.checks[1].status = Status.PASS
    with pytest.raises(AttributeError):
        report.checks.append(report.checks[0])  # type: ignore[attr-defined]
    cleared = report.model_copy(update={"name": "ada"})  # a new report, the old one unchanged
    assert (cleared.name, report.name, cleared.verdict) == ("ada", None, "no-go")


def test_a_reason_is_one_of_the_declared_codes():
    # a typo in an analyzer's reason code must not reach a report
    from typing import get_args

    from pydantic import ValidationError

    from preflight.analyzers import REASONS
    from preflight.report import Reason

    assert sorted(get_args(Reason)) == sorted(REASONS)
    with pytest.raises(ValidationError, match="faces.none"):
        Check(id="faces", source="x", status=Status.FAIL, reason="faces.nobody", value=None, message="m")


@pytest.mark.parametrize("names", [("cut.mp4",), ("face.png",), ("speech.wav",),
                                   pytest.param(("no_audio.mp4",), marks=pytest.mark.slow)])
def test_reports_validate_against_schema(report_of, names):
    document = json.loads(report_of(*names).to_json())
    jsonschema.validate(document, SCHEMA)
    for key in ("verdict", "warnings", "sources", "checks", "policy", "version"):
        assert key in document
    for check in document["checks"]:
        assert {"id", "source", "status", "value", "limit", "spans", "message", "fix"} <= check.keys()


def test_the_schema_cites_nothing_outside_the_project():
    # the schema is shipped alone: it may not point at DESIGN.md, which is not
    import json

    from preflight.report import Report

    assert "DESIGN.md" not in json.dumps(Report.model_json_schema())


def test_a_report_says_what_judged_it_and_what_it_looked_at(report_of):
    # a verdict is reproducible only with the schema version, the judging libraries, timings and codecs
    report = report_of("talking_head.mp4")
    assert report.schema_version == SCHEMA["properties"]["schema_version"]["default"]
    assert {"ffmpeg", "mediapipe", "onnxruntime", "opencv", "models"} <= report.judged_by.keys()
    assert all(v not in ("missing", "unknown") for v in report.judged_by.values()), report.judged_by
    [source] = report.sources
    assert source.video_codec == "h264" and source.fps == pytest.approx(25, abs=5) and source.sample_rate > 0
    assert all(c.seconds is not None and c.seconds >= 0 for c in report.checks)
    voice = report_of("speech.wav").sources[0]
    assert voice.fps is None and voice.video_codec is None and voice.audio_codec


def test_every_warning_and_failure_carries_a_reason_code():
    # a pipeline switches on the reason: "faces" fails differently for no face and for two faces
    with pytest.raises(ValueError, match="needs a reason code"):
        Check(id="faces", source="x", status=Status.FAIL, value=None, message="m")
    with pytest.raises(ValueError, match="a pass has no reason"):
        Check(id="faces", source="x", status=Status.PASS, reason="faces.none", value=None, message="m")


def test_the_readme_lists_every_reason_code_and_only_those():
    import re

    from preflight.analyzers import REASONS

    readme = (ROOT / "README.md").read_text()
    table = readme.split("## Reason codes", 1)[1].split("\n## ", 1)[0]
    listed = re.findall(r"^\| `([a-z_]+\.[a-z_]+)` \|", table, flags=re.M)
    assert sorted(listed) == sorted(REASONS)


@pytest.mark.parametrize("names", [("talking_head.mp4",), ("face.png",), ("speech.wav",),
                                   pytest.param(("no_audio.mp4",), marks=pytest.mark.slow)])
def test_a_checks_value_is_one_number_in_one_unit_for_every_role(report_of, names):
    # one unit per check whatever the role: a dashboard can compare values across sources
    units = {"faces": "share of frames with one face", "streams": "audio tracks", "decodable": "s"}
    for check in report_of(*names).checks:
        assert check.value is None or isinstance(check.value, (int, float)), (check.id, check.value)
        if check.id in units:
            assert check.unit == units[check.id], (check.id, check.unit)
