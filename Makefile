# Entry points for a fresh machine: `make demo`, `make test` (everything) and `make test-fast` (the tests
# not marked slow). Each bootstraps what it needs.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
FIXTURES := fixtures/out/.done
# The suite runs in TEST_JOBS processes (pytest-xdist), each test file whole in one of them, so the
# reports a file's tests share are made once; 2 fits two cores (about 2 GB each at most).
TEST_JOBS ?= 2
PYTEST_JOBS := -n $(TEST_JOBS) --dist loadfile

.PHONY: demo test test-fast test-python313 test-lowest bench bytecode fixtures ffmpeg schema clean

demo: $(STAMP) bytecode $(FIXTURES)
	@echo "== a good talking-head clip"; $(BIN)/preflight check fixtures/out/talking_head.mp4 || true
	@echo; echo "== a clip with a hard cut"; $(BIN)/preflight check fixtures/out/cut.mp4 || true
	@echo; echo "== an image and a voice audio as one source set"; $(BIN)/preflight check --image fixtures/out/face.png --audio fixtures/out/speech.wav || true
	@echo; echo "== the same as JSON (first lines)"; $(BIN)/preflight check fixtures/out/no_audio.mp4 --format json | head -n 12 || true
	@echo; echo "== a folder of three source sets, checked in parallel, with an HTML report"
	@mkdir -p fixtures/out/demo && cp fixtures/out/talking_head.mp4 fixtures/out/cut.mp4 fixtures/out/demo/ \
		&& cp fixtures/out/face.png fixtures/out/demo/ada.png && cp fixtures/out/speech.wav fixtures/out/demo/ada.wav
	@$(BIN)/preflight batch fixtures/out/demo --report fixtures/out/demo-report.html || true
	@echo; echo "== what \`create\` would send to Mosaic for a GO clip (dry run: no key, no request)"; $(BIN)/preflight create --name Demo --video fixtures/out/talking_head.mp4 --dry-run | tail -n 6 || true

# Everything: the shared media, the Dask cluster and the other slow end-to-end runs too.
test: $(STAMP) bytecode $(FIXTURES)
	@bash scripts/ensure-tools.sh --test
	$(BIN)/python -m pytest -q $(PYTEST_JOBS) --durations=15

# The tests not marked slow (pyproject.toml's markers): 2-3 minutes on two idle cores, by the host.
test-fast: $(STAMP) bytecode $(FIXTURES)
	@bash scripts/ensure-tools.sh --test
	$(BIN)/python -m pytest -q $(PYTEST_JOBS) -m "not slow" --durations=10

# The fast tests on Python 3.13 (in .venv-3.13), when a 3.13 interpreter is on this machine.
test-python313: $(STAMP) $(FIXTURES)
	@bash scripts/ensure-tools.sh --test
	@TEST_JOBS=$(TEST_JOBS) bash scripts/test-python313.sh

# The fast tests on the lowest versions pyproject.toml allows (.ci/lowest.txt), in .venv-lowest.
test-lowest: $(STAMP) $(FIXTURES)
	@bash scripts/ensure-tools.sh --test
	@TEST_JOBS=$(TEST_JOBS) bash scripts/test-lowest.sh

bench: $(STAMP) bytecode
	$(BIN)/python bench/floor.py
	$(BIN)/python bench/audio.py
	$(BIN)/python bench/voices.py
	$(BIN)/python bench/batch.py
	$(BIN)/python bench/fix.py

fixtures: $(FIXTURES)

# The package's modules compiled ahead, as a pip install (not an editable one) leaves them: where
# PYTHONDONTWRITEBYTECODE is set, every process would otherwise compile them again (about 0.1 CPU-s
# each: the console script, batch workers, the suite's processes). Only changed files are redone.
bytecode: $(STAMP)
	@$(BIN)/python -m compileall -q preflight

$(FIXTURES): $(STAMP) fixtures/make_fixtures.py
	$(BIN)/python fixtures/make_fixtures.py

ffmpeg:
	@bash scripts/ensure-tools.sh

$(STAMP): pyproject.toml | ffmpeg
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

clean:
	rm -rf $(VENV) .venv-lowest fixtures/out .pytest_cache

schema: $(STAMP)
	$(BIN)/preflight schema > schema/report.schema.json
