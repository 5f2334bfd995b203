"""FrameSeq: frames that fill while the decoder runs; the streamed form keeps none."""

import threading
import weakref

import numpy as np
import pytest

from preflight.media import FrameSeq


def _frames(n: int) -> list[np.ndarray]:
    return [np.full((4, 6), i, np.uint8) for i in range(n)]


def test_kept_frames_can_be_read_again_and_stacked():
    seq = FrameSeq(6, 4, 1)
    for f in _frames(3):
        seq.push(f)
    seq.finish(None, rate=10.0)
    assert [int(f[0, 0]) for f in seq] == [0, 1, 2] == [int(f[0, 0]) for f in seq]
    assert seq.array().shape == (3, 4, 6) and int(seq[1][0, 0]) == 1
    assert seq.times.tolist() == [0.0, 0.1, 0.2]


def test_streamed_decoder_waits_while_the_buffer_is_full():
    seq = FrameSeq(6, 4, 1, streamed=True)
    pushed = []

    def decoder():
        for f in _frames(FrameSeq.STREAM_BUFFER + 3):
            seq.push(f)
            pushed.append(1)
        seq.finish(None, rate=10.0)

    thread = threading.Thread(target=decoder, daemon=True)
    thread.start()
    thread.join(0.5)
    assert thread.is_alive() and len(pushed) == FrameSeq.STREAM_BUFFER  # blocked: nobody reads
    got = [int(f[0, 0]) for f in seq]
    thread.join(5)
    assert got == list(range(FrameSeq.STREAM_BUFFER + 3)) and not thread.is_alive()
    assert len(seq) == FrameSeq.STREAM_BUFFER + 3 and len(seq.times) == len(seq)


def test_streamed_frames_are_let_go_once_read():
    seq = FrameSeq(6, 4, 1, streamed=True)
    frame = np.zeros((4, 6), np.uint8)
    ref = weakref.ref(frame)
    seq.push(frame)
    seq.finish(None, rate=10.0)
    del frame
    for got in seq:
        del got
    assert ref() is None


def test_streamed_frames_are_read_once_and_never_indexed():
    seq = FrameSeq(6, 4, 1, streamed=True)
    seq.finish(None, rate=10.0)
    list(seq)
    with pytest.raises(RuntimeError, match="read once"):
        list(seq)
    with pytest.raises(RuntimeError, match="keeps no frames"):
        seq.array()
    with pytest.raises(RuntimeError, match="keeps no frames"):
        seq[0]


def test_dropping_a_stream_frees_a_waiting_decoder_and_reader():
    seq = FrameSeq(6, 4, 1, streamed=True)
    for f in _frames(FrameSeq.STREAM_BUFFER):
        seq.push(f)
    blocked = threading.Thread(target=seq.push, args=(np.zeros((4, 6), np.uint8),), daemon=True)
    blocked.start()
    blocked.join(0.3)
    assert blocked.is_alive()
    seq.drop()
    blocked.join(5)
    assert not blocked.is_alive()
    assert [f for f in seq] == []  # the reader sees the end, not stale frames (list() would ask len() first, which waits)
    seq.finish(None, rate=10.0)
    assert len(seq) == FrameSeq.STREAM_BUFFER + 1  # still counted


def test_kept_frames_lie_in_blocks_that_release_lets_go_keeping_times_and_count(monkeypatch):
    seq = FrameSeq(6, 4, 1)
    monkeypatch.setattr(FrameSeq, "BLOCK_BYTES", 2 * seq.frame_bytes)  # two frames a block
    blocks = []
    for i in range(5):
        frame = seq.slot()
        frame[:] = i
        seq.push(frame)
        if frame.base is not None and all(b() is not frame.base for b in blocks):
            blocks.append(weakref.ref(frame.base))
        del frame
    seq.finish(None, rate=10.0)
    assert [int(f[0, 0]) for f in seq] == [0, 1, 2, 3, 4] and len(blocks) == 3
    seq.release()
    assert len(seq) == 5 and seq.times.tolist() == [0.0, 0.1, 0.2, 0.3, 0.4]
    assert all(b() is None for b in blocks)  # nothing holds a block: its memory went back
    for read in (lambda: seq[0], seq.array, lambda: next(iter(seq))):
        with pytest.raises(RuntimeError, match="released"):
            read()


def test_a_streamed_sequence_gives_each_frame_its_own_array():
    seq = FrameSeq(6, 4, 1, streamed=True)
    a, b = seq.slot(), seq.slot()
    assert a.base is None and b.base is None and a.shape == b.shape == (4, 6)
