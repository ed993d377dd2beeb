# The README's two commands: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: demo test test-clocks lint types imports unit workflows contract bench package screenshots clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $@ $(VENV)/.installed

$(VENV)/.installed-package: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[package]'
	touch $@ $(VENV)/.installed

demo: $(VENV)/.installed
	$(BIN)/pbx-companion --demo

test: $(VENV)/.installed-test
	$(MAKE) lint types imports unit workflows

lint:
	$(BIN)/ruff check app tests build
	$(BIN)/ruff format --check app tests build

types:
	$(BIN)/mypy

imports:
	$(BIN)/lint-imports

unit:
	$(BIN)/pytest

# The release workflow holds the signing keys: zizmor fails on any finding (an action not pinned
# to a commit SHA, a cache in a job that signs or publishes, checkout credentials left behind).
# Offline: no network, no GitHub token.
workflows:
	$(BIN)/zizmor --offline --no-progress .github/workflows/

# The suite again under two shifted process clocks (libfaketime), to prove no test depends on
# the real date, weekday, time of day or zone: a Sunday night in UTC seen from Los Angeles, and
# Monday 07:00 in Pacific/Auckland seen from a laptop in India. CI runs it after `make test`.
# The screenshot renders (marker "display": real windows in Xvfb, checked for fit, not words)
# are left out here: the same panes' words and times are asserted by their offscreen tests,
# which do run under both clocks, and the renders would add ten minutes to CI twice over.
# Left out too, to keep CI under its 45 minutes: the hostile PBX suite (sockets that stall,
# close or flood; no date, time of day or zone in any of it) and the 1 GB-scale streaming test
# (bounded memory, not dates; the same reader's dated cases run in the rest of the file).
CLOCK_TESTS := $(BIN)/pytest -q -m "not display" --ignore=tests/hostile \
	--deselect tests/services/reconcile/test_bridge_log.py::test_a_large_log_is_streamed_in_bounded_memory
test-clocks: $(VENV)/.installed-test
	build/shifted_clock.sh 2026-12-06T23:30:00Z America/Los_Angeles $(CLOCK_TESTS)
	build/shifted_clock.sh 2026-12-06T18:00:00Z Asia/Kolkata $(CLOCK_TESTS)

# Measured figures, each beside the naive approach in the same run (printed, not asserted),
# and written to build/bench.json (value, unit, baseline, ratio) for scripts to read.
bench: $(VENV)/.installed-test
	$(BIN)/python build/bench.py

# The README's two pictures, rendered again from the demo under Xvfb (light, and dark mode).
SHOTS := $(or $(PBX_TEST_ARTIFACTS),test-artifacts)/screenshots
screenshots: $(VENV)/.installed-test
	$(BIN)/pytest -q tests/ui/shell/test_main_window.py::test_the_readme_screenshot_fits_a_laptop_screen tests/ui/test_theme.py::test_the_window_in_dark_mode
	mkdir -p docs/screenshots
	cp $(SHOTS)/main-window-1366.png $(SHOTS)/main-window-dark.png docs/screenshots/

# Regenerate the trimmed XAPI contract from 3CX's full spec (needs ../shared).
contract: $(VENV)/.installed-test
	$(BIN)/python build/extract_xapi_contract.py ../shared/3cx/xapi-v20-swagger.yaml tests/contract/xapi-v20-contract.json

# The frozen app for this system (PyInstaller one-dir under build/dist), then its own
# --self-test and its size against the 150 MB target. CI runs it before the tests. On Linux the
# self-test runs against a private Secret Service started by the tests' support code.
package: $(VENV)/.installed-package $(VENV)/.installed-test
	$(BIN)/python build/package.py --self-test --max-mb 150

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
