"""A stand-in for the pool's worker function (``Pool(worker=...)``), for tests/test_batch.py: it
imports nothing of preflight until it has said it is ready, so its start takes what it sleeps."""

import time

READY = "ready"  # preflight.batch.pool.READY, which the test checks it equals
START_S, SET_S = 4.0, 2.0


def slow_to_start(conn, policy_json: str) -> None:
    """Ready after START_S; then each set takes SET_S (and, the first, preflight's imports)."""
    time.sleep(START_S)
    conn.send(READY)
    from preflight.batch.pool import Failed

    while conn.recv() is not None:
        time.sleep(SET_S)
        conn.send(Failed("answered"))
