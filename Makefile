# latentsky — two commands for a fresh machine: `make demo` and `make test`.
# `make demo TRAIN=1` retrains the demo encoder instead of using assets/encoder-demo.pt.
PYTHON ?= python3.11
VENV ?= .venv
TORCH ?= torch==2.13.0
STORE ?= demo_store
N ?= 20000
PORT ?= 5006
BIN := $(VENV)/bin

.PHONY: demo test bench lint install install-test browser clean screenshots

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/pip install -q "$(TORCH)"
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(BIN)/pip install -q -e ".[test]"
	touch $@

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test browser

browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian chromium for the browser tests"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	  || { echo "could not install chromium (need root + apt)"; exit 1; }; }

demo: install
	$(BIN)/latentsky demo --store $(STORE) --n $(N) --port $(PORT) $(if $(TRAIN),--train,)

test: install-test
	$(BIN)/ruff check explorer models tests benchmarks
	$(BIN)/python -m pytest -x -q

bench: install
	$(BIN)/latentsky bench all --out benchmarks/results

# one PNG per dashboard tab (800 px wide, 96 colours) for the README gallery
screenshots: install-test
	mkdir -p assets/screenshots
	LATENTSKY_SCREENSHOTS=assets/screenshots $(BIN)/python -m pytest -q -m ui \
	  tests/explorer/app/test_screenshots.py
	$(BIN)/python -c "import pathlib, PIL.Image as I; [I.open(p).convert('RGB') \
	  .quantize(96).save(p, optimize=True) for p in pathlib.Path('assets/screenshots').glob('*.png')]"

lint: install-test
	$(BIN)/ruff check explorer models tests benchmarks
	$(BIN)/ruff format --check explorer models tests benchmarks

clean:
	rm -rf $(VENV) $(STORE)
