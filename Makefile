# The two commands of the README: `make demo` and `make test`. Both install what is missing
# first (Debian's tesseract-ocr and dicom3tools, then this package with its test extra) and
# are safe to run again.
PYTHON ?= python3
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
EXAMPLE_DIR := examples/export
DEMO_OUT := examples/export.deid

.PHONY: setup system-deps python-deps demo test test-all profiles check-profiles lint bench

setup: system-deps python-deps

system-deps:
	@if ! command -v tesseract >/dev/null 2>&1 || ! command -v dciodvfy >/dev/null 2>&1; then \
		echo "Installing Debian packages tesseract-ocr and dicom3tools"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq tesseract-ocr dicom3tools >/dev/null; \
	fi
	@tesseract --version >/dev/null 2>&1 || { echo "tesseract is still missing"; exit 1; }

python-deps:
	@$(PYTHON) -m pip install -q --disable-pip-version-check --root-user-action=ignore -e '.[test]'

$(EXAMPLE_DIR).complete:
	$(PYTHON) examples/make_export.py $(EXAMPLE_DIR)

demo: setup $(EXAMPLE_DIR).complete
	@rc=0; deid run recipes/research.yaml $(EXAMPLE_DIR) --out $(DEMO_OUT) || rc=$$?; \
	if [ $$rc -gt 1 ]; then exit $$rc; fi; \
	if [ $$rc -eq 1 ]; then echo "(exit 1 is expected: the example holds README.txt, which is not DICOM, so it is quarantined)"; fi
	deid verify --out $(DEMO_OUT)
	@echo "Output: $(DEMO_OUT)/   ledger (keep private): $(DEMO_OUT).ledger/   summary again: deid report $(DEMO_OUT).ledger"

test: setup
	$(PYTHON) -m pytest -q

test-all: setup
	$(PYTHON) -m pytest -q -m ''

profiles:
	$(PYTHON) scripts/generate_profiles.py --out profiles

check-profiles:
	$(PYTHON) scripts/generate_profiles.py --out profiles --check

lint:
	$(PYTHON) -m ruff check .
	$(PYTHON) -m ruff format --check .

bench: setup
	$(PYTHON) benchmarks/throughput.py
	$(PYTHON) benchmarks/ocr.py
