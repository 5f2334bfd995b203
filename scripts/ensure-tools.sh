#!/usr/bin/env bash
# Installs the system programs preflight and its fixtures need, when missing and when we may.
set -euo pipefail
need=()
command -v ffmpeg >/dev/null && command -v ffprobe >/dev/null || need+=(ffmpeg)
command -v espeak-ng >/dev/null || need+=(espeak-ng)
command -v sox >/dev/null || need+=(sox)
# the OpenCV wheel mediapipe pulls in (not the headless one) links these at import
has_lib() { ldconfig -p 2>/dev/null | grep -q "$1" || [ -e "/usr/lib/x86_64-linux-gnu/$1" ] || [ -e "/usr/lib/aarch64-linux-gnu/$1" ]; }
has_lib libGL.so.1 || need+=(libgl1)
has_lib libgthread-2.0.so.0 || need+=(libglib2.0-0)
# the overlay fixtures draw text with ffmpeg drawtext, which needs a font
[ -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || need+=(fonts-dejavu-core)
# the tests open the batch's HTML report in a headless browser
[ "${1:-}" != "--test" ] || command -v chromium >/dev/null || need+=(chromium)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
  echo "installing ${need[*]} with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
else
  echo "preflight needs: ${need[*]}. Install them, e.g. 'sudo apt-get install ${need[*]}' (or 'brew install ffmpeg espeak-ng sox')" >&2
  exit 1
fi
