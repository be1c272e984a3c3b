# The two commands of the README: `make demo` and `make test`. Both install what is missing
# first and are safe to run again:
#   - Debian packages: tesseract-ocr and dicom3tools (both targets), python3-venv when the
#     Python cannot make a virtual environment, chromium for `make test` (the review page's
#     browser test);
#   - a project virtual environment in .venv/ (a stock Debian 12 / Ubuntu 24.04 Python
#     refuses `pip install` outside one, PEP 668), holding this package and its test extra.
#     The install is redone only when pyproject.toml changed (the stamp .venv/.installed).
# Afterwards `deid` is .venv/bin/deid: `. .venv/bin/activate` puts it on the PATH.
PYTHON ?= python3
VENV ?= .venv
VENV_PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT_INSTALL := DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-upgrade
EXAMPLE_DIR := examples/export
DEMO_OUT := examples/export.deid
RUN_IN_VENV := PATH="$(abspath $(VENV))/bin:$$PATH"

.PHONY: setup system-deps test-system-deps python-deps venv-deps demo test test-all profiles \
	check-profiles lint bench

setup: system-deps python-deps

system-deps:
	@if ! command -v tesseract >/dev/null 2>&1 || ! command -v dciodvfy >/dev/null 2>&1; then \
		echo "Installing Debian packages tesseract-ocr and dicom3tools"; \
		$(SUDO) apt-get update -qq && $(APT_INSTALL) tesseract-ocr dicom3tools >/dev/null; \
	fi
	@tesseract --version >/dev/null 2>&1 || { echo "tesseract is still missing"; exit 1; }

# Only `make test` needs a browser (the review page is rendered by headless chromium) and the
# two real Orthanc servers of the PACS tests (orthanc, with its DICOMweb plugin).
test-system-deps: system-deps
	@if ! command -v chromium >/dev/null 2>&1; then \
		echo "Installing Debian package chromium (the review page's browser test)"; \
		$(SUDO) apt-get update -qq && $(APT_INSTALL) chromium >/dev/null; \
	fi
	@if ! [ -x /usr/sbin/Orthanc ] || ! [ -e /usr/share/orthanc/plugins/libOrthancDicomWeb.so ]; then \
		echo "Installing Debian packages orthanc and orthanc-dicomweb (the PACS tests' servers)"; \
		$(SUDO) apt-get update -qq && $(APT_INSTALL) orthanc orthanc-dicomweb >/dev/null; \
	fi

# Debian splits venv/ensurepip out of the interpreter (python3-venv); install it when this
# Python cannot make a virtual environment with pip in it.
venv-deps:
	@if ! $(PYTHON) -c 'import ensurepip, venv' >/dev/null 2>&1; then \
		version=$$($(PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])'); \
		echo "Installing Debian packages python3-venv python$$version-venv"; \
		$(SUDO) apt-get update -qq && $(APT_INSTALL) python3-venv "python$$version-venv" >/dev/null; \
	fi

$(VENV_PY): | venv-deps
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(VENV_PY)
	@echo "Installing deid and its test extra into $(VENV)/"
	@$(VENV_PY) -m pip install -q --disable-pip-version-check -e '.[test]'
	@touch $@

python-deps: $(STAMP)

$(EXAMPLE_DIR).complete: | $(STAMP)
	$(VENV_PY) examples/make_export.py $(EXAMPLE_DIR)

demo: setup $(EXAMPLE_DIR).complete
	@rc=0; $(RUN_IN_VENV) deid run recipes/research.yaml $(EXAMPLE_DIR) --out $(DEMO_OUT) || rc=$$?; \
	if [ $$rc -gt 1 ]; then exit $$rc; fi; \
	if [ $$rc -eq 1 ]; then echo "(exit 1 is expected: the example holds README.txt, which is not DICOM, so it is quarantined)"; fi
	$(RUN_IN_VENV) deid verify $(DEMO_OUT)
	@echo "Output: $(DEMO_OUT)/   ledger (keep private): $(DEMO_OUT).ledger/   summary again: .venv/bin/deid report $(DEMO_OUT).ledger"
	@echo "deid is in $(VENV)/bin: '. $(VENV)/bin/activate' puts it on your PATH"

test: setup test-system-deps
	$(RUN_IN_VENV) $(VENV_PY) -m pytest -q

test-all: setup test-system-deps
	$(RUN_IN_VENV) $(VENV_PY) -m pytest -q -m ''

profiles: $(STAMP)
	$(VENV_PY) scripts/generate_profiles.py --out profiles

check-profiles: $(STAMP)
	$(VENV_PY) scripts/generate_profiles.py --out profiles --check

lint: $(STAMP)
	$(VENV_PY) -m ruff check .
	$(VENV_PY) -m ruff format --check .
	$(VENV_PY) -m mypy deid scripts
	$(VENV)/bin/lint-imports

bench: setup
	$(RUN_IN_VENV) $(VENV_PY) benchmarks/throughput.py
	$(RUN_IN_VENV) $(VENV_PY) benchmarks/ocr.py
