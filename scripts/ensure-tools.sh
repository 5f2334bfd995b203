#!/usr/bin/env bash
# Installs the system programs preflight and its fixtures need, when missing and when we may.
set -euo pipefail
need=()
command -v ffmpeg >/dev/null && command -v ffprobe >/dev/null || need+=(ffmpeg)
command -v espeak-ng >/dev/null || need+=(espeak-ng)
command -v sox >/dev/null || need+=(sox)
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
