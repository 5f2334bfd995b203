"""graphics: flat regions of one colour, with how flat, how colourful and how sharply bordered they are."""

import cv2
import numpy as np

from preflight.features.graphics import flat_regions


def test_a_drawn_disc_is_one_flat_colourful_sharply_bordered_region_and_a_filmed_wall_is_not():
    rng = np.random.default_rng(0)
    # a wall as a camera films it: light falling off across it, sensor noise on top
    wall = np.linspace(80, 160, 640)[None, :, None] * np.ones((480, 1, 3))
    picture = np.clip(wall + rng.normal(0, 3, wall.shape), 0, 255).astype(np.uint8)
    assert all(r.spread > 3 or r.contrast < 30 for r in flat_regions(picture))
    cv2.circle(picture, (100, 100), 30, (200, 40, 40), -1)
    [disc] = [r for r in flat_regions(picture) if r.spread <= 3 and r.contrast >= 30]
    assert abs(disc.x + disc.width / 2 - 100) <= 2 and abs(disc.y + disc.height / 2 - 100) <= 2
    assert disc.colour >= 150 and not disc.edge


def test_boxes_are_in_the_given_pictures_pixels():
    picture = np.full((1080, 1920, 3), 128, np.uint8)
    picture += np.random.default_rng(1).integers(0, 6, picture.shape, dtype=np.uint8)
    picture[100:200, 1600:1800] = (250, 200, 0)
    [bar] = [r for r in flat_regions(picture) if r.colour >= 100]
    assert abs(bar.x - 1600) <= 6 and abs(bar.width - 200) <= 12 and abs(bar.y - 100) <= 6
