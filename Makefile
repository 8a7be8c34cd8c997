# The README's two commands: `make demo` (set-up + the main job end to end) and `make test` (set-up + suite).
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
OUT    ?= out/demo

.PHONY: setup demo test lint bench clean

# One-time set-up: a local venv with the CPU torch on this machine's disk, the package with every extra,
# and Tesseract OCR (Debian) when we are root and it is missing.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[sim,gripper,ros,dev]'
	@command -v tesseract >/dev/null || { [ "$$(id -u)" = 0 ] && (apt-get update -qq && apt-get install -y -qq tesseract-ocr >/dev/null) \
		|| echo "note: install Tesseract OCR (apt-get install tesseract-ocr) for the legibility checks"; }
	touch $(STAMP)

setup: $(STAMP)

demo: setup
	$(BIN)/trajtok tokenizer fit --source hershey --out $(OUT)/tokenizer.json
	$(BIN)/trajtok tokenizer stats $(OUT)/tokenizer.json --source hershey --png $(OUT)/bins.png
	@echo "demo: pictures and files are in $(OUT)/"

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: lint
	$(BIN)/python -m pytest

bench: setup
	for b in bench/*.py; do $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) out runs ros2_ws/build ros2_ws/install ros2_ws/log
