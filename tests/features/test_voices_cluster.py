"""voices: the numpy average-linkage grouping equals scipy's on random and on voice-like embeddings;
minutes of audio cost a bounded number of segmentation chunks."""

import numpy as np
import pytest

from preflight.features.voices import _cluster

hierarchy = pytest.importorskip("scipy.cluster.hierarchy")  # a test dependency (librosa, scikit-image need it)


def _scipy(embeddings: np.ndarray, same_voice: float) -> tuple[np.ndarray, float]:
    tree = hierarchy.linkage(embeddings.astype(np.float64), method="average", metric="cosine")
    return hierarchy.fcluster(tree, t=1.0 - same_voice, criterion="distance") - 1, round(float(1.0 - tree[-1, 2]), 3)


def _same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    return all(len(set(b[a == k])) == 1 for k in set(a)) and len(set(a)) == len(set(b))


@pytest.mark.parametrize("seed", range(12))
def test_the_grouping_equals_scipys(seed):
    rng = np.random.default_rng(seed)
    # two or three "voices": embeddings scattered around a few directions, as speaker embeddings are
    centres = rng.normal(size=(rng.integers(1, 4), 256))
    n = int(rng.integers(2, 120))
    x = np.abs(centres[rng.integers(0, len(centres), n)] + rng.normal(scale=rng.uniform(0.3, 1.5), size=(n, 256)))
    for same_voice in (0.5, 0.67, 0.8):
        ours, ours_last = _cluster(x, same_voice)
        theirs, theirs_last = _scipy(x, same_voice)
        assert _same_partition(ours, theirs) and ours_last == pytest.approx(theirs_last, abs=1e-3)


def test_one_window_is_one_voice():
    labels, similarity = _cluster(np.ones((1, 4)), 0.67)
    assert labels.tolist() == [0] and similarity == 1.0


def test_the_checks_run_without_scipy(fixture_path):
    # scipy is a test dependency only (the reference this is compared with), never a run-time one
    import subprocess
    import sys

    code = ("import sys; sys.modules['scipy'] = None; import preflight; "
            "r = preflight.check(sys.argv[1]); print([c.status.value for c in r.checks if c.id == 'single_speaker'])")
    run = subprocess.run([sys.executable, "-c", code, str(fixture_path("two_voices.wav"))],
                         capture_output=True, text=True, timeout=300)
    # two espeak-ng voices: flagged, a warning at least (they are alike in CAM++)
    assert run.returncode == 0 and run.stdout.strip() in ("['fail']", "['warn']"), run.stderr[-2000:]


def test_minutes_of_audio_are_heard_in_a_bounded_number_of_chunks():
    from preflight.features.segmentation import CHUNK, MAX_CHUNKS, RATE, chunk_starts

    assert chunk_starts(5 * RATE) == [0] and chunk_starts(CHUNK) == [0]
    assert chunk_starts(15 * RATE) == [0, 40_000, 80_000]  # every 2.5 s, the last ending with the audio
    for minutes in (1, 10, 60):
        starts = chunk_starts(minutes * 60 * RATE)
        gaps = np.diff(starts)
        assert starts[-1] + CHUNK == minutes * 60 * RATE and gaps.max() <= CHUNK  # every frame is heard
        assert len(starts) <= max(MAX_CHUNKS + 1, -(-(minutes * 60 * RATE - CHUNK) // CHUNK) + 1)


def test_minutes_of_speech_embed_a_bounded_number_of_pieces():
    import time

    from preflight.features import voices
    from preflight.features.segmentation import Segmentation
    from preflight.features.vad import SpeechActivity
    from preflight.media import Audio

    n = 60_000  # ten minutes of 10 ms frames: two local speakers taking 0.7 s turns, in 64 chunks
    active = np.zeros((n, 3), bool)
    active[np.arange(n), (np.arange(n) // 70) % 2] = True
    heard = Segmentation(chunk=np.arange(n) // 940, active=active, chunks=64)
    activity = SpeechActivity(np.ones(0), [(0.0, 600.0)], 600.0)
    start = time.process_time()
    cut = voices.pieces(Audio(np.zeros(10, np.float32)), activity, heard)
    assert time.process_time() - start < 5  # the frames without a piece find one at once, not one by one
    assert len(cut.pieces) <= voices.MAX_PIECES and (cut.piece >= 0).all()
    # a frame takes a piece of its own local speaker
    own = np.array([cut.pieces[p][0] for p in cut.piece])
    assert (active[own].argmax(axis=1) == active[cut.frames].argmax(axis=1)).mean() > 0.99
