# The README's two commands: `make demo` (set-up + the main job end to end) and `make test` (set-up + suite).
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
OUT    ?= out/demo

.PHONY: setup ros-build-links demo test lint bench clean

# One-time set-up: a local venv with the CPU torch on this machine's disk, the package with every extra,
# and Tesseract OCR and Chromium (Debian; the studio's browser tests) when we are root and they are missing.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[sim,gripper,ros,studio,dev]'
	@command -v tesseract >/dev/null || { [ "$$(id -u)" = 0 ] && (apt-get update -qq && apt-get install -y -qq tesseract-ocr >/dev/null) \
		|| echo "note: install Tesseract OCR (apt-get install tesseract-ocr) for the legibility checks"; }
	@command -v chromium >/dev/null || { [ "$$(id -u)" = 0 ] && (apt-get update -qq && apt-get install -y -qq chromium >/dev/null) \
		|| echo "note: install Chromium (apt-get install chromium) for the studio's browser tests"; }
	touch $(STAMP)

setup: $(STAMP) ros-build-links

# The ROS 2 wheels' exported CMake targets name the include directories of the machine they were built on
# (a manylinux CPython under /opt/python/cp311-cp311, and its numpy); colcon builds of interface packages
# (ros2_ws/src/scribble_interfaces) need those paths, so they are linked to this Python's and this venv's
# numpy. A regular ROS install (apt, /opt/ros/kilted) needs none of this.
WHEEL_PREFIX := /opt/python/cp311-cp311
ros-build-links: $(STAMP)
	@py_include=$$($(BIN)/python -c "import sysconfig; print(sysconfig.get_paths()['include'])"); \
	np_include=$$($(BIN)/python -c "import numpy; print(numpy.get_include())"); \
	if mkdir -p $(WHEEL_PREFIX)/include $(WHEEL_PREFIX)/lib/python3.11/site-packages/numpy/_core 2>/dev/null; then \
		ln -sfn "$$py_include" $(WHEEL_PREFIX)/include/python3.11 && \
		ln -sfn "$$np_include" $(WHEEL_PREFIX)/lib/python3.11/site-packages/numpy/_core/include; \
	else echo "note: cannot create $(WHEEL_PREFIX) (not root?): scribble_interfaces will not build; see README, ROS"; fi

# The main job: data -> tokenizer -> model -> a phrase -> the robot writes it. QUICK=1 skips training and uses
# the shipped model. A run directory left by an interrupted demo is resumed, a finished one reused.
RUN    := $(if $(QUICK),,$(OUT)/run)
PHRASE ?= hello world

demo: setup
	@mkdir -p $(OUT)
	$(BIN)/trajtok data list
	$(BIN)/trajtok data show hershey --n 8 --out $(OUT)/data_grid.png
	$(BIN)/trajtok tokenizer fit hershey --out $(OUT)/tokenizer.json
	$(BIN)/trajtok tokenizer stats $(OUT)/tokenizer.json hershey --png $(OUT)/bins.png
ifeq ($(QUICK),)
	@if [ -f $(RUN)/checkpoints/latest.pt ]; then $(BIN)/trajtok train handwriting --resume $(RUN); \
	 else $(BIN)/trajtok train handwriting --run-dir $(RUN); fi
endif
	$(BIN)/trajtok write "$(PHRASE)" "quiet river stones" $(if $(RUN),--checkpoint $(RUN)) --temperature 0.5 --seed 0 \
		--out $(OUT)/write.png --svg --attention $(OUT)/write_attention.png
	$(BIN)/trajtok write "$(PHRASE)" $(if $(RUN),--checkpoint $(RUN)) --temperature 0.5 --seed 0 --out $(OUT)/phrase.png
	$(BIN)/trajtok sim write --strokes $(OUT)/phrase.npz --out $(OUT)/board.png
	$(BIN)/python -c "$$DEMO_SUMMARY" $(OUT) $(or $(RUN),shipped model)

# SUMMARY.md: what the demo made and how well the robot wrote.
define DEMO_SUMMARY
import json, pathlib, sys
out, model = pathlib.Path(sys.argv[1]), sys.argv[2]
board = json.loads((out / "board.json").read_text())
lines = [
    "# trajtok demo", "",
    f"Model: {model}. Phrase written by the model, then by the simulated Panda on the whiteboard.", "",
    f"- OCR of the board (Tesseract): {board.get('ocr_text', '').strip()!r} (CER {board.get('ocr_cer', float('nan')):.3f})",
    f"- pen-tip tracking RMSE {board['tracking_rmse_mm']:.3f} mm, inked {100 * board['inked_fraction']:.1f} %, "
    f"spurious ink {100 * board['spurious_ink_fraction']:.2f} %, {board['realtime_factor']:.1f}x real time", "",
    "Pictures: " + ", ".join(sorted(p.name for p in out.glob("*.png"))),
    *([f"Training curves: {model}/curves.png"] if (pathlib.Path(model) / "curves.png").is_file() else []),
]
(out / "SUMMARY.md").write_text("\n".join(lines) + "\n")
print("\n".join(lines))
print(f"demo: pictures and files are in {out}/")
endef
export DEMO_SUMMARY

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: lint
	$(BIN)/python -m pytest

bench: setup
	for b in bench/*.py; do $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) out runs ros2_ws/build ros2_ws/install ros2_ws/log
