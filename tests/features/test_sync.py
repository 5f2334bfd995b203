"""The lip-sync features on synthetic arrays."""

import numpy as np

from preflight.features import onnx, sync


def test_the_visual_encoder_in_overlapping_chunks_equals_one_run():
    # Smooth random crops (a blurred picture moving a little each frame), as real mouth crops are;
    # more frames than two chunks hold, so that a chunk has context on both sides.
    rng = np.random.default_rng(7)
    base = rng.integers(0, 255, (120, 140)).astype(np.float32)
    n = 2 * sync._CHUNK + 30
    crops = np.stack([np.roll(base, (i % 9, i // 3), axis=(0, 1))[:112, :112] for i in range(n)])
    whole = onnx.session("light_asd_visual.onnx").run(None, {"crops": crops[None]})[0][0]
    chunked = sync._visual_embedding(crops)
    assert chunked.shape == whole.shape
    np.testing.assert_allclose(chunked, whole, rtol=0, atol=1e-5)


def test_too_few_frames_for_two_chunks_run_once():
    crops = np.full((30, 112, 112), 110, np.float32)
    whole = onnx.session("light_asd_visual.onnx").run(None, {"crops": crops[None]})[0][0]
    np.testing.assert_array_equal(sync._visual_embedding(crops), whole)
