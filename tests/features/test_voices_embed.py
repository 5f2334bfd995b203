"""voices: each piece's embeddings come out in the pieces' order whether the encoders take them in
batches of equal length or one at a time; the fused embedding holds both encoders'."""

import subprocess

import numpy as np
from conftest import FIXTURES

from preflight.features import voices
from preflight.media import Audio


def test_batched_embeddings_equal_one_at_a_time_in_order(monkeypatch):
    raw = subprocess.run(["ffmpeg", "-loglevel", "error", "-i", str(FIXTURES / "voice_a.wav"), "-f", "f32le", "-ac", "1",
                          "-ar", "16000", "-"], capture_output=True, check=True).stdout
    audio = Audio(np.frombuffer(raw, np.float32).copy())
    # pieces of 1 s, 0.6 s and 0.8 s, interleaved, as the cuts leave them
    spans = [(0, 100), (100, 160), (160, 260), (260, 340), (340, 440), (440, 500)]
    pieces = [np.arange(a, b) for a, b in spans]
    frames = np.arange(500)
    cut = voices.Pieces(frames=frames, piece=np.searchsorted([b for _, b in spans], frames, side="right"),
                        pieces=pieces, overlap=np.zeros(0, int))
    together = {encoder: encoder(audio, cut) for encoder in (voices.campplus, voices.ge2e)}
    monkeypatch.setattr(voices, "_BATCH", 1)
    for encoder, batched in together.items():
        alone = encoder(audio, cut)
        assert batched.shape == alone.shape == (len(pieces), alone.shape[1]) and np.allclose(batched, alone, atol=1e-5)
        assert not np.allclose(alone[0], alone[1], atol=1e-3)  # pieces differ, so their order shows
        empty = voices.Pieces(frames=frames, piece=np.full(len(frames), -1), pieces=[], overlap=cut.overlap)
        assert encoder(audio, empty).shape == (0, alone.shape[1])
    fused = voices.embed(audio, cut)
    assert fused.shape == (len(pieces), voices.DIM) and np.allclose(np.linalg.norm(fused, axis=1), 1.0, atol=1e-6)
