"""Who speaks when: the speech is cut where its speaker changes, each piece becomes a speaker
embedding, and the pieces are grouped into voices; and where two people talk at once.

The cuts come from pyannote's segmentation model (:mod:`preflight.features.segmentation`): within
each 10 s chunk it says which of up to three local speakers talks, or that two talk at once. Speech
frames (the VAD's) where one talks are cut into pieces where that local speaker changes, and into
pieces of at most 1 s (the model can give two similar voices one local number, and then only
pieces shorter than their turns tell them apart); pieces under
0.5 s are too short to tell a voice by, and their frames take the voice of the nearest piece of
the same local speaker (else of any piece). Frames where two talk at once are kept apart as the
overlap, and given to no voice: their sound is neither speaker's alone.

Each piece gets two speaker embeddings, from encoders trained apart: 3D-Speaker's CAM++
(``models/campplus.onnx``; 192-d, over the Kaldi fbank of the piece, :mod:`preflight.features.fbank`,
its mean subtracted) and Resemblyzer's GE2E (``models/voice_encoder.onnx``; 256-d, over librosa's
mel power of the piece, the track's pieces brought to -30 dBFS as in its training,
:mod:`preflight.features.mel`). Each is made unit length and the two are laid side by side,
scaled by 1/sqrt(2): two pieces' cosine is then the mean of the two encoders' cosines (score
fusion). Their errors differ (CAM++ drifts with a far microphone, GE2E with a background that
comes in and on some clean readers), so neither one's drift alone splits a voice. The pieces are
grouped by average-linkage agglomerative clustering on cosine distance, cut where the groups'
mean similarity falls below ``same_voice``. Voice 0 is the one with the most speech. When the
channels of a multichannel file differ (correlation under 0.9: an interview with a microphone
each), each channel is cut on its own and all its pieces are grouped together, since a downmix
lays the two voices over each other.
References: Wang et al., "CAM++: A Fast and Efficient Network for Speaker Verification Using
Context-Aware Masking", Interspeech 2023; Wan et al., "Generalized End-to-End Loss for Speaker
Verification", ICASSP 2018 (GE2E); Bredin, "pyannote.audio 2.1 speaker diarization
pipeline: principle, benchmark, and recipe", Interspeech 2023 (segmentation, then embeddings of
its speakers, then clustering).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from preflight.features import onnx
from preflight.features.fbank import fbank
from preflight.features.mel import mel_power
from preflight.features.segmentation import FRAME_S, Segmentation, segment
from preflight.features.vad import SpeechActivity, detect, speech_activity
from preflight.media import Audio, Media

CHANNELS_DIFFER_BELOW = 0.9  # correlation of two channels under which each is heard on its own
PIECE_MIN = 50  # 10 ms frames: a piece under 0.5 s is too short to embed
PIECE_MAX = 100  # 1 s
# Clustering costs the cube of the pieces compared. A check's clip gives a few dozen; minutes of
# speech (``preflight fix``) embed every k-th piece of each local speaker, about this many, and the
# others' frames take the voice of the nearest embedded piece of their local speaker.
MAX_PIECES = 600
CAMPPLUS_DIM, GE2E_DIM = 192, 256
_BATCH = 32  # pieces an encoder takes at once
DIM = CAMPPLUS_DIM + GE2E_DIM  # a piece's fused embedding
GE2E_DBFS = -30.0  # the level GE2E's training audio was normalised to


@dataclass(frozen=True)
class Voices:
    """The speech of one audio, grouped by voice, and where two talk at once."""

    frames: np.ndarray  # speech frame index (10 ms each) of one speaker; a frame heard in two channels appears twice
    labels: np.ndarray  # voice per speech frame; 0 is the voice with the most speech
    windows: int  # pieces of speech compared
    similarity: float  # mean similarity of the two least alike groups of pieces (1.0: one piece)
    channels: int = 1  # channels heard apart (1: the mono mix)
    overlap: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))  # speech frames where two talk at once

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

    def overlap_seconds(self) -> float:
        """Time in which two talk at once."""
        return len(self.overlap) * FRAME_S

    def within(self, start: float, end: float) -> Voices:
        """The speech from ``start`` to ``end`` s, its voices numbered anew (0 speaks the most in
        it). The voices were told apart over the whole audio, so ``windows`` and ``similarity``
        stay the whole audio's: a window with no speech in it compared none."""
        keep = (self.frames * FRAME_S >= start) & (self.frames * FRAME_S < end)
        overlap = self.overlap[(self.overlap * FRAME_S >= start) & (self.overlap * FRAME_S < end)]
        if keep.all() and len(overlap) == len(self.overlap):
            return self
        labels = self.labels[keep]
        by_speech = np.argsort(-np.bincount(labels, minlength=self.count), kind="stable")
        renumber = np.empty(len(by_speech), dtype=int)
        renumber[by_speech] = np.arange(len(by_speech))
        return Voices(frames=self.frames[keep], labels=renumber[labels], windows=self.windows if keep.any() else 0,
                      similarity=self.similarity, channels=self.channels, overlap=overlap)


@dataclass(frozen=True)
class Pieces:
    """One track's speech cut where its local speaker changes (what the embeddings are taken of)."""

    frames: np.ndarray  # speech frames where one person talks (or the segmentation hears no one)
    piece: np.ndarray  # per such frame, the piece whose voice it takes (-1: no piece in the track)
    pieces: list[np.ndarray]  # the frames of each piece, 0.5-1 s
    overlap: np.ndarray  # speech frames where two talk at once


def voices(media: Media, vad_threshold: float, same_voice: float) -> Voices | None:
    """The voices in ``media``'s audio (None without audio), its pieces grouped at ``same_voice``;
    the pieces and their embeddings are computed once per source, whatever the limit."""
    found = embedded(media, vad_threshold)
    return None if found is None else assign(*found, same_voice)


def embedded(media: Media, vad_threshold: float) -> tuple[list[Pieces], list[np.ndarray]] | None:
    """Each track's pieces and their embeddings (None without audio), computed once per source."""
    activity = speech_activity(media, vad_threshold)
    if activity is None:
        return None
    audio = media.audio()

    def compute() -> tuple[list[Pieces], list[np.ndarray]]:
        tracks = tracks_of(audio, activity, vad_threshold)
        cut = [pieces(a, act) for a, act in tracks]
        return cut, [embed(a, p) for (a, _), p in zip(tracks, cut)]

    return media.shared(f"voices:{vad_threshold}", compute)


def tracks_of(audio: Audio, activity: SpeechActivity, vad_threshold: float) -> list[tuple[Audio, SpeechActivity]]:
    """The mix with its speech, or each channel with its own when the channels differ."""
    if audio.channels is not None and _channels_differ(audio.channels):
        return [(Audio(ch, audio.rate), detect(Audio(ch, audio.rate), vad_threshold)) for ch in audio.channels]
    return [(audio, activity)]


def pieces(audio: Audio, activity: SpeechActivity, heard: Segmentation | None = None) -> Pieces:
    """Cut ``audio``'s speech where its local speaker changes (see the module's docstring)."""
    heard = heard if heard is not None else segment(audio)
    speech = _speech_frames(activity, len(heard.chunk))
    talking = heard.active[speech]
    many = talking.sum(axis=1)
    overlap, frames = speech[many >= 2], speech[many < 2]
    solo = talking[many < 2]
    who = np.where(solo.any(axis=1), heard.chunk[frames] * 3 + solo.argmax(axis=1), -1)
    runs, start = [], 0
    for i in range(1, len(who) + 1):
        if i == len(who) or who[i] != who[start] or i - start == PIECE_MAX:
            if who[start] >= 0 and i - start >= PIECE_MIN:
                runs.append((start, i))
            start = i
    if len(runs) > MAX_PIECES:  # minutes of speech: every k-th piece of each local speaker
        every = -(-len(runs) // MAX_PIECES)
        kept: dict[int, list[tuple[int, int]]] = {}
        for run in runs:
            kept.setdefault(int(who[run[0]]), []).append(run)
        runs = sorted(run for mine in kept.values() for run in mine[::every])
    piece = np.full(len(frames), -1)
    for k, (a, b) in enumerate(runs):
        piece[a:b] = k
    embedded = np.flatnonzero(piece >= 0)
    if len(embedded):
        rest = np.flatnonzero(piece < 0)
        piece[rest] = piece[embedded[_nearest(embedded, rest)]]  # the nearest piece of anyone...
        for speaker in np.unique(who[rest]):  # ...unless one of the same local speaker is there
            if speaker < 0:
                continue
            mine = embedded[who[embedded] == speaker]
            if len(mine):
                these = rest[who[rest] == speaker]
                piece[these] = piece[mine[_nearest(mine, these)]]
    return Pieces(frames=frames, piece=piece, pieces=[frames[a:b] for a, b in runs], overlap=overlap)


def _nearest(pool: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """Index in the ascending ``pool`` of the element nearest each of ``positions`` (the earlier on a tie)."""
    right = np.clip(np.searchsorted(pool, positions), 0, len(pool) - 1)
    left = np.maximum(right - 1, 0)
    return np.where(np.abs(pool[left] - positions) <= np.abs(pool[right] - positions), left, right)


def embed(audio: Audio, cut: Pieces) -> np.ndarray:
    """Each piece's fused embedding, (pieces, 448): see the module's docstring."""
    return fuse(campplus(audio, cut), ge2e(audio, cut))


def fuse(*embeddings: np.ndarray) -> np.ndarray:
    """The encoders' embeddings of the same pieces, each made unit length, side by side and scaled
    so that the cosine of two rows is the mean of the encoders' cosines."""
    units = [e / np.maximum(np.linalg.norm(e, axis=1, keepdims=True), 1e-12) for e in embeddings]
    return np.hstack(units) / np.sqrt(len(units))


def campplus(audio: Audio, cut: Pieces) -> np.ndarray:
    """CAM++'s embedding of each piece, (pieces, 192), over its Kaldi fbank, the piece's mean subtracted."""
    if not cut.pieces:
        return np.zeros((0, CAMPPLUS_DIM), np.float32)
    features = fbank(np.clip(audio.samples, -1.0, 1.0), audio.rate)

    def run(frames: list[np.ndarray]) -> np.ndarray:
        x = np.stack([features[np.minimum(f, len(features) - 1)] for f in frames])
        return onnx.run_once("campplus.onnx", {"fbank": (x - x.mean(axis=1, keepdims=True)).astype(np.float32)})[0]

    return _by_length(cut.pieces, run, CAMPPLUS_DIM)


def ge2e(audio: Audio, cut: Pieces) -> np.ndarray:
    """GE2E's embedding of each piece, (pieces, 256): the mel power (40 bands, 25 ms every 10 ms)
    of the audio brought to -30 dBFS over the pieces' samples."""
    if not cut.pieces:
        return np.zeros((0, GE2E_DIM), np.float32)
    x = np.clip(audio.samples, -1.0, 1.0).astype(np.float32)
    hop = audio.rate // 100
    speech = np.concatenate([x[f * hop : f * hop + hop] for frames in cut.pieces for f in frames])
    level = float(np.sqrt(np.mean(speech.astype(np.float64) ** 2))) or 1.0
    mels = mel_power(x * np.float32(10 ** (GE2E_DBFS / 20) / level), audio.rate, n_fft=400, hop=hop, n_mels=40).T

    def run(frames: list[np.ndarray]) -> np.ndarray:
        return onnx.run_once("voice_encoder.onnx", {"mels": np.stack([mels[np.minimum(f, len(mels) - 1)] for f in frames])})[0]

    return _by_length(cut.pieces, run, GE2E_DIM)


def _by_length(pieces: list[np.ndarray], run: Callable[[list[np.ndarray]], np.ndarray], dim: int) -> np.ndarray:
    """``run`` over the pieces in batches of equal length (most are 1 s), in the pieces' order."""
    out = np.zeros((len(pieces), dim), np.float32)
    lengths = np.array([len(p) for p in pieces])
    for n in np.unique(lengths):
        same = np.flatnonzero(lengths == n)
        for i in range(0, len(same), _BATCH):
            batch = same[i : i + _BATCH]
            out[batch] = run([pieces[k] for k in batch])
    return out


def assign(cut: list[Pieces], embeddings: list[np.ndarray], same_voice: float) -> Voices:
    """The voices of the tracks' speech, their pieces grouped at ``same_voice``."""
    every = np.concatenate(embeddings) if embeddings else np.zeros((0, DIM))
    overlap = np.unique(np.concatenate([p.overlap for p in cut])) if cut else np.zeros(0, int)
    frames = np.concatenate([p.frames for p in cut]) if cut else np.zeros(0, int)
    if len(every) == 0:
        return Voices(frames=frames, labels=np.zeros(len(frames), int), windows=0, similarity=1.0,
                      channels=len(cut), overlap=overlap)
    piece_labels, similarity = _cluster(every, same_voice)
    raw, first = [], 0
    for p, e in zip(cut, embeddings):
        mine = piece_labels[first : first + len(e)]
        first += len(e)
        raw.append(mine[p.piece] if len(mine) else np.full(len(p.frames), -1))
    labels = np.concatenate(raw)
    # voice 0 speaks the most; a track without a piece of its own is taken for it
    order = np.argsort(-np.bincount(labels[labels >= 0], minlength=piece_labels.max() + 1), kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    return Voices(frames=frames, labels=np.where(labels >= 0, rank[np.maximum(labels, 0)], 0), windows=len(every),
                  similarity=similarity, channels=len(cut), overlap=overlap)


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
