"""Who speaks when: the speech is cut into 1.6 s windows, each window becomes a speaker
embedding, and the windows are grouped into voices.

Embeddings come from Resemblyzer's GE2E voice encoder (``models/voice_encoder.onnx``; 3 LSTM
layers over 40 mel bands, 256-d, L2-normalised): windows of one voice sit close together
(cosine similarity 0.7-0.95 on the labelled recordings), windows of two voices further apart.
The front end follows the encoder's training: the audio normalised to -30 dBFS over its speech,
librosa's mel power spectrogram (40 bands, 25 ms windows, 10 ms hop; computed by
:mod:`preflight.features.mel`). Only the VAD's speech frames enter the windows, which start
every 0.4 s of speech.

Windows are grouped by average-linkage agglomerative clustering on cosine distance, cut where
the groups' mean similarity falls below ``same_voice``. Each speech frame takes the voice of the
nearest window centre; voice 0 is the one with the most speech.
References: Wan et al., "Generalized End-to-End Loss for Speaker Verification", ICASSP 2018;
Resemble AI, "Resemblyzer", https://github.com/resemble-ai/Resemblyzer.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from preflight.features import onnx
from preflight.features.mel import mel_power
from preflight.features.vad import SpeechActivity, speech_activity
from preflight.media import Audio, Media

HOP = 160  # samples at 16 kHz: 10 ms frames
FRAME_S = HOP / 16_000
WINDOW_FRAMES = 160  # 1.6 s of speech per embedding, as the encoder was trained
STEP_FRAMES = 40
TARGET_DBFS = -30.0


@dataclass(frozen=True)
class Voices:
    """The speech of one audio, grouped by voice."""

    frames: np.ndarray  # speech frame index (10 ms each)
    labels: np.ndarray  # voice per speech frame; 0 is the voice with the most speech
    windows: int  # embeddings compared
    similarity: float  # mean similarity of the two least alike groups of windows (1.0: one window)

    @property
    def count(self) -> int:
        return int(self.labels.max()) + 1 if len(self.labels) else 0

    def seconds(self, voice: int) -> float:
        return float(np.count_nonzero(self.labels == voice)) * FRAME_S

    def times(self, voice: int) -> np.ndarray:
        """Start times (seconds) of the 10 ms frames spoken by ``voice``."""
        return self.frames[self.labels == voice] * FRAME_S


def voices(media: Media, vad_threshold: float, same_voice: float) -> Voices | None:
    """The voices in ``media``'s audio (None without audio); computed once per source."""
    activity = speech_activity(media, vad_threshold)
    if activity is None:
        return None
    audio = media.audio()
    return media.shared(f"voices:{vad_threshold}:{same_voice}", lambda: group(audio, activity, same_voice))


def group(audio: Audio, activity: SpeechActivity, same_voice: float) -> Voices:
    mels = _mel_frames(audio, activity)
    speech = _speech_frames(activity, len(mels))
    if len(speech) < WINDOW_FRAMES:
        return Voices(frames=speech, labels=np.zeros(len(speech), int), windows=0, similarity=1.0)
    starts = list(range(0, len(speech) - WINDOW_FRAMES + 1, STEP_FRAMES))
    if starts[-1] != len(speech) - WINDOW_FRAMES:
        starts.append(len(speech) - WINDOW_FRAMES)  # the tail gets a window of its own
    batch = np.stack([mels[speech[s : s + WINDOW_FRAMES]] for s in starts]).astype(np.float32)
    embeddings = onnx.session("voice_encoder.onnx").run(None, {"mels": batch})[0]
    window_labels, similarity = _cluster(embeddings, same_voice)
    centres = np.array(starts) + WINDOW_FRAMES // 2
    nearest = np.abs(np.arange(len(speech))[:, None] - centres[None, :]).argmin(axis=1)
    labels = window_labels[nearest]
    order = np.argsort(-np.bincount(labels))  # voice 0 speaks the most
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    return Voices(frames=speech, labels=rank[labels], windows=len(starts), similarity=similarity)


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
    """Voice per window and the similarity at which the last two groups would merge."""
    if len(embeddings) == 1:
        return np.zeros(1, dtype=int), 1.0
    from scipy.cluster.hierarchy import fcluster, linkage

    tree = linkage(embeddings.astype(np.float64), method="average", metric="cosine")
    labels = fcluster(tree, t=1.0 - same_voice, criterion="distance") - 1
    return labels, round(float(1.0 - tree[-1, 2]), 3)
