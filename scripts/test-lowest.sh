#!/usr/bin/env bash
# The fast part of the suite (the tests not marked slow) on the lowest versions pyproject.toml allows, so that its floors are
# proven rather than hoped. .ci/lowest.txt pins them (direct dependencies at their floors, the
# rest at their newest), made on Python 3.11 by
#   uv pip compile pyproject.toml --extra test --resolution lowest-direct --python-version 3.11 \
#       --no-header --no-annotate -o .ci/lowest.txt
# and remade whenever a floor changes (tests/test_packaging.py holds the two together).
set -euo pipefail
cd "$(dirname "$0")/.."
py=""
for candidate in "${PY:-python3}" python3.11 /usr/bin/python3.11 "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.11*/bin/python3.11; do
  if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c 'import sys; assert sys.version_info[:2] == (3, 11)' 2>/dev/null; then
    py=$candidate
    break
  fi
done
if [ -z "$py" ]; then
  echo "test-lowest: no Python 3.11 here (the pins in .ci/lowest.txt are for 3.11)" >&2
  exit 1
fi
venv=.venv-lowest
if [ ! -x "$venv/bin/python" ] || [ .ci/lowest.txt -nt "$venv/.installed" ] || [ pyproject.toml -nt "$venv/.installed" ]; then
  rm -rf "$venv"
  "$py" -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --upgrade pip
  "$venv/bin/python" -m pip install --quiet -r .ci/lowest.txt
  "$venv/bin/python" -m pip install --quiet --no-deps -e .
  touch "$venv/.installed"
fi
"$venv/bin/python" -m pip check
# The tests not marked slow (pyproject.toml's markers): the same set as `make test-fast`.
"$venv/bin/python" -m pytest -q -p no:cacheprovider -n "${TEST_JOBS:-2}" --dist loadfile -m "not slow"
