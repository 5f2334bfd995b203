"""Generated evaluation cases, composed from ../shared/media only, reproducibly (fixed seeds).

Each family puts a known fault, at a known strength, into real recordings that are labelled
good, or checks that a harmless change (a pause, a hiss far under the voice) is not taken for
one. The output folder gets a ``labels.csv`` in the shared set's format (file, kind, verdict,
must_flag, notes) plus a ``truth`` column (the true SNR in dB, the music level, ...), so
``eval/score.py`` scores it the same way:

    .venv/bin/python eval/cases.py eval/out/cases            # every family
    .venv/bin/python eval/cases.py eval/out/cases --only noise,voices
    .venv/bin/python eval/score.py eval/out/cases

Families:

- ``noise``: clean speech with real background sound at 0, 5, 10, 20 and 30 dB SNR. The SNR is
  the speech's active level (power over the clean speech's VAD spans) over the noise's mean
  power. Backgrounds: the street ambience of ``vid_crowd_facenet``; the party crowd, the rumble
  and the hum recovered from the shared noisy mixes by subtracting their clean originals
  (they are sample-aligned; the residual holds the noise and both AAC encoders' errors, about
  20 dB under the noise); and two seeded synthetic ones, tape-like hiss (white noise, high
  shelf) and mains hum (50 Hz and its harmonics). 0 and 5 dB are no-go, 10 dB a flag, 20 and
  30 dB go.
- ``noise_change``: clean speech whose background comes in halfway (a fan or an air conditioner
  switched on, a window opened): street, hiss and hum over the second half only, at 20 and 30 dB
  SNR: go (the same voice throughout).
- ``music``: clean speech over real music (the waltz and the instrumental bed recovered from
  the shared mixes, the piano of ``vid_music_nospeech_lp_s18``, the song of
  ``aud_song_demucs``) at 10 and 20 dB under the speech, and speech followed by a 2.5 s music
  sting: no-go.
- ``padding``: clean speech with 0.5-2 s of digital silence after or before it: go.
- ``voices``: two real speakers taking turns of 1, 2 and 3 s; the same two in the left and
  right channel of a stereo file (turns, and both at once); and one speaker in both channels or
  in one channel only (go).
- ``handover``: one change of speaker in a short clip, as a cut from a conversation leaves it:
  6 s of one voice then 1.5, 2.5 or 4 s of another (and the other way round), another voice for
  2 s between two of the first; and 5-12 s windows of the real six-speaker recording
  ``aud_diarization_6spk.wav`` (pyAudioAnalysis's own segment times): no-go when a second
  speaker talks for 1.5 s or more, go when only one does.
- ``overlap``: a second voice over the first in one channel, at 0, 6 and 12 dB under it, for
  the whole clip or for 3 s of it: no-go.
- ``pasted``: a graphic without a face or letters (ffmpeg's test card, a round yellow badge)
  pasted over a good talking head from 1 to 4 s, held still, drifting, or sliding in from the
  edge: no-go overlay.
- ``dubs``: every ordered pair of good talking heads, picture of one and sound of the other, and
  each with its own sound shifted 0.2, 0.5, 1 s late and 0.5 s early (no-go av_sync).
- ``stills``: the good portraits with a meme caption, a lower-third name bar (no-go) or a small
  corner watermark (flag) drawn on.
- ``reencode``: every labelled shared file re-encoded smaller and harder (video 3/4 size, x264
  crf 30, AAC 96k; images JPEG; audio MP3 96k), keeping its label.
- ``variant``: every labelled shared file as another camera or phone might have made it, keeping its
  label: mirrored, darker and less saturated, 24 fps, 4 dB quieter, AAC at 44.1 kHz (audio as an
  M4A voice memo, images as JPEG).
- ``level``: the sound of every good shared recording 12 and 20 dB quieter, as WAV: go (a phone
  far from the speaker records at -40 to -50 dBFS).
- ``reverb``: the clean voices in a small room, a bare mid-size room and a hall (sox's reverb): go.
- ``edges``: a good video whose first or last frame comes from another clip (a stray frame an
  editor left): go (a warning is fine); and the same other clip's frames spliced in the middle:
  no-go scene_cuts. A container that runs 15.1 s around a 15.0 s video: no-go duration.
"""

from __future__ import annotations

import argparse
import csv
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "media"
RATE = 16_000

# Clean single-speaker speech labelled go in the shared set (audio files and the talking heads' sound).
SPEECH = ["audio_good_radio31.wav", "aud_libri_116-288045-0000.flac", "aud_ljspeech_LJ050-0131.wav",
          "aud_german1_dreamtalk.wav", "aud_kimk_w2lg.mp3", "audio_meeting_one_speaker.wav",
          "good_obama_a.mp4", "good_katie.mp4"]
# (name, noisy mix, its clean original): the mix minus the original is the noise.
RECOVERED = {"party": ("noisy_party_aoc.mp4", "good_aoc.mp4"), "rumble": ("noise_rumble_snr5_obama.mp4", "good_obama_a.mp4"),
             "hum": ("noise_hum_snr10_may.mp4", "good_may5s.mp4"), "waltz": ("music_waltz_demo3.mp4", "good_demo3_b.mp4"),
             "bed": ("music_bed_aoc.mp4", "good_aoc.mp4")}


@dataclass
class Case:
    file: str
    kind: str
    verdict: str
    must_flag: str
    notes: str
    truth: str = ""


FAMILIES: dict[str, Callable[[Path], list[Case]]] = {}


def family(fn: Callable[[Path], list[Case]]) -> Callable[[Path], list[Case]]:
    FAMILIES[fn.__name__] = fn
    return fn


# -- audio helpers -----------------------------------------------------------------------------

def load(name: str, channels: int = 1) -> np.ndarray:
    """A shared file's sound as float32 at 16 kHz: (samples,) or (channels, samples)."""
    raw = subprocess.run(["ffmpeg", "-loglevel", "error", "-i", str(SHARED / name), "-f", "f32le", "-ac", str(channels),
                          "-ar", str(RATE), "-"], capture_output=True, check=True).stdout
    x = np.frombuffer(raw, np.float32)
    return x if channels == 1 else x.reshape(-1, channels).T.copy()


def save(x: np.ndarray, out: Path) -> None:
    """16-bit WAV; (samples,) is mono, (channels, samples) stereo. Never clips silently."""
    x = np.atleast_2d(x)
    peak = float(np.abs(x).max())
    if peak > 0.99:
        x = x * (0.99 / peak)
    pcm = (x.T * 32767).round().astype("<i2").tobytes()
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-f", "s16le", "-ar", str(RATE), "-ac", str(x.shape[0]),
                    "-i", "-", str(out)], input=pcm, check=True)


def active_power(speech: np.ndarray) -> float:
    """Mean power over the speech's VAD spans (the active speech level, as in ITU-T P.56)."""
    from preflight.features.vad import detect
    from preflight.media import Audio

    spans = detect(Audio(speech.astype(np.float32)), 0.5).spans
    parts = [speech[int(a * RATE):int(b * RATE)] for a, b in spans] or [speech]
    return float(np.mean(np.concatenate(parts).astype(np.float64) ** 2))


def fit(noise: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` samples of ``noise``: a random stretch, looped with a short cross-fade if too short."""
    if len(noise) < n:
        fade = RATE // 20
        ramp = np.linspace(0, 1, fade, dtype=np.float32)
        out = noise.copy()
        while len(out) < n:
            out = np.concatenate([out[:-fade], out[-fade:] * (1 - ramp) + noise[:fade] * ramp, noise[fade:]])
        noise = out
    start = int(rng.integers(0, len(noise) - n + 1))
    return noise[start:start + n]


def recovered(name: str) -> np.ndarray:
    mix, clean = (load(f) for f in RECOVERED[name])
    n = min(len(mix), len(clean))
    mix, clean = mix[:n], clean[:n]
    gain = float(np.dot(mix, clean) / np.dot(clean, clean))  # the mixer may have scaled the voice
    return (mix - gain * clean).astype(np.float32)


def levelled() -> Iterator[tuple[str, np.ndarray, float]]:
    """Each clean voice of ``SPEECH``: its name, its samples and its active power."""
    for speaker in SPEECH:
        speech = load(speaker)
        yield speaker, speech, active_power(speech)


def gain_under(level: float, db: float) -> float:
    """The gain that puts a sound of unit power ``db`` dB under speech of active power ``level``."""
    return np.sqrt(level / 10 ** (db / 10))


def unit_power(x: np.ndarray) -> np.ndarray:
    """``x`` scaled to a mean power of 1, so that a gain sets its level against the speech."""
    return x / np.sqrt(np.mean(x.astype(np.float64) ** 2))


def hiss(n: int, rng: np.random.Generator) -> np.ndarray:
    """Tape-like hiss: white noise tilted up about 6 dB/octave above 2 kHz (a first-difference mix)."""
    white = rng.standard_normal(n + 1).astype(np.float32)
    return (0.5 * white[1:] + 0.5 * np.diff(white)).astype(np.float32)


def mains_hum(n: int, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(n) / RATE
    phase = rng.uniform(0, 2 * np.pi, 8)
    return sum((0.7 ** k) * np.sin(2 * np.pi * 50 * (k + 1) * t + phase[k]) for k in range(8)).astype(np.float32)


def noises(rng: np.random.Generator) -> dict[str, Callable[[int], np.ndarray]]:
    street = load("vid_crowd_facenet.mp4")
    party, rumble, hum = recovered("party"), recovered("rumble"), recovered("hum")
    return {
        "street": lambda n: fit(street, n, rng), "party": lambda n: fit(party, n, rng),
        "rumble": lambda n: fit(rumble, n, rng), "hum": lambda n: fit(hum, n, rng),
        "hiss": lambda n: hiss(n, rng), "mains": lambda n: mains_hum(n, rng),
    }


def stem(name: str) -> str:
    return Path(name).stem.replace("audio_good_", "").replace("aud_", "").replace("good_", "")[:14]


# -- families ----------------------------------------------------------------------------------

@family
def noise(out: Path) -> list[Case]:
    rng = np.random.default_rng(12)
    sources = noises(rng)
    cases = []
    for speaker, speech, level in levelled():
        for kind, make in sources.items():
            background = unit_power(make(len(speech)))
            for snr in (0, 5, 10, 20, 30):
                mix = speech + background * gain_under(level, snr)
                name = f"noise_{stem(speaker)}_{kind}_snr{snr}.wav"
                save(mix, out / name)
                verdict = "no-go" if snr <= 5 else ("flag" if snr == 10 else "go")
                cases.append(Case(name, "audio", verdict, "noise" if snr <= 10 else "",
                                  f"{speaker} with {kind} at {snr} dB SNR", truth=str(snr)))
    return cases


@family
def noise_change(out: Path) -> list[Case]:
    rng = np.random.default_rng(13)
    sources = noises(rng)
    cases = []
    for speaker, speech, level in levelled():
        half = len(speech) // 2
        for kind in ("street", "hiss", "hum"):
            background = unit_power(sources[kind](len(speech) - half))
            for snr in (20, 30):
                mix = speech.copy()
                mix[half:] += background * gain_under(level, snr)
                name = f"change_{stem(speaker)}_{kind}_snr{snr}.wav"
                save(mix, out / name)
                cases.append(Case(name, "audio", "go", "", f"{speaker}, {kind} at {snr} dB SNR from halfway on",
                                  truth=str(snr)))
    return cases


@family
def music(out: Path) -> list[Case]:
    rng = np.random.default_rng(7)
    beds = {"waltz": recovered("waltz"), "bed": recovered("bed"), "piano": load("vid_music_nospeech_lp_s18.mp4"),
            "song": load("aud_song_demucs.mp3")}
    cases = []
    for speaker, speech, level in levelled():
        for kind, bed in beds.items():
            part = unit_power(fit(bed, len(speech), rng))
            for under in (10, 20):
                name = f"music_{stem(speaker)}_{kind}_{under}db.wav"
                save(speech + part * gain_under(level, under), out / name)
                cases.append(Case(name, "audio", "no-go", "music", f"{speaker} over {kind} {under} dB under the voice",
                                  truth=str(-under)))
        sting = fit(beds["song"], int(2.5 * RATE), rng)
        sting = unit_power(sting) * np.sqrt(level) * 0.5
        name = f"music_{stem(speaker)}_sting.wav"
        save(np.concatenate([speech, sting]), out / name)
        cases.append(Case(name, "audio", "no-go", "music", f"{speaker} then a 2.5 s music sting", truth="sting"))
    return cases


@family
def padding(out: Path) -> list[Case]:
    cases = []
    for speaker in SPEECH[:6]:
        speech = load(speaker)
        for where in ("after", "before"):
            for pad in (0.5, 1.0, 2.0):
                if (len(speech) / RATE) / (len(speech) / RATE + pad) < 0.75:
                    continue
                silence = np.zeros(int(pad * RATE), np.float32)
                joined = np.concatenate([speech, silence] if where == "after" else [silence, speech])
                name = f"pad_{stem(speaker)}_{where}_{pad:g}s.wav"
                save(joined, out / name)
                cases.append(Case(name, "audio", "go", "", f"{speaker} with {pad:g} s of digital silence {where}"))
    return cases


# Pairs of different real speakers (the first is the main voice).
PAIRS = [("aud_libri_116-288045-0000.flac", "aud_german1_dreamtalk.wav"), ("aud_kimk_w2lg.mp3", "aud_ljspeech_LJ050-0131.wav"),
         ("audio_good_radio31.wav", "aud_libri_198-209-0000.ogg"), ("good_obama_a.mp4", "good_demo3_b.mp4"),
         ("good_katie.mp4", "good_may5s.mp4"), ("audio_good_deyu.wav", "aud_joyvasa_004.wav")]


def voice_pairs() -> Iterator[tuple[str, str, np.ndarray, np.ndarray, str]]:
    """Each pair's names, sounds (the second at the first's active level: the voices differ, not
    the levels) and the name the cases share."""
    for first, second in PAIRS:
        a, b = load(first), load(second)
        yield first, second, a, b * np.sqrt(active_power(a) / active_power(b)), f"{stem(first)}+{stem(second)}"


def turns(a: np.ndarray, b: np.ndarray, turn_s: float, total_s: float) -> tuple[np.ndarray, np.ndarray]:
    """Alternating turns of ``turn_s`` (A first), each voice's track apart (silent while the other talks)."""
    n, step = int(total_s * RATE), int(turn_s * RATE)
    left, right = np.zeros(n, np.float32), np.zeros(n, np.float32)
    pa = pb = 0
    for i, start in enumerate(range(0, n, step)):
        end = min(n, start + step)
        if i % 2 == 0:
            left[start:end] = a[pa:pa + end - start][: end - start]
            pa += end - start
        else:
            right[start:end] = b[pb:pb + end - start][: end - start]
            pb += end - start
    return left, right


@family
def voices(out: Path) -> list[Case]:
    cases = []
    for first, second, a, b, pair in voice_pairs():
        for turn in (1.0, 2.0, 3.0):
            left, right = turns(a, b, turn, min(12.0, 1.9 * min(len(a), len(b)) / RATE))
            name = f"turns_{pair}_{turn:g}s.wav"
            save(left + right, out / name)
            cases.append(Case(name, "audio", "no-go", "single_speaker", f"{first} and {second} in turns of {turn:g} s"))
            if turn == 2.0:
                name = f"stereo_turns_{pair}.wav"
                save(np.stack([left, right]), out / name)
                cases.append(Case(name, "audio", "no-go", "single_speaker", "turns of 2 s, one voice per channel"))
        n = min(len(a), len(b), 10 * RATE)
        name = f"stereo_both_{pair}.wav"
        save(np.stack([a[:n], b[:n]]), out / name)
        cases.append(Case(name, "audio", "no-go", "single_speaker", f"{first} left and {second} right, at once"))
        name = f"stereo_same_{stem(first)}.wav"
        save(np.stack([a, a * 0.8]), out / name)
        cases.append(Case(name, "audio", "go", "", f"{first} in both channels"))
        name = f"stereo_left_{stem(first)}.wav"
        save(np.stack([a, np.zeros_like(a)]), out / name)
        cases.append(Case(name, "audio", "go", "", f"{first} in the left channel, the right silent"))
    return cases


# The six speakers of aud_diarization_6spk.wav, as pyAudioAnalysis's own ground truth gives them
# (pyAudioAnalysis/data/diarizationExample2.segments): (start, end) in seconds.
SIX_SPEAKERS = [(0.0, 3.7), (3.7, 7.1), (7.1, 10.6), (10.6, 15.9), (15.9, 19.3), (19.3, 22.5)]


@family
def handover(out: Path) -> list[Case]:
    """One change of speaker in a short clip, as a cut from a longer conversation leaves it."""
    cases = []
    for first, second, a, b, pair in voice_pairs():
        for tail in (1.5, 2.5, 4.0):
            for name, parts in ((f"hand_{pair}_then_{tail:g}s.wav", (a[: 6 * RATE], b[: int(tail * RATE)])),
                                (f"hand_{pair}_first_{tail:g}s.wav", (b[: int(tail * RATE)], a[: 6 * RATE]))):
                save(np.concatenate(parts), out / name)
                cases.append(Case(name, "audio", "no-go", "single_speaker", f"6 s of {first} and {tail:g} s of {second}"))
        name = f"hand_{pair}_between.wav"
        save(np.concatenate([a[: 4 * RATE], b[: 2 * RATE], a[4 * RATE : 8 * RATE]]), out / name)
        cases.append(Case(name, "audio", "no-go", "single_speaker", f"{second} speaks 2 s between 8 s of {first}"))
    # Windows of a real six-speaker recording: two voices when the second of them speaks >= 1.5 s,
    # one when it speaks under 0.3 s; in between is left out (about the check's own 1 s limit).
    six = load("aud_diarization_6spk.wav")
    for length in (5, 6, 8, 10, 12):
        for start in np.arange(0.0, len(six) / RATE - length + 1e-6, 1.0):
            heard = sorted((min(start + length, e) - max(start, s) for s, e in SIX_SPEAKERS), reverse=True)
            second_s = max(heard[1], 0.0)
            if 0.3 < second_s < 1.5:
                continue
            name = f"hand_six_{length}s_at{start:g}.wav"
            save(six[int(start * RATE) : int((start + length) * RATE)], out / name)
            two = second_s >= 1.5
            cases.append(Case(name, "audio", "no-go" if two else "go", "single_speaker" if two else "",
                              f"{length} s of aud_diarization_6spk.wav from {start:g} s", truth=f"{second_s:.1f}"))
    return cases


@family
def overlap(out: Path) -> list[Case]:
    """A second voice over the first in one channel: for the whole clip, or for 3 s of it."""
    cases = []
    for first, second, a, b, pair in voice_pairs():
        n = min(len(a), len(b), 10 * RATE)
        for db in (0, -6, -12):
            gain = 10 ** (db / 20)
            name = f"overlap_{pair}_all_{db}dB.wav"
            save(a[:n] + gain * b[:n], out / name)
            cases.append(Case(name, "audio", "no-go", "single_speaker", f"{second} {db} dB under {first}, all along"))
            over = a[:n].copy()
            m = min(3 * RATE, n - 3 * RATE)
            over[3 * RATE : 3 * RATE + m] += gain * b[:m]
            name = f"overlap_{pair}_3s_{db}dB.wav"
            save(over, out / name)
            cases.append(Case(name, "audio", "no-go", "single_speaker", f"{second} {db} dB under {first}, 3-6 s"))
    return cases


def ffmpeg(*args: str | Path) -> None:
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", *map(str, args)], check=True)


@family
def edges(out: Path) -> list[Case]:
    cases = []
    clips = ["good_aoc.mp4", "good_katie.mp4", "good_obama_a.mp4", "good_demo3_a.mp4", "good_may5s.mp4"]
    for i, clip in enumerate(clips):
        other = clips[(i + 1) % len(clips)]
        src = SHARED / clip
        # the other clip scaled to this one's size; 1 or 2 of its frames at an edge, or 1 s in the middle
        probe = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                                "stream=width,height,r_frame_rate", "-of", "csv=p=0", str(src)],
                               capture_output=True, text=True, check=True).stdout.strip().split(",")
        w, h, rate = probe[0], probe[1], probe[2]
        fit_other = f"[1:v]scale={w}:{h},setsar=1,fps={rate},format=yuv420p"
        base = f"[0:v]setsar=1,fps={rate},format=yuv420p"
        for where, frames in (("first", 1), ("first", 2), ("last", 1)):
            name = f"edge_{stem(clip)}_{where}{frames}.mp4"
            if where == "first":
                graph = (f"{fit_other},trim=start_frame=20:end_frame={20 + frames},setpts=PTS-STARTPTS[o];"
                         f"{base},trim=start_frame={frames},setpts=PTS-STARTPTS[m];[o][m]concat=n=2:v=1[v]")
            else:
                graph = (f"{fit_other},trim=start_frame=20:end_frame={20 + frames},setpts=PTS-STARTPTS[o];"
                         f"{base},trim=end_frame=1000,setpts=PTS-STARTPTS[m];[m][o]concat=n=2:v=1[v0];"
                         f"[v0]trim=start_frame={frames},setpts=PTS-STARTPTS[v]")
            ffmpeg("-i", src, "-i", SHARED / other, "-filter_complex", graph, "-map", "[v]", "-map", "0:a",
                   "-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-c:a", "aac", "-shortest", out / name)
            cases.append(Case(name, "video", "go", "", f"{clip} with {frames} stray frame(s) of {other} as its {where}"))
        name = f"midcut_{stem(clip)}.mp4"
        graph = (f"{base},split[a][b];[a]trim=0:2,setpts=PTS-STARTPTS[p];[b]trim=3,setpts=PTS-STARTPTS[q];"
                 f"{fit_other},trim=0:1,setpts=PTS-STARTPTS[o];[p][o][q]concat=n=3:v=1[v]")
        ffmpeg("-i", src, "-i", SHARED / other, "-filter_complex", graph, "-map", "[v]", "-map", "0:a",
               "-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-c:a", "aac", "-shortest", out / name)
        cases.append(Case(name, "video", "no-go", "scene_cuts", f"{clip} with 1 s of {other} at 2 s"))
    # 15.0 s of picture in a container that runs 15.1 s (its sound is longer)
    name = "dur_container_15p1.mp4"
    ffmpeg("-i", SHARED / "vid_long15_vasa_l2.mp4", "-f", "lavfi", "-i", "anullsrc=r=16000:cl=mono",
           "-filter_complex", "[0:v]trim=end=15.0,setpts=PTS-STARTPTS[v];[0:a]apad,atrim=end=15.1[a]", "-map", "[v]", "-map", "[a]",
           "-c:v", "libx264", "-preset", "veryfast", "-c:a", "aac", out / name)
    cases.append(Case(name, "video", "no-go", "duration", "15.0 s of picture, 15.1 s of sound and container"))
    return cases


# The good talking heads: who is in them and where in their source recording they start (two
# cuts of one recording from the same start are the same picture and sound: not a pair).
TALKING = {"good_aoc.mp4": ("aoc", 0.0), "good_katie.mp4": ("katie", 0.0), "good_may5s.mp4": ("may", 0.0),
           "good_demo3_a.mp4": ("demo3", 0.0), "good_demo3_b.mp4": ("demo3", 10.1), "good_obama_a.mp4": ("obama", 0.0),
           "good_obama_pauses.mp4": ("obama", 3.0), "dur_14p9_obama.mp4": ("obama", 0.0),
           "dur_4p1_demo3.mp4": ("demo3", 0.0)}
SHIFTS = (0.2, 0.5, 1.0, -0.5)  # s; positive: the sound comes late


@family
def pasted(out: Path) -> list[Case]:
    """A graphic pasted over a good talking head for part of it, as an editor adds a sticker or an
    inset: no-go overlay. Graphics without a face or letters, so only the overlay check can see
    them: ffmpeg's test card and a round yellow badge. Each pops in at 1 s and out at 4 s, held
    still or drifting across; and one slides in from the frame's edge (no pop at all)."""
    cases = []
    graphics = {"card": "testsrc2=size=320x240:rate=30",
                "badge": "color=c=yellow:size=240x240:rate=30,format=rgba,"
                         "geq=r='r(X,Y)':g='g(X,Y)':b='b(X,Y)':a='if(lt(hypot(X-120,Y-120),118),255,0)'"}
    moves = {"still": ("W*0.06", "H*0.08"), "drift": ("W*0.06+W*0.12*(t-1)", "H*0.08"),
             "slide": ("-w+(w+W*0.06)*min(1,(t-1)/1.5)", "H*0.08")}
    for clip in ["good_aoc.mp4", "good_katie.mp4", "good_obama_a.mp4", "good_demo3_a.mp4", "good_may5s.mp4"]:
        for look, source in graphics.items():
            for move, (x, y) in moves.items():
                name = f"pasted_{look}_{move}_{stem(clip)}.mp4"
                graph = (f"{source},trim=duration=20[g0];[g0][0:v]scale2ref=w=main_w*0.22:h=ow*ih/iw[g][m];"
                         f"[m][g]overlay=x='{x}':y='{y}':enable='between(t,1,4)':shortest=1[v]")
                ffmpeg("-i", SHARED / clip, "-filter_complex", graph, "-map", "[v]", "-map", "0:a", "-c:v", "libx264", "-preset", "veryfast", "-crf", "20",
                       "-c:a", "copy", out / name)
                cases.append(Case(name, "video", "no-go", "overlay", f"{clip} with a {look} pasted 1-4 s, {move}"))
    return cases


@family
def dubs(out: Path) -> list[Case]:
    """Every ordered pair of good talking heads, the picture of one with the sound of the other
    (trimmed to the shorter), and each with its own sound shifted by 0.2, 0.5 and 1 s late and
    0.5 s early. Another's voice is no-go (the same person's voice from other words too); a
    shift is no-go, truth is the shift in ms."""
    cases = []
    clips = list(TALKING)
    for picture in clips:
        for voice in clips:
            if TALKING[voice] == TALKING[picture]:
                continue
            name = f"dub_{stem(picture)}_with_{stem(voice)}.mp4"
            ffmpeg("-i", SHARED / picture, "-i", SHARED / voice, "-map", "0:v", "-map", "1:a", "-c:v", "copy",
                   "-c:a", "aac", "-shortest", out / name)
            same = TALKING[picture][0] == TALKING[voice][0]
            cases.append(Case(name, "video", "no-go", "av_sync",
                              f"{picture}'s picture with {voice}'s sound" + (" (the same person, other words)" if same else ""),
                              truth="same person" if same else "other person"))
        for shift in SHIFTS:
            name = f"shift_{stem(picture)}_{round(shift * 1000):+d}ms.mp4"
            delay = (f"adelay={round(shift * 1000)}:all=1" if shift > 0 else f"atrim=start={-shift},asetpts=PTS-STARTPTS")
            ffmpeg("-i", SHARED / picture, "-filter_complex", f"[0:a]{delay},apad[a]", "-map", "0:v", "-map", "[a]",
                   "-c:v", "copy", "-c:a", "aac", "-shortest", out / name)
            cases.append(Case(name, "video", "no-go", "av_sync", f"{picture} with its own sound {shift:+g} s",
                              truth=str(round(shift * 1000))))
    return cases


FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"
PORTRAITS = ["img_obama.jpg", "img_musk_df18.jpg", "img_zuckerberg_df13.jpg", "img_bezos_df21.jpg", "img_paul_rudd_fn.jpg",
             "img_tom_cruise_dl.jpg", "img_dicaprio_memo.jpg", "image_one_person.png"]


@family
def stills(out: Path) -> list[Case]:
    """Text burned into the good portraits: a meme caption, a lower-third name bar, a corner watermark."""
    cases = []
    looks = {
        "caption": ("no-go", "overlay", "drawtext=fontfile={f}:text='WHEN YOU FINALLY GET IT':fontcolor=white:borderw=3:"
                    "bordercolor=black:fontsize=h/12:x=(w-tw)/2:y=h-th-h/20"),
        "lowerthird": ("no-go", "overlay", "drawbox=y=ih*0.78:w=iw*0.7:h=ih*0.12:color=0x1f4e99@0.9:t=fill,"
                       "drawtext=fontfile={f}:text='Jane Doe - Product Lead':fontcolor=white:fontsize=h/22:x=w*0.04:y=h*0.81"),
        # a shadow, as watermarks have: white letters alone vanish on a white studio backdrop
        # (the zuckerberg and bezos portraits), and a label cannot ask to see what is not there
        "watermark": ("flag", "overlay", "drawtext=fontfile={f}:text='studio.tv':fontcolor=white@0.85:fontsize=h/30:"
                      "shadowx=2:shadowy=2:shadowcolor=black@0.5:x=w-tw-w/40:y=h/40"),
    }
    for portrait in PORTRAITS:
        for look, (verdict, must, graph) in looks.items():
            name = f"still_{look}_{stem(portrait)}.png"
            ffmpeg("-i", SHARED / portrait, "-vf", graph.format(f=FONT), "-frames:v", "1", out / name)
            cases.append(Case(name, "image", verdict, must, f"{portrait} with a {look} drawn on"))
    return cases


def _every_shared(out: Path, prefix: str, how: str, *, video: list[str], audio: list[str], image: list[str],
                  sound: tuple[list[str], str]) -> list[Case]:
    """Every labelled shared file through ffmpeg with its kind's arguments, keeping its label: a
    video's picture gets ``video`` and its sound ``audio``; a sound file gets ``sound``'s arguments
    and extension."""
    with (SHARED / "labels.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    cases = []
    for row in rows:
        src, kind = SHARED / row["file"], row["kind"]
        base = Path(row["file"]).stem
        if kind == "video":
            name = f"{prefix}_{base}.mp4"
            ffmpeg("-i", src, *video, *(audio if _has_audio(src) else []), out / name)
        elif kind == "image":
            name = f"{prefix}_{base}.jpg"
            ffmpeg("-i", src, *image, "-frames:v", "1", out / name)
        else:
            name = f"{prefix}_{base}.{sound[1]}"
            ffmpeg("-i", src, "-vn", *sound[0], out / name)
        cases.append(Case(name, kind, row["verdict"], row["must_flag"], f"{row['file']} {how}; {row['notes']}"[:200]))
    return cases


@family
def reencode(out: Path) -> list[Case]:
    """Every labelled shared file as a smaller, harder-compressed upload, with its label: a limit that
    holds on real footage survives the encoder a user's phone or editor picks."""
    smaller = ["-vf", "scale=trunc(iw*3/8)*2:-2"]
    return _every_shared(out, "re", "scaled to 3/4, x264 crf 30, AAC 96k (audio: MP3 96k)",
                         video=[*smaller, "-c:v", "libx264", "-preset", "veryfast", "-crf", "30"],
                         audio=["-c:a", "aac", "-b:a", "96k"], image=[*smaller, "-q:v", "8"],
                         sound=(["-c:a", "libmp3lame", "-b:a", "96k"], "mp3"))


@family
def variant(out: Path) -> list[Case]:
    """Every labelled shared file changed in ways that change no verdict: a limit that holds on real
    footage does not hang on the shared files' own camera, frame rate or level."""
    look = "hflip,eq=gamma=0.85:saturation=0.85"
    quieter = ["-af", "volume=-4dB", "-ar", "44100", "-c:a", "aac", "-b:a", "128k"]
    return _every_shared(out, "var", "mirrored, darker, 24 fps, 4 dB quieter, AAC 44.1 kHz",
                         video=["-vf", f"{look},fps=24", "-c:v", "libx264", "-preset", "veryfast", "-crf", "23"],
                         audio=quieter, image=["-vf", look, "-q:v", "3"], sound=(quieter, "m4a"))


@family
def level(out: Path) -> list[Case]:
    """The good recordings' sound, quieter: no check may read a quiet recording as a noisy one."""
    with (SHARED / "labels.csv").open(newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["verdict"] == "go" and r["kind"] in ("audio", "video")]
    cases = []
    for row in rows:
        for db in (12, 20):
            name = f"level_{Path(row['file']).stem}_-{db}dB.wav"
            ffmpeg("-i", SHARED / row["file"], "-vn", "-af", f"volume=-{db}dB", "-ac", "1", "-ar", "16000",
                   "-c:a", "pcm_s16le", out / name)
            cases.append(Case(name, "audio", "go", "", f"{row['file']}'s sound {db} dB quieter"))
    return cases


@family
def reverb(out: Path) -> list[Case]:
    """The clean voices in rooms: sox's reverb (Freeverb) at reverberance / room size 40/30 (a small
    room), 50/50 and 70/50 (a bare mid-size room) and 30/100 (a hall), wet signal 3 dB under: go.
    Room sound is not music, noise or a second voice."""
    cases = []
    for speaker in SPEECH:
        dry = out / "reverb_dry.wav"
        save(load(speaker), dry)
        for reverberance, room in ((40, 30), (50, 50), (70, 50), (30, 100)):
            name = f"reverb_{stem(speaker)}_{reverberance}_{room}.wav"
            subprocess.run(["sox", str(dry), str(out / name), "reverb", str(reverberance), "50", str(room), "100", "0", "-3"],
                           check=True, capture_output=True)
            cases.append(Case(name, "audio", "go", "", f"{speaker} with reverberance {reverberance}% in a room of {room}%"))
        dry.unlink()
    return cases


def _has_audio(path: Path) -> bool:
    found = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "a", "-show_entries", "stream=index", "-of",
                            "csv=p=0", str(path)], capture_output=True, text=True).stdout
    return bool(found.strip())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--only", help="comma-separated families: " + ", ".join(FAMILIES))
    args = parser.parse_args()
    if not (SHARED / "labels.csv").exists():
        print(f"no labelled media at {SHARED}", file=sys.stderr)
        return 2
    chosen = args.only.split(",") if args.only else list(FAMILIES)
    unknown = set(chosen) - set(FAMILIES)
    if unknown:
        print(f"unknown families: {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    labels = args.out / "labels.csv"
    kept = []
    if labels.exists():  # other families' rows stay
        with labels.open(newline="") as f:
            kept = [r for r in csv.DictReader(f) if r["file"].split("_")[0] not in _prefixes(chosen)]
    rows = list(kept)
    for name in chosen:
        made = FAMILIES[name](args.out)
        rows += [vars(c) for c in made]
        print(f"{name}: {len(made)} cases", file=sys.stderr)
    with labels.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["file", "kind", "verdict", "must_flag", "notes", "truth"])
        writer.writeheader()
        writer.writerows(rows)
    return 0


def _prefixes(families: list[str]) -> set[str]:
    return {p for name in families for p in PREFIXES[name]}


PREFIXES = {"noise": {"noise"}, "music": {"music"}, "padding": {"pad"}, "voices": {"turns", "stereo"},
            "edges": {"edge", "midcut", "dur"}, "stills": {"still"}, "dubs": {"dub", "shift"}, "reencode": {"re"},
            "variant": {"var"}, "level": {"level"}, "handover": {"hand"}, "overlap": {"overlap"}, "pasted": {"pasted"},
            "reverb": {"reverb"}, "noise_change": {"change"}}


if __name__ == "__main__":
    sys.exit(main())
