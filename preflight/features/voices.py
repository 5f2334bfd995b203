"""Who speaks when: the speech is cut into windows, each window becomes a speaker embedding,
and the windows are grouped into voices.

Embeddings come from Resemblyzer's GE2E voice encoder (``models/voice_encoder.onnx``; 3 LSTM
layers over 40 mel bands, 256-d, L2-normalised): windows of one voice sit close together
(cosine similarity 0.7-0.95 on the labelled recordings), windows of two voices further apart.
The front end follows the encoder's training: the audio normalised to -30 dBFS over its speech,
librosa's mel power spectrogram (40 bands, 25 ms windows, 10 ms hop; computed by
:mod:`preflight.features.mel`). Only the VAD's speech frames enter the windows.

Three window lengths are used, and the one that finds more speech by other voices wins: 1.6 s
every 0.4 s (the encoder's training length: the steadiest embeddings), 1.0 s every 0.25 s and
0.8 s every 0.2 s (a 1.6 s window always straddles two voices that take turns every second,
and such mixed windows sit between the voices and hide the turn; after the VAD trims the pauses
a 1 s turn holds about 0.8 s of speech). When the channels of a multichannel file
differ (correlation under 0.9: a stereo interview with one speaker per side), each channel's
speech is windowed on its own and all windows are grouped together, since a downmix lays the
two voices over each other.

Windows are grouped by average-linkage agglomerative clustering on cosine distance, cut where
the groups' mean similarity falls below ``same_voice``. Each speech frame takes the voice of the
nearest window centre in its channel; voice 0 is the one with the most speech.
References: Wan et al., "Generalized End-to-End Loss for Speaker Verification", ICASSP 2018;
Resemble AI, "Resemblyzer", https://github.com/resemble-ai/Resemblyzer.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from preflight.features import onnx
from preflight.features.mel import mel_power
from preflight.features.vad import SpeechActivity, detect, speech_activity
from preflight.media import Audio, Media

HOP = 160  # samples at 16 kHz: 10 ms frames
FRAME_S = HOP / 16_000
SCALES = ((160, 40), (100, 25), (80, 20))  # (window, step) in frames: 1.6 s every 0.4 s, 1 s every 0.25 s, 0.8 s every 0.2 s
TARGET_DBFS = -30.0
CHANNELS_DIFFER_BELOW = 0.9  # correlation of two channels under which each is heard on its own
# Clustering costs the cube of the windows compared. A check's clip (at most 60 s decoded) gives
# at most 300 a scale; minutes of speech (``preflight fix``) widen the step so that no scale
# passes this many, keeping time and memory in bounds (steps of 0.3-1 s over 10 minutes still
# put 2+ windows in any 1 s turn at the short scales).
MAX_WINDOWS = 600
_BATCH = 64  # windows the encoder takes at once: its activations grow with the batch (512: +600 MB on 3 minutes)


@dataclass(frozen=True)
class Voices:
    """The speech of one audio, grouped by voice."""

    frames: np.ndarray  # speech frame index (10 ms each); a frame heard in two channels appears twice
    labels: np.ndarray  # voice per speech frame; 0 is the voice with the most speech
    windows: int  # embeddings compared
    similarity: float  # mean similarity of the two least alike groups of windows (1.0: one window)
    channels: int = 1  # channels heard apart (1: the mono mix)

    @property
    def count(self) -> int:
        return int(self.labels.max()) + 1 if len(self.labels) else 0

    def seconds(self, voice: int) -> float:
        return len(np.unique(self.frames[self.labels == voice])) * FRAME_S

    def times(self, voice: int) -> np.ndarray:
        """Start times (seconds) of the 10 ms frames spoken by ``voice``."""
        return np.unique(self.frames[self.labels == voice]) * FRAME_S

    def others_seconds(self) -> float:
        """Time in which anyone but voice 0 speaks."""
        return len(np.unique(self.frames[self.labels > 0])) * FRAME_S

    def within(self, start: float, end: float) -> Voices:
        """The speech from ``start`` to ``end`` s, its voices numbered anew (0 speaks the most in
        it). The voices were told apart over the whole audio, so ``windows`` and ``similarity``
        stay the whole audio's: a window with no speech in it compared none."""
        keep = (self.frames * FRAME_S >= start) & (self.frames * FRAME_S < end)
        if keep.all():
            return self
        labels = self.labels[keep]
        by_speech = np.argsort(-np.bincount(labels, minlength=self.count), kind="stable")
        renumber = np.empty(len(by_speech), dtype=int)
        renumber[by_speech] = np.arange(len(by_speech))
        return Voices(frames=self.frames[keep], labels=renumber[labels], windows=self.windows if keep.any() else 0,
                      similarity=self.similarity, channels=self.channels)


def voices(media: Media, vad_threshold: float, same_voice: float) -> Voices | None:
    """The voices in ``media``'s audio (None without audio); computed once per source."""
    activity = speech_activity(media, vad_threshold)
    if activity is None:
        return None
    audio = media.audio()

    def compute() -> Voices:
        tracks = [(audio, activity)]
        if audio.channels is not None and _channels_differ(audio.channels):
            tracks = [(Audio(ch, audio.rate), detect(Audio(ch, audio.rate), vad_threshold)) for ch in audio.channels]
        return group(tracks, same_voice)

    return media.shared(f"voices:{vad_threshold}:{same_voice}", compute)


def group(tracks: list[tuple[Audio, SpeechActivity]], same_voice: float) -> Voices:
    """Group the speech of one or more channels (each with its speech activity) into voices."""
    prepared = [_prepare(audio, activity) for audio, activity in tracks]
    found = [_group_at(prepared, window, step, same_voice) for window, step in SCALES]
    found = [f for f in found if f is not None]
    if not found:
        frames = np.concatenate([speech for _, speech in prepared]) if prepared else np.zeros(0, int)
        return Voices(frames=frames, labels=np.zeros(len(frames), int), windows=0, similarity=1.0, channels=len(tracks))
    best = max(found, key=lambda v: (v.others_seconds(), -v.similarity))
    return Voices(frames=best.frames, labels=best.labels, windows=best.windows,
                  similarity=min(f.similarity for f in found), channels=len(tracks))


def _prepare(audio: Audio, activity: SpeechActivity) -> tuple[np.ndarray, np.ndarray]:
    mels = _mel_frames(audio, activity)
    return mels, _speech_frames(activity, len(mels))


def _group_at(prepared: list[tuple[np.ndarray, np.ndarray]], window: int, step: int, same_voice: float) -> Voices | None:
    batches, owners = [], []  # owners: (track, speech frames, window centres in speech-frame positions)
    for track, (mels, speech) in enumerate(prepared):
        if len(speech) < window:
            continue
        step = max(step, -(-(len(speech) - window) // MAX_WINDOWS))
        starts = list(range(0, len(speech) - window + 1, step))
        if starts[-1] != len(speech) - window:
            starts.append(len(speech) - window)  # the tail gets a window of its own
        batches.append(np.stack([mels[speech[s : s + window]] for s in starts]))
        owners.append((track, speech, np.array(starts) + window // 2))
    if not batches:
        return None
    mels = np.concatenate(batches).astype(np.float32)
    encoder = onnx.session("voice_encoder.onnx")
    embeddings = np.concatenate([encoder.run(None, {"mels": mels[i : i + _BATCH]})[0] for i in range(0, len(mels), _BATCH)])
    window_labels, similarity = _cluster(embeddings, same_voice)
    frames, labels, first = [], [], 0
    for _, speech, centres in owners:
        mine = window_labels[first : first + len(centres)]
        first += len(centres)
        nearest = _nearest(np.arange(len(speech)), centres)
        frames.append(speech)
        labels.append(mine[nearest])
    frames_all, labels_all = np.concatenate(frames), np.concatenate(labels)
    order = np.argsort(-np.bincount(labels_all))  # voice 0 speaks the most
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    return Voices(frames=frames_all, labels=rank[labels_all], windows=len(embeddings), similarity=similarity)


def _nearest(positions: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """Index of the nearest of the (ascending) ``centres`` for each position; the earlier one on a tie."""
    right = np.clip(np.searchsorted(centres, positions), 1, max(len(centres) - 1, 1))
    left = right - 1
    if len(centres) == 1:
        return np.zeros(len(positions), dtype=int)
    return np.where(centres[right] - positions < positions - centres[left], right, left)


def channel_agreement(audio: Audio) -> float | None:
    """How alike the loudness of the channels moves: the lowest correlation, over pairs of
    channels that carry sound, of their envelopes (dB in 50 ms frames, over the frames where
    either is within 30 dB of its own loudest, each floored there). None for one channel, or one that carries sound.

    One source heard in two channels (dual mono, a stereo pair, a camera's two microphones) rises
    and falls alike in both, whatever the delay or level between them; two sources, one a
    channel, do not. Unlike the waveforms' correlation, it does not fall for one voice picked up
    by two microphones apart (a voice and its copy 10 ms later: above 0.9, tested).
    """
    if audio.channels is None:
        return None
    frame = audio.rate // 20
    loud = [c for c in audio.channels if float(np.std(c)) > 1e-4]
    if len(loud) < 2 or len(loud[0]) < 10 * frame:
        return None
    n = len(loud[0]) // frame
    envelopes = np.stack([10 * np.log10(np.mean(c[: n * frame].reshape(n, frame).astype(np.float64) ** 2, axis=1) + 1e-12)
                          for c in loud])
    floor = np.percentile(envelopes, 95, axis=1, keepdims=True) - 30
    active = (envelopes > floor).any(axis=0)
    kept = np.maximum(envelopes, floor)[:, active]  # quieter than that is quiet, however quiet
    if kept.shape[1] < 10 or float(kept.std(axis=1).min()) == 0.0:
        return None
    corr = np.corrcoef(kept)
    return round(float(corr[np.triu_indices(len(kept), 1)].min()), 3)


def _channels_differ(channels: np.ndarray) -> bool:
    loud = [c for c in channels if float(np.std(c)) > 1e-4]
    if len(loud) < 2:
        return False  # one channel carries everything (or all are silent): the mix is that channel
    corr = np.corrcoef(np.stack(loud))
    return bool(corr[np.triu_indices(len(loud), 1)].min() < CHANNELS_DIFFER_BELOW)


def _mel_frames(audio: Audio, activity: SpeechActivity) -> np.ndarray:
    """Mel power spectrogram, (frames, 40), of the audio at -30 dBFS over its speech."""
    x = np.clip(audio.samples, -1.0, 1.0).astype(np.float32)
    speech = np.concatenate([x[int(a * audio.rate) : int(b * audio.rate)] for a, b in activity.spans] or [x])
    level = float(np.sqrt(np.mean(speech.astype(np.float64) ** 2))) if len(speech) else 0.0
    if level > 0:
        x = x * (10 ** (TARGET_DBFS / 20) / level)
    return mel_power(x, audio.rate, n_fft=400, hop=HOP, n_mels=40).T


def _speech_frames(activity: SpeechActivity, n_frames: int) -> np.ndarray:
    mask = np.zeros(n_frames, dtype=bool)
    for start, end in activity.spans:
        mask[int(start / FRAME_S) : int(np.ceil(end / FRAME_S))] = True
    return np.flatnonzero(mask)


def _cluster(embeddings: np.ndarray, same_voice: float) -> tuple[np.ndarray, float]:
    """Voice per window and the similarity at which the last two groups would merge.

    Average-linkage (UPGMA) agglomerative clustering on cosine distance, cut where the groups'
    mean distance exceeds ``1 - same_voice``: the same grouping as scipy's ``linkage(method=
    "average", metric="cosine")`` with ``fcluster(criterion="distance")`` (tested against it),
    in numpy for the few hundred windows a clip gives at most.
    """
    n = len(embeddings)
    if n == 1:
        return np.zeros(1, dtype=int), 1.0
    unit = embeddings.astype(np.float64)
    unit /= np.maximum(np.linalg.norm(unit, axis=1, keepdims=True), 1e-12)
    distance = np.clip(1.0 - unit @ unit.T, 0.0, 2.0)
    np.fill_diagonal(distance, np.inf)
    size = np.ones(n)
    labels = np.arange(n)
    cut = 1.0 - same_voice
    height = 0.0
    for _ in range(n - 1):
        i, j = divmod(int(np.argmin(distance)), n)
        height = float(distance[i, j])
        if height <= cut:
            labels[labels == labels[j]] = labels[i]
        # Lance-Williams update for the average: i becomes i + j, j leaves
        merged = (size[i] * distance[i] + size[j] * distance[j]) / (size[i] + size[j])
        distance[i], distance[:, i] = merged, merged
        distance[i, i] = np.inf
        distance[j], distance[:, j] = np.inf, np.inf
        size[i] += size[j]
    return np.unique(labels, return_inverse=True)[1], round(1.0 - height, 3)
