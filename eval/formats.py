"""The formats people upload, and the broken inputs they send: each variant made from the shared
good clips with installed tools, run through the CLI as a user would, and judged right or wrong.

    .venv/bin/python eval/formats.py                 # builds into eval/out/formats, prints the table
    .venv/bin/python eval/formats.py --only webm,avif

A row is right when the tool does what a user needs: valid footage keeps the verdict of the clip
it was made from (GO), with a warning where one is due; a broken input is one line on stderr and
exit 2 with words that name the problem. Rows (issue 14's list, in its order):

- frame rates: a 30 fps clip recorded into a 50 or 60 fps project (repeated frames);
- browser recordings: MediaRecorder-style WebM with no duration in its header, video and audio;
- AVIF stills, given as the image, positionally, and in a batch folder beside their voice;
- digital silence after a good voice (0.5, 1 and 2 s);
- sound that starts 2 s late, and sound cut to 1.9-8.0 s: warned, with the real spans;
- clipping: on the file's own channels, the same for an 8-channel copy;
- two audio tracks, a silent one first and the speech marked default;
- check and batch agreeing on an animated GIF and on an MP4 named .wav;
- errors: a non-UTF-8 policy, contradictory limits, a malformed MOSAIC_BASE_URL, a name starting
  with '-', a FIFO, /dev/zero, a symlink loop, a 15.04 s clip, an MP4 cut before its index, a
  401, a 502 with a proxy's HTML page, an unknown option;
- the slow path: a 60 s 720p clip fails duration in the time of a probe.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "media"
PREFLIGHT = [str(Path(sys.executable).with_name("preflight"))]  # the console script, as a user runs it
sys.path.insert(0, str(ROOT / "tests"))  # the Mosaic stand-in server the tests use

from rows import judged, print_rows  # noqa: E402 - eval/, beside this file


@dataclass
class Result:
    rc: int
    stdout: str
    stderr: str
    seconds: float
    truth: object = None  # what the file itself holds, where the row compares with it

    @property
    def report(self) -> dict:
        return json.loads(self.stdout)

    def check(self, check_id: str) -> dict:
        return next(c for c in self.report["checks"] if c["id"] == check_id)

    def one_line(self, *words: str, rc: int = 2) -> bool:
        """Exit ``rc`` with one error line holding ``words`` (progress lines may come before it)."""
        errors = [line for line in self.stderr.splitlines() if line.startswith("error:")]
        return self.rc == rc and len(errors) == 1 and all(w in errors[0] for w in words)


@dataclass
class Variant:
    name: str
    expect: str
    run: Callable[[Path], Result]  # builds its media in the folder, runs preflight
    right: Callable[[Result], bool]
    got: Callable[[Result], str] = field(default=lambda r: summary(r))


def ff(*args: object) -> None:
    subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-y", *map(str, args)], check=True)


def preflight(*args: object, cwd: Path | None = None, env: dict[str, str] | None = None) -> Result:
    start = time.perf_counter()
    run = subprocess.run([*PREFLIGHT, *map(str, args)], capture_output=True, text=True, cwd=cwd,
                         env={**os.environ, **(env or {})})
    return Result(run.returncode, run.stdout, run.stderr, time.perf_counter() - start)


def summary(r: Result) -> str:
    if r.rc == 2 or not r.stdout.strip():
        return f"exit {r.rc}: {r.stderr.strip().splitlines()[-1] if r.stderr.strip() else ''}"[:110]
    report = r.report
    flagged = [f"{c['id']} {c['status']}" for c in report["checks"] if c["status"] not in ("pass", "skipped")]
    return f"{report['verdict'].upper()}" + (f" ({', '.join(flagged)})" if flagged else "")


def go(r: Result) -> bool:
    return r.rc == 0 and r.report["verdict"] == "go"


def check_json(*args: object, **kw: object) -> Result:
    return preflight("check", "--format", "json", *args, **kw)


VARIANTS: list[Variant] = []


def variant(name: str, expect: str, right: Callable[[Result], bool], got: Callable[[Result], str] | None = None):
    def register(run: Callable[[Path], Result]) -> Callable[[Path], Result]:
        VARIANTS.append(Variant(name, expect, run, right, got or summary))
        return run
    return register


# 1. Repeated frames are not cuts.
for _clip, _fps in (("good_aoc", 50), ("good_aoc", 60), ("good_katie", 60)):
    def _repeat(out: Path, clip: str = _clip, fps: int = _fps) -> Result:
        ff("-i", SHARED / f"{clip}.mp4", "-vf", f"fps={fps}", "-c:v", "libx264", "-preset", "veryfast", "-c:a", "aac",
           out / f"{clip}_fps{fps}.mp4")
        return check_json(out / f"{clip}_fps{fps}.mp4")
    variant(f"{_clip}_fps{_fps}", "GO (repeated frames are not cuts)", go)(_repeat)


# 2. MediaRecorder-style WebM: written to a pipe, so the header states no duration.
def _webm(out: Path, name: str, *codec: str) -> Path:
    data = subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-i", str(SHARED / "good_aoc.mp4"), *codec,
                           "-f", "webm", "-"], capture_output=True, check=True).stdout
    (out / name).write_bytes(data)
    return out / name


@variant("webm_recorder_video", "GO, duration measured by the decode",
         lambda r: go(r) and "as decoded" in r.check("duration")["message"])
def _webm_video(out: Path) -> Result:
    return check_json(_webm(out, "rec.webm", "-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8",
                            "-b:v", "1M", "-c:a", "libopus"))


@variant("webm_recorder_audio", "GO, duration measured by the decode",
         lambda r: go(r) and "as decoded" in r.check("duration")["message"])
def _webm_audio(out: Path) -> Result:
    return check_json(_webm(out, "rec_audio.webm", "-vn", "-c:a", "libopus"))


# 3. AVIF stills (HEIC: this ffmpeg has no HEIF muxer, so none can be made here).
_AVIF_ONCE = threading.Lock()


def _avif(out: Path) -> Path:
    with _AVIF_ONCE:
        if not (out / "bob.avif").exists():
            ff("-i", SHARED / "img_obama.jpg", "-frames:v", "1", "-c:v", "libaom-av1", "-still-picture", "1",
               out / "bob.avif")
    return out / "bob.avif"


@variant("avif_as_image", "GO (--image bob.avif --audio voice)", go)
def _avif_image(out: Path) -> Result:
    return check_json("--image", _avif(out), "--audio", SHARED / "audio_good_radio31.wav")


@variant("avif_positional", "GO (roles from the streams)", go)
def _avif_positional(out: Path) -> Result:
    return check_json(_avif(out), SHARED / "audio_good_radio31.wav")


def _batch_rows(r: Result) -> list[dict]:
    return [json.loads(line) for line in Path(r.stdout.strip()).read_text().splitlines()] if r.rc in (0, 1) else []


@variant("avif_in_batch", "one GO row: bob.avif + bob.wav",
         lambda r: [x["verdict"] for x in _batch_rows(r)] == ["go"],
         lambda r: ", ".join(f"{x.get('name')}: {x['verdict'].upper()}" for x in _batch_rows(r)) or summary(r))
def _avif_batch(out: Path) -> Result:
    folder = out / "avif_batch"
    folder.mkdir(exist_ok=True)
    ff("-i", _avif(out), "-c", "copy", folder / "bob.avif")
    ff("-i", SHARED / "audio_good_radio31.wav", "-c", "copy", folder / "bob.wav")
    return _batch(folder, out / "avif_batch.jsonl")


def _batch(folder: Path, jsonl: Path) -> Result:
    r = preflight("batch", folder, "--jsonl", jsonl, "--no-cache", "--jobs", "1",
                  env={"PREFLIGHT_HOME": str(folder.parent / "home")})
    return Result(r.rc, str(jsonl), r.stderr, r.seconds)


# 4. Digital silence after the voice is a pause, not singing.
for _pad in (0.5, 1.0, 2.0):
    def _padded(out: Path, pad: float = _pad) -> Result:
        ff("-i", SHARED / "audio_good_radio31.wav", "-af", f"apad=pad_dur={pad}", out / f"radio31_pad{pad}.wav")
        return check_json(out / f"radio31_pad{pad}.wav")
    variant(f"radio31_pad_{_pad:g}s", "GO (music passes)", go)(_padded)


# 5. Sound that does not cover the picture.
# -itsoffset 2 on AAC puts the sound at 1.936 s (its priming samples come first); 2 s late, the
# voice is also out of sync with the lips, so av_sync may fail it too.
@variant("audio_2s_late", "a streams warning with the real spans: sound 1.9-10.0 s, picture 0.0-8.0 s",
         lambda r: r.rc in (0, 1) and r.check("streams")["status"] == "warn"
         and all(t in r.check("streams")["message"] for t in ("1.9", "10.0", "8.0")),
         lambda r: summary(r) + f": {r.check('streams')['message']}" if r.rc in (0, 1) else summary(r))
def _late(out: Path) -> Result:
    ff("-i", SHARED / "good_aoc.mp4", "-itsoffset", "2", "-i", SHARED / "good_aoc.mp4", "-map", "0:v", "-map", "1:a",
       "-c", "copy", out / "late.mp4")
    return check_json(out / "late.mp4")


@variant("audio_1.9_to_8.0s", "a streams warning naming 1.9 and 8.0 s",
         lambda r: r.rc in (0, 1) and r.check("streams")["status"] != "pass"
         and all(t in r.check("streams")["message"] for t in ("1.9", "8.0")),
         lambda r: summary(r) + f": {r.check('streams')['message']}" if r.rc in (0, 1) else summary(r))
def _cut_sound(out: Path) -> Result:
    # the sound of 1.9-8.0 s kept where it was (still in sync), the rest cut away; PCM, so no
    # encoder priming moves its start
    ff("-i", SHARED / "good_aoc.mp4", "-filter_complex", "[0:a]atrim=1.9:8.0[a]", "-map", "0:v", "-map", "[a]",
       "-c:v", "copy", "-c:a", "pcm_s16le", out / "cut_sound.mov")
    return check_json(out / "cut_sound.mov")


# 6. Clipping on the file's own channels.
def _clipped_share(path: Path) -> float:
    raw = subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-i", str(path), "-f", "f32le", "-"],
                         capture_output=True, check=True).stdout  # every channel as it is, interleaved
    return float(np.mean(np.abs(np.frombuffer(raw, np.float32)) >= 0.99))  # the policy's clip_level


def _clipping_right(r: Result) -> bool:
    share = r.check("clipping")["value"]
    return abs(share - r.truth) <= max(0.0002, 0.25 * r.truth)


@variant("clipping_radio31", "the clipped share counted in the file", _clipping_right,
         lambda r: f"{r.check('clipping')['value']:.3%} reported, {r.truth:.3%} in the file")
def _clip_mono(out: Path) -> Result:
    r = check_json(SHARED / "audio_good_radio31.wav")
    r.truth = _clipped_share(SHARED / "audio_good_radio31.wav")
    return r


@variant("clipping_8_channels", "the same share in an 8-channel copy", _clipping_right,
         lambda r: f"{r.check('clipping')['value']:.3%} reported, {r.truth:.3%} in the file")
def _clip_8(out: Path) -> Result:
    ff("-i", SHARED / "audio_good_radio31.wav", "-af", "pan=7.1|c0=c0|c1=c0|c2=c0|c3=c0|c4=c0|c5=c0|c6=c0|c7=c0",
       out / "radio31_8ch.wav")
    r = check_json(out / "radio31_8ch.wav")
    r.truth = _clipped_share(out / "radio31_8ch.wav")
    return r


# 7. A silent first track, the speech marked default.
@variant("two_tracks_silent_first", "GO with a streams warning naming the other track",
         lambda r: r.rc == 0 and r.check("streams")["status"] == "warn" and "track" in r.check("streams")["message"]
         and r.check("speech")["status"] == "pass",
         lambda r: summary(r) + f": {r.check('streams')['message']}" if r.rc in (0, 1) else summary(r))
def _tracks(out: Path) -> Result:
    ff("-i", SHARED / "good_aoc.mp4", "-f", "lavfi", "-i", "anullsrc=r=48000:cl=mono", "-map", "0:v", "-map", "1:a",
       "-map", "0:a", "-c:v", "copy", "-c:a", "aac", "-shortest", "-disposition:a:0", "0", "-disposition:a:1",
       "default", out / "two_tracks.mp4")
    return check_json(out / "two_tracks.mp4")


# 8. check and batch take roles from the streams, the same way.
def _agree(out: Path, name: str, make: Callable[[Path], None]) -> Result:
    folder = out / f"agree_{name.replace('.', '_')}"
    folder.mkdir(exist_ok=True)
    make(folder / name)
    single = check_json(folder / name)
    batched = _batch(folder, out / f"agree_{name}.jsonl")
    rows = _batch_rows(batched)
    single.truth = (single.report["verdict"] if single.rc in (0, 1) else "error",
                    rows[0]["verdict"] if len(rows) == 1 else f"{len(rows)} rows")
    return single


def _agreed(r: Result) -> bool:
    return r.truth[0] == r.truth[1] and r.truth[0] != "error"


def _agreement(r: Result) -> str:
    return f"check {r.truth[0].upper()}, batch {r.truth[1].upper()}"


@variant("gif_check_vs_batch", "the same verdict in check and batch", _agreed, _agreement)
def _gif(out: Path) -> Result:
    return _agree(out, "moving.gif", lambda p: ff("-i", SHARED / "good_aoc.mp4", "-t", "5", "-vf", "fps=10,scale=320:-2", p))


@variant("mp4_named_wav_check_vs_batch", "the same verdict in check and batch", _agreed, _agreement)
def _named_wav(out: Path) -> Result:
    return _agree(out, "clip.wav", lambda p: ff("-i", SHARED / "good_aoc.mp4", "-c", "copy", "-f", "mp4", p))


# Errors: one line, exit 2, words that name the problem.
@variant("policy_not_utf8", "exit 2, one line: not UTF-8", lambda r: r.one_line("UTF-8"))
def _not_utf8(out: Path) -> Result:
    (out / "b.toml").write_bytes(b"\xff\xfe[duration]\n")
    return preflight("check", "--config", out / "b.toml", SHARED / "good_aoc.mp4")


for _name, _toml, _keys in (("policy_min_over_max", "[duration]\nmin_s = 10\nmax_s = 5\n", ("min_s", "max_s")),
                            ("policy_resolution_reversed", "[resolution]\nwarn_below = 240\nfail_below = 480\n",
                             ("warn_below", "fail_below")),
                            ("policy_noise_reversed", "[noise]\nfail_below_db = 20\nwarn_below_db = 10\n",
                             ("fail_below_db", "warn_below_db"))):
    def _contradictory(out: Path, name: str = _name, toml: str = _toml) -> Result:
        (out / f"{name}.toml").write_text(toml)
        return preflight("check", "--config", out / f"{name}.toml", SHARED / "good_aoc.mp4")
    variant(_name, f"exit 2, one line naming {' and '.join(_keys)}",
            lambda r, keys=_keys: r.one_line(*keys))(_contradictory)


@variant("base_url_malformed", "exit 2, one line naming MOSAIC_BASE_URL", lambda r: r.one_line("MOSAIC_BASE_URL"))
def _base_url(out: Path) -> Result:
    return preflight("create", "--video", SHARED / "good_aoc.mp4", "--name", "ada",
                     env={"MOSAIC_API_KEY": "mk_test_key", "MOSAIC_BASE_URL": "http://[::1",
                          "PREFLIGHT_HOME": str(out / "home")})


@variant("name_starting_with_dash", "GO (check -- -dash.mp4 in its folder)", go)
def _dash(out: Path) -> Result:
    ff("-i", SHARED / "good_aoc.mp4", "-c", "copy", out / "-dash.mp4")
    return check_json("--", "-dash.mp4", cwd=out)


@variant("fifo", "exit 2, one line: not a regular file", lambda r: r.one_line("not a regular file"))
def _fifo(out: Path) -> Result:
    fifo = out / "pipe.mp4"
    if not fifo.exists():
        os.mkfifo(fifo)
    return preflight("check", fifo)


@variant("dev_zero", "exit 2, one line: not a regular file", lambda r: r.one_line("not a regular file"))
def _zero(out: Path) -> Result:
    return preflight("check", "/dev/zero")


@variant("symlink_loop", "exit 2, one line: loops", lambda r: r.one_line("loops"))
def _loop(out: Path) -> Result:
    for a, b in (("a.mp4", "b.mp4"), ("b.mp4", "a.mp4")):
        if not (out / a).is_symlink():
            (out / a).symlink_to(out / b)
    return preflight("check", out / "a.mp4")


@variant("clip_15.04s", "NO-GO duration showing 15.04 s",
         lambda r: r.rc == 1 and "15.04" in r.check("duration")["message"],
         lambda r: summary(r) + f": {r.check('duration')['message']}" if r.rc in (0, 1) else summary(r))
def _fifteen(out: Path) -> Result:
    ff("-stream_loop", "1", "-i", SHARED / "good_aoc.mp4", "-t", "15.04", "-c:v", "libx264", "-preset", "veryfast",
       "-c:a", "aac", out / "fifteen.mp4")
    return check_json(out / "fifteen.mp4")


@variant("mp4_cut_before_index", "exit 2, one line: incomplete", lambda r: r.one_line("incomplete"))
def _truncated(out: Path) -> Result:
    ff("-i", SHARED / "good_aoc.mp4", "-c", "copy", out / "moov_last.mp4")  # ffmpeg writes the index last
    data = (out / "moov_last.mp4").read_bytes()
    (out / "cut_short.mp4").write_bytes(data[: len(data) // 2])  # an upload cut short
    return preflight("check", out / "cut_short.mp4")


def _against_standin(out: Path, **fault: object) -> Result:
    from standin import StandIn

    server = StandIn().start()
    try:
        wrong_key = fault.pop("wrong_key", False)
        if fault:
            server.fault("GET /avatar-profiles", times=10, **fault)
        key = "mk_wrong_key" if wrong_key else server.api_key
        return preflight("create", "--video", SHARED / "good_aoc.mp4", "--name", "ada",
                         env={"MOSAIC_API_KEY": key, "MOSAIC_BASE_URL": server.url, "PREFLIGHT_HOME": str(out / "home")})
    finally:
        server.stop()


@variant("api_401", "exit 3, one line pointing at MOSAIC_API_KEY",
         lambda r: r.one_line("401", "MOSAIC_API_KEY", rc=3))
def _unauthorised(out: Path) -> Result:
    return _against_standin(out, wrong_key=True)


@variant("api_502_html", "exit 3, one line without the page's HTML",
         lambda r: r.one_line("502", rc=3) and "<" not in r.stderr)
def _bad_gateway(out: Path) -> Result:
    return _against_standin(out, status=502, html=True)


@variant("unknown_option", "exit 2, one line with the command's --help", lambda r: r.one_line("--frobnicate", "--help"))
def _usage(out: Path) -> Result:
    return preflight("check", "--frobnicate")


@variant("slow_path_60s_720p", "NO-GO duration at once (no full analysis)",
         lambda r: r.rc == 1 and [c["id"] for c in r.report["checks"]] == ["duration"],
         lambda r: summary(r) + f" in {r.seconds:.1f} s")
def _sixty(out: Path) -> Result:
    ff("-stream_loop", "7", "-i", SHARED / "good_aoc.mp4", "-t", "60", "-vf", "scale=-2:720", "-c:v", "libx264",
       "-preset", "veryfast", "-c:a", "aac", out / "sixty.mp4")
    return check_json(out / "sixty.mp4")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", nargs="?", type=Path, default=ROOT / "eval" / "out" / "formats")
    parser.add_argument("--only", help="comma-separated parts of variant names")
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    chosen = [v for v in VARIANTS if not args.only or any(part in v.name for part in args.only.split(","))]

    def run(v: Variant) -> tuple[Variant, str, bool]:
        return v, *judged(v, args.out)

    with ThreadPoolExecutor(args.jobs) as pool:
        rows = list(pool.map(run, chosen))
    return print_rows([([v.name], v.expect, got, right) for v, got, right in rows], ["variant"])


if __name__ == "__main__":
    sys.exit(main())
