"""The report of a batch (or of one check) as one self-contained HTML page: the summary first, then one card per source
set with its verdict, what failed in words, and pictures of it (the frame strip with face boxes,
the frames on both sides of each cut, the waveform with speech and music spans). ``fix`` gets
a page of its own (:func:`render_fix`): the recording's timeline, one row per check with the
stretches it would fail, the chosen window marked, then the cut's check as a card.

Everything is inline (CSS, a few lines of script for the filter buttons, JPEGs as data URIs,
SVG), so the file can be mailed or attached to a ticket and opened anywhere.
"""

from __future__ import annotations

import datetime
from collections import Counter
from collections.abc import Sequence
from html import escape

from preflight.analyzers import ANALYZERS, CHECK_IDS, Aspect
from preflight.batch import Result, Skipped, SourceSet
from preflight.evidence import THUMB_WIDTH, Cut, Evidence, Picture, Wave
from preflight.fix import FixResult
from preflight.report import Check, Outcome, Status, format_spans
from preflight.version import __version__

# Checks whose spans belong on the waveform; the others' spans mark frames of the strip.
_AUDIO_CHECKS = {check for a in ANALYZERS.values() if a.aspect is Aspect.SOUND for check in a.checks}
_LABEL = {"go": "GO", "warn": "GO with warnings", "no-go": "NO-GO", "error": "error"}
_ORDER = {"error": 0, "no-go": 1, "warn": 2, "go": 3}

_CSS = """
:root{--go:#1a7f37;--warn:#9a6700;--nogo:#cf222e;--err:#8250df;--ink:#1f2328;--dim:#656d76;--line:#d0d7de;--bg:#f6f8fa}
*{box-sizing:border-box}body{margin:0;font:15px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;color:var(--ink);background:var(--bg)}
header{padding:24px 32px 8px}h1{font-size:22px;margin:0 0 4px}.meta{color:var(--dim);font-size:13px}
#summary{display:flex;gap:12px;flex-wrap:wrap;padding:12px 32px}
.tile{background:#fff;border:1px solid var(--line);border-radius:8px;padding:12px 18px;min-width:150px;cursor:pointer}
.tile b{display:block;font-size:30px;line-height:1.1}.tile.go b{color:var(--go)}.tile.warn b{color:var(--warn)}
.tile.no-go b{color:var(--nogo)}.tile.error b{color:var(--err)}.tile.active{outline:2px solid var(--ink)}
.reasons{padding:0 32px;color:var(--dim);font-size:13px}.reasons span{margin-right:14px}
main{padding:8px 32px 40px}
.set{background:#fff;border:1px solid var(--line);border-left:6px solid var(--line);border-radius:8px;margin:12px 0;padding:0}
.set.go{border-left-color:var(--go)}.set.warn{border-left-color:var(--warn)}.set.no-go{border-left-color:var(--nogo)}.set.error{border-left-color:var(--err)}
.set summary{padding:12px 16px;cursor:pointer;display:flex;gap:12px;align-items:baseline;flex-wrap:wrap}
.set .name{font-weight:600}.badge{font-size:12px;font-weight:700;padding:2px 8px;border-radius:10px;color:#fff}
.badge.go{background:var(--go)}.badge.warn{background:var(--warn)}.badge.no-go{background:var(--nogo)}.badge.error{background:var(--err)}
.why{color:var(--dim);font-size:13px}.body{padding:0 16px 16px}
ul.checks{margin:0 0 12px;padding-left:18px}ul.checks li{margin:4px 0}.fix{color:var(--dim)}
.fail{color:var(--nogo);font-weight:600}.warning{color:var(--warn);font-weight:600}.errorc{color:var(--err);font-weight:600}
.strip{display:flex;gap:4px;flex-wrap:wrap;margin:6px 0}
figure{position:relative;margin:0}figure img{display:block;width:160px;border-radius:3px}
figure.flagged img{outline:3px solid var(--nogo);outline-offset:-3px}figure .pic{position:relative;width:fit-content}figure svg{position:absolute;left:0;top:0;width:100%;height:100%}figcaption{font-size:11px;color:var(--dim)}
.cuts{display:flex;gap:18px;flex-wrap:wrap;margin:6px 0}.cut{display:flex;gap:2px;align-items:flex-start}
.wave{display:block;width:100%;max-width:820px;height:70px;background:#fafbfc;border:1px solid var(--line);border-radius:4px}
.legend{font-size:12px;color:var(--dim)}.legend i{display:inline-block;width:10px;height:10px;margin:0 4px 0 10px;vertical-align:middle}
h3{font-size:13px;margin:12px 0 2px;color:var(--dim);font-weight:600}
.timeline{display:block;width:100%;max-width:980px;background:#fff;border:1px solid var(--line);border-radius:6px}
.timeline text{font:11px system-ui,sans-serif;fill:var(--dim)}
.skipped{color:var(--dim);font-size:13px}
"""

_SCRIPT = """
document.querySelectorAll('.tile').forEach(function (tile) {
  tile.addEventListener('click', function () {
    var want = tile.dataset.show, on = !tile.classList.contains('active');
    document.querySelectorAll('.tile').forEach(function (t) { t.classList.remove('active'); });
    if (on) tile.classList.add('active');
    document.querySelectorAll('.set').forEach(function (s) {
      s.style.display = (!on || s.dataset.outcome === want) ? '' : 'none';
    });
  });
});
document.body.dataset.ready = '1';
"""


def render(results: Sequence[Result], skipped: Sequence[Skipped], title: str, interrupted: bool = False) -> str:
    counts = Counter(r.outcome for r in results)
    reasons = Counter(c.id for r in results if r.outcome is Outcome.NO_GO for c in r.report.blocking)
    when = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width,initial-scale=1'>",
        f"<title>preflight: {escape(title)}</title><style>{_CSS}</style></head><body>",
        f"<header><h1>preflight: {escape(title)}</h1><div class='meta'>{len(results)} source "
        f"set{'' if len(results) == 1 else 's'}"
        f"{' (interrupted: the rest were not checked)' if interrupted else ''} · {when} · preflight {__version__}</div></header>",
        "<section id='summary'>",
    ]
    for outcome in Outcome:
        parts.append(f"<div class='tile {outcome}' data-show='{outcome}'><b>{counts.get(outcome, 0)}</b>{_LABEL[outcome]}</div>")
    parts.append("</section>")
    if reasons:
        parts.append("<div class='reasons'>NO-GO by reason: " + "".join(
            f"<span>{escape(check)} <b>{n}</b></span>" for check, n in reasons.most_common()) + "</div>")
    parts.append("<main>")
    for result in sorted(results, key=lambda r: (_ORDER[r.outcome], r.set.name)):
        parts.append(_card(result, opened=result.outcome != "go" or len(results) == 1))
    if skipped:
        parts.append(f"<h3>Skipped files ({len(skipped)})</h3><ul class='skipped'>")
        parts += [f"<li>{escape(s.path)}: {escape(s.reason)}</li>" for s in skipped]
        parts.append("</ul>")
    parts.append(f"</main><script>{_SCRIPT}</script></body></html>")
    return "".join(parts)


def _card(result: Result, opened: bool) -> str:
    outcome = result.outcome
    problems = [c for c in result.report.checks if c.status in (Status.FAIL, Status.ERROR, Status.WARN)]
    why = ", ".join(dict.fromkeys(c.id for c in problems)) or "all checks pass"
    parts = [
        f"<details class='set {outcome}' data-outcome='{outcome}'{' open' if opened else ''}><summary>",
        f"<span class='badge {outcome}'>{_LABEL[outcome]}</span><span class='name'>{escape(result.set.name)}</span>",
        f"<span class='why'>{escape(' · '.join(filter(None, (why, _took(result)))))}</span></summary><div class='body'>",
    ]
    if problems:
        parts.append("<ul class='checks'>" + "".join(_problem(c) for c in problems) + "</ul>")
    for evidence in result.evidence:
        parts.append(_pictures(evidence, [c for c in problems if c.source == evidence.source]))
    parts.append("</div></details>")
    return "".join(parts)


def _took(result: Result) -> str:
    if result.cached:
        return "from the cache"
    return f"checked in {result.seconds:.1f} s" if result.seconds else ""


def _problem(check: Check) -> str:
    style = {Status.FAIL: "fail", Status.ERROR: "errorc", Status.WARN: "warning"}[check.status]
    where = format_spans(check.spans)
    text = f"<li><span class='{style}'>{escape(check.id)}</span>: {escape(check.message)}"
    if where:
        text += f" <span class='fix'>(at {escape(where)})</span>"
    if check.fix:
        text += f"<br><span class='fix'>fix: {escape(check.fix)}</span>"
    return text + "</li>"


def _pictures(evidence: Evidence, problems: list[Check]) -> str:
    parts = [f"<h3>{escape(evidence.source)}</h3>"] if evidence.frames or evidence.wave else []
    picture_spans = [s for c in problems if c.id not in _AUDIO_CHECKS for s in c.spans]
    if evidence.frames:
        parts.append("<div class='strip'>" + "".join(
            _figure(p, flagged=any(s.start - 0.1 <= p.time <= s.end + 0.1 for s in picture_spans))
            for p in evidence.frames) + "</div>")
    if evidence.cuts:
        parts.append("<h3>cuts: the frames on both sides</h3><div class='cuts'>" + "".join(_cut(c) for c in evidence.cuts) + "</div>")
    if evidence.wave:
        parts.append(_wave(evidence.wave, [s for c in problems if c.id in _AUDIO_CHECKS for s in c.spans]))
    return "".join(parts)


def _figure(picture: Picture, caption: str | None = None, flagged: bool = False, width: int | None = None) -> str:
    boxes = "".join(f"<rect x='{x}' y='{y}' width='{w}' height='{h}' fill='none' stroke='#2da44e' "
                    f"stroke-width='2' vector-effect='non-scaling-stroke'/>"
                    for x, y, w, h in picture.boxes)
    size = f" style='width:{width}px'" if width else ""
    return (f"<figure{' class=flagged' if flagged else ''}><div class='pic'><img alt='frame at {picture.time:.1f} s'{size} "
            f"src='data:image/jpeg;base64,{picture.jpeg}'><svg viewBox='0 0 1 1' preserveAspectRatio='none'>{boxes}</svg></div>"
            f"<figcaption>{escape(caption or f'{picture.time:.1f} s')}</figcaption></figure>")


def _cut(cut: Cut) -> str:
    return (f"<div class='cut'>{_figure(cut.before, f'before, {cut.before.time:.2f} s')}"
            f"{_figure(cut.after, f'after, {cut.after.time:.2f} s')}</div>")


def _wave(wave: Wave, flagged: list) -> str:
    n = max(1, len(wave.peaks))
    scale = n / wave.duration if wave.duration else 0.0

    def band(spans: list, y: float, h: float, colour: str, opacity: float) -> str:
        return "".join(f"<rect x='{s.start * scale:.2f}' y='{y}' width='{max(0.8, (s.end - s.start) * scale):.2f}' "
                       f"height='{h}' fill='{colour}' opacity='{opacity}'/>" for s in spans)

    bars = "".join(f"<rect x='{i}' y='{30 - 28 * p:.2f}' width='0.8' height='{max(0.3, 56 * p):.2f}' fill='#57606a'/>"
                   for i, p in enumerate(wave.peaks))
    svg = (f"<svg class='wave' viewBox='0 0 {n} 64' preserveAspectRatio='none'>"
           f"{band(wave.speech, 58, 6, '#2da44e', 0.9)}{band(wave.music, 0, 6, '#8250df', 0.9)}"
           f"{band(flagged, 0, 64, '#cf222e', 0.15)}{bars}</svg>")
    legend = ("<div class='legend'>0-" + f"{wave.duration:.1f} s" + "<i style='background:#2da44e'></i>speech"
              "<i style='background:#8250df'></i>music or singing<i style='background:#cf222e;opacity:.3'></i>"
              "where an audio check failed or warned</div>")
    return svg + legend


_ROW_COLOURS = ("#bf8700", "#0969da", "#cf222e", "#8250df", "#57606a")  # the timeline's rows, in turn


def render_fix(result: FixResult) -> str:
    """``preflight fix``'s page: what was chosen and why, the timeline, and the cut's check."""
    w = result.window or result.best_partial
    title = f"fix: {result.source}"
    if result.image_only:
        head = f"an image: {len(result.repairs)} repair(s)"
    elif result.window is not None:
        head = f"window {w.start:.2f}-{w.end:.2f} s ({w.duration:.1f} s of {result.duration:.1f} s)"
    else:
        head = "no window qualifies" + (f"; best partial {w.start:.2f}-{w.end:.2f} s" if w else "")
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width,initial-scale=1'>",
        f"<title>preflight {escape(title)}</title><style>{_CSS}</style></head><body>",
        f"<header><h1>preflight {escape(title)}</h1><div class='meta'>{escape(head)} · preflight {__version__}</div></header>",
        f"<main><p id='why'>{escape(result.why)}</p>{_repairs(result)}{'' if result.image_only else _timeline(result)}",
    ]
    if result.checks:
        judged = ", ".join(f"{c.id} {c.status.value}" for c in result.checks)
        parts.append(f"<p id='window-checks'>the window, judged on the recording before the cut: {escape(judged)}</p>")
    if result.output:
        parts.append(f"<p>written: <b>{escape(result.output)}</b>, checked GO</p>")
    if result.report is not None:
        cut = Result(SourceSet(result.output or "the cut"), result.report)
        parts.append("<h3>the cut's check</h3>" + _card(cut, opened=True))
    parts.append("</main><script>document.body.dataset.ready = '1';</script></body></html>")
    return "".join(parts)


def _repairs(result: FixResult) -> str:
    """Each repair, what and why; a crop with a frame before (the rectangle drawn) and after."""
    if not result.repairs and not result.repairs_refused:
        return ""
    parts = ["<section id='repairs'><h3>repairs</h3>"]
    for r in result.repairs:
        parts.append(f"<div class='repair' data-kind='{r.kind}'><p><b>{r.kind}</b>"
                     f"{f' of {escape(r.file)}' if r.file else ''}: {escape(r.why)}</p>")
        if r.before is not None and r.after is not None:
            wide = 2 * THUMB_WIDTH  # the source twice a strip's width, the crop to the same scale
            parts.append(f"<div class='cut'>{_figure(r.before, f'before, {r.before.time:.2f} s: the crop drawn', width=wide)}"
                         f"{_figure(r.after, 'after', width=round(wide * r.rect[2] / r.frame[0]))}</div>")
        parts.append("</div>")
    parts += [f"<p class='refused'>not repaired: {escape(why)}</p>" for why in result.repairs_refused]
    return "".join(parts) + "</section>"


def _timeline(result: FixResult) -> str:
    """An SVG of the recording: a row per check with the stretches it would fail, and the window."""
    width, row, left = 1000.0, 22, 110
    scale = (width - left - 10) / max(result.duration, 1e-6)
    order = {c: i for i, c in enumerate(CHECK_IDS)}  # the registry's order; a check it lacks, last
    checks = sorted({s.check for s in result.rejected}, key=lambda c: (order.get(c, len(order)), c))
    colour = {c: _ROW_COLOURS[i % len(_ROW_COLOURS)] for i, c in enumerate(checks)}
    height = 30 + row * (len(checks) + 1)
    parts = [f"<svg class='timeline' viewBox='0 0 {width:g} {height}' role='img' aria-label='timeline'>"]
    for i, check in enumerate(checks):
        y = 10 + row * i
        parts.append(f"<text x='4' y='{y + 14}'>{escape(check)}</text>")
        for s in (s for s in result.rejected if s.check == check):
            parts.append(f"<rect class='stretch' data-check='{check}' x='{left + s.start * scale:.1f}' y='{y + 3}' "
                         f"width='{max(1.0, (s.end - s.start) * scale):.1f}' height='{row - 6}' "
                         f"fill='{colour[check]}' opacity='0.8'><title>{escape(s.why)}</title></rect>")
    y = 10 + row * len(checks)
    w = result.window or result.best_partial
    if w is not None:
        kind = "window" if result.window is not None else "partial"
        parts.append(f"<text x='4' y='{y + 14}'>{kind}</text><rect id='{kind}' x='{left + w.start * scale:.1f}' y='{y + 2}' "
                     f"width='{(w.end - w.start) * scale:.1f}' height='{row - 4}' fill='#1a7f37' "
                     f"opacity='{0.85 if kind == 'window' else 0.35}'/>")
    axis = y + row + 12
    for t in range(0, int(result.duration) + 1, max(1, int(result.duration // 10) or 1)):
        parts.append(f"<text x='{left + t * scale:.1f}' y='{axis}'>{t} s</text>")
    parts.append("</svg>")
    return "".join(parts)
