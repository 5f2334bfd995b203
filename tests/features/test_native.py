"""mediapipe imported without the parts of its package the project never calls."""

import subprocess
import sys


def test_mediapipe_tasks_leave_matplotlib_and_the_audio_tasks_unimported_and_detect_faces():
    code = (
        "import sys, numpy as np\n"
        "from preflight.features.native import mediapipe_tasks\n"
        "from preflight.features.faces import _best\n"
        "mp, BaseOptions, vision = mediapipe_tasks()\n"
        "assert vision.FaceDetectorOptions and vision.FaceLandmarkerOptions and mp.Image\n"
        "score, box = _best(np.zeros((256, 256, 3), np.uint8))\n"
        "assert box is None and score == 0\n"
        "print(sorted(m for m in ('matplotlib', 'sounddevice', 'PIL') if m in sys.modules))\n"
        # read from a deferred module: its body runs then, and it works as imported plainly
        "from mediapipe.tasks.python.vision import drawing_utils\n"
        "print(callable(drawing_utils.draw_landmarks), 'matplotlib' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split("\n")[:2] == ["[]", "True True"]
