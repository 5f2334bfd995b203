"""Who speaks when, locally: pyannote's segmentation-3.0 (``models/segmentation.onnx``) over 10 s
chunks of the audio.

The model hears a 10 s chunk and says, every 16.875 ms, which of up to three speakers of that
chunk talk: none, one, or two at once (its 7 "powerset" classes; the most likely is taken, as
pyannote does). Speakers are numbered per chunk, in no order, so a chunk's "speaker 2" need not be
the next chunk's; :mod:`preflight.features.voices` tells by their embeddings which are one voice.
Chunks start every 2.5 s (the last one ends with the audio; audio shorter than 10 s is padded
with silence), and each 10 ms frame takes its speakers from the chunk it lies most centrally in:
the model hears each moment with at least 3.75 s on either side where the audio allows.
Reference: Plaquet and Bredin, "Powerset multi-class cross entropy loss for neural speaker
diarization", Interspeech 2023; Bredin, "pyannote.audio 2.1 speaker diarization pipeline", 2023.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from preflight.features import onnx
from preflight.media import Audio

RATE = 16_000
CHUNK = 10 * RATE
STEP_S = 2.5
# Minutes of audio (``preflight fix``): the step widens so that about this many chunks cover it
# (10 minutes: a chunk every 9.4 s), but never past 10 s, which would leave frames unheard.
MAX_CHUNKS = 64
FRAME_S = 0.01  # the 10 ms frames the rest of the voice features count in
_MODEL_STEP_S = 0.016875  # segmentation-3.0's frame step and its first frame's centre (its receptive field's)
_MODEL_CENTRE_S = 0.0619375 / 2
# powerset class -> the local speakers it says talk (pyannote's order: none, 1, 2, 3, 1+2, 1+3, 2+3)
POWERSET = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0], [1, 0, 1], [0, 1, 1]], dtype=bool)
_BATCH = 8


@dataclass(frozen=True)
class Segmentation:
    """Per 10 ms frame of one audio, the chunk it was heard in and the local speakers talking."""

    chunk: np.ndarray  # the chunk each frame takes its speakers from (frames,)
    active: np.ndarray  # (frames, 3) bool: which of that chunk's three speakers talk
    chunks: int  # chunks heard

    def speakers(self, frames: np.ndarray) -> np.ndarray:
        """How many talk at each of ``frames``."""
        return self.active[frames].sum(axis=1)


def segment(audio: Audio) -> Segmentation:
    """The local speakers of ``audio`` (16 kHz mono) in every 10 ms frame."""
    x = np.clip(audio.samples, -1.0, 1.0).astype(np.float32)
    n_frames = int(len(x) / RATE / FRAME_S)
    starts = chunk_starts(len(x))
    padded = np.pad(x, (0, max(0, CHUNK - len(x))))
    batches = ({"waveforms": np.stack([padded[s : s + CHUNK] for s in starts[i : i + _BATCH]])[:, None, :]}
               for i in range(0, len(starts), _BATCH))
    outs = onnx.run_all("segmentation.onnx", batches)
    per_chunk = np.concatenate([out[0].argmax(axis=2) for out in outs])  # (chunks, model frames)
    times = (np.arange(n_frames) + 0.5) * FRAME_S
    start_s = np.array(starts) / RATE
    # the chunk in which each frame lies most centrally
    chunk = np.abs(times[:, None] - (start_s[None, :] + CHUNK / RATE / 2)).argmin(axis=1)
    local = np.clip(np.round((times - start_s[chunk] - _MODEL_CENTRE_S) / _MODEL_STEP_S).astype(int), 0,
                    per_chunk.shape[1] - 1)
    return Segmentation(chunk=chunk, active=POWERSET[per_chunk[chunk, local]], chunks=len(starts))


def chunk_starts(samples: int) -> list[int]:
    """Where the 10 s chunks start (samples): every 2.5 s (wider for minutes of audio), the last
    one ending with the audio."""
    if samples <= CHUNK:
        return [0]
    step = min(CHUNK, max(int(STEP_S * RATE), -(-(samples - CHUNK) // (MAX_CHUNKS - 1))))
    starts = list(range(0, samples - CHUNK + 1, step))
    if starts[-1] != samples - CHUNK:
        starts.append(samples - CHUNK)
    return starts
