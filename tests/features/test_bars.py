import numpy as np

from preflight.features.bars import inside_bars


def frames(height: int, width: int, picture: tuple[int, int, int, int], n: int = 3) -> np.ndarray:
    rng = np.random.default_rng(0)
    out = np.zeros((n, height, width, 3), np.uint8)
    x0, y0, x1, y1 = picture
    out[:, y0:y1, x0:x1] = rng.integers(30, 255, (n, y1 - y0, x1 - x0, 3))
    return out


def test_letterbox_and_pillarbox_bars_are_found():
    assert inside_bars(frames(360, 640, (0, 40, 640, 320))) == (0, 40, 640, 320)
    assert inside_bars(frames(360, 640, (80, 0, 560, 360))) == (80, 0, 560, 360)


def test_a_black_sliver_is_an_encoders_edge_not_a_bar():
    assert inside_bars(frames(360, 640, (0, 4, 640, 360))) == (0, 0, 640, 360)  # 4 rows: 1% of the height


def test_a_bar_ends_where_any_frame_lights_a_pixel():
    f = frames(360, 640, (0, 40, 640, 320))
    f[1, 10, 300] = 200  # one frame lights a pixel in row 10 of the top bar
    assert inside_bars(f)[1] == 10
