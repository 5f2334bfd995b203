"""What judges a verdict: found once per process, in the background while a check runs."""

import threading

from preflight import version


def test_judges_are_found_once_however_many_ask_at_once():
    version._judges.cache_clear()
    found = []
    askers = [threading.Thread(target=lambda: found.append(version.judges())) for _ in range(4)]
    version.start_judges()
    for t in askers:
        t.start()
    for t in askers:
        t.join(30)
    assert len(found) == 4 and all(f == found[0] for f in found)
    assert version._judges.cache_info().misses == 1
    assert found[0]["ffmpeg"] not in ("missing", "unknown") and len(found[0]["models"]) == 12
