"""``fix`` is a loop over the analyzer registry: a windowed analyzer registered beside the others
has its failures avoided and its judgment heard, with no change to fix.py."""

from __future__ import annotations

from dataclasses import dataclass

import preflight
from preflight.analyzers import ANALYZERS
from preflight.analyzers.base import Analyzer, Stretch, Timelines
from preflight.media import Media, Role
from preflight.policy import Policy
from preflight.report import Check, Span, Status

BAD = (5.0, 5.6)  # seconds of speech.wav (11 s of one voice) where the toy check fails


@dataclass(frozen=True)
class Marks(Timelines):
    bad: tuple[float, float]
    seconds: float


def _measure(media: Media, policy: Policy) -> Marks:
    return Marks(str(media.probe.path), BAD, media.seconds())


def _judge(t: Marks, window: Span, policy: Policy) -> list[Check]:
    holds = window.start < t.bad[1] and window.end > t.bad[0]
    # The Reason literal is closed, so the toy borrows a registered code.
    return [Check(id="toy", source=t.source, status=Status.FAIL if holds else Status.PASS,
                  reason="analysis.broken" if holds else None, value=float(holds), message="toy")]


def _avoid(t: Marks, policy: Policy) -> list[Stretch]:
    return [Stretch(start=t.bad[0], end=t.bad[1], check="toy", what="a toy's mark", why="a toy's mark")]


TOY = Analyzer(checks=("toy",), roles=frozenset({Role.VIDEO, Role.AUDIO}), policy=None, aspect=ANALYZERS["speech"].aspect,
               reasons={}, measure=_measure, judge=_judge, windowed=True, avoid=_avoid)


def test_a_registered_windowed_analyzer_has_its_failures_avoided(fixture_path, monkeypatch):
    speech = fixture_path("speech.wav")
    plain = preflight.fix(speech, dry_run=True).window
    assert plain.start < BAD[1] and plain.end > BAD[0]  # without the toy the window runs through its mark

    monkeypatch.setitem(ANALYZERS, "toy", TOY)
    result = preflight.fix(speech, dry_run=True)
    w = result.window
    assert w is not None and (w.end <= BAD[0] or w.start >= BAD[1]) and w.duration >= 4.0, w
    assert [(s.check, s.start, s.end) for s in result.rejected] == [("toy", *BAD)]
    assert [c.status for c in result.checks if c.id == "toy"] == [Status.PASS]  # and it judged the window
    assert "a toy's mark" in result.why


def test_an_analyzer_whose_judgment_fails_every_window_leaves_none(fixture_path, monkeypatch):
    # Nothing to avoid, but the judgment has the last word: no window, and the toy's failure named.
    always = Analyzer(checks=("toy",), roles=TOY.roles, policy=None, aspect=TOY.aspect, reasons={}, measure=_measure,
                      judge=lambda t, window, policy: _judge(Marks(t.source, (0.0, 1e9), t.seconds), window, policy),
                      windowed=True)
    monkeypatch.setitem(ANALYZERS, "toy", always)
    result = preflight.fix(fixture_path("speech.wav"), dry_run=True)
    assert result.window is None and result.best_partial is not None and "toy: toy" in result.why
