#!/usr/bin/env bash
# The fast part of the suite (the tests not marked slow) on Python 3.13 (audioop is gone there; pydub needs audioop-lts),
# when a 3.13 interpreter is on this machine. The full suite runs on the main interpreter.
set -euo pipefail
cd "$(dirname "$0")/.."
py=""
for candidate in "$(command -v python3.13 || true)" /usr/bin/python3.13 "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.13*/bin/python3.13; do
  if [ -n "$candidate" ] && [ -x "$candidate" ] && "$candidate" -c 'import sys; assert sys.version_info[:2] == (3, 13)' 2>/dev/null; then
    py=$candidate
    break
  fi
done
if [ -z "$py" ]; then
  echo "python3.13 not found: the 3.13 run is skipped"
  exit 0
fi
venv=.venv-3.13
if [ ! -x "$venv/bin/python" ] || [ pyproject.toml -nt "$venv/.installed" ]; then
  "$py" -m venv "$venv"
  if ! "$venv/bin/python" -m pip install --quiet -e ".[test]"; then
    echo "WARNING: could not install preflight on Python 3.13 here (see pip's message above); the 3.13 run is skipped" >&2
    exit 0
  fi
  touch "$venv/.installed"
fi
# The tests not marked slow (pyproject.toml's markers): the same set as `make test-fast`.
"$venv/bin/python" -m pytest -q -p no:cacheprovider -n "${TEST_JOBS:-2}" --dist loadfile -m "not slow"
