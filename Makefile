# GX230 controller - see README.md.  Every target creates .venv on first use.
PY ?= python3
VENV := .venv
VPY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
SCENARIO ?= iso-steps-ng
RUNTIME ?= cpython
BOARDS := rp2040_pico esp32_devkitc
BOARD ?= rp2040_pico
PORT ?= /dev/ttyACM0

.PHONY: all venv sim test bench soak firmware flash docs clean

all: test

$(STAMP): pyproject.toml host_sim/mp32/package-lock.json
	$(PY) -m venv $(VENV)
	$(VPY) -m pip install --quiet --upgrade pip
	$(VPY) -m pip install --quiet -e .
	# The 32-bit MicroPython (webassembly port, run by node): pinned in the lock file.
	npm ci --prefix host_sim/mp32 --no-audit --no-fund --loglevel=error
	touch $(STAMP)

venv: $(STAMP)

sim: $(STAMP)
	$(VENV)/bin/gxsim run $(SCENARIO) --runtime $(RUNTIME) --out out/$(SCENARIO)

test: $(STAMP)
	$(VPY) -m pytest -q -n auto --dist loadfile

bench: $(STAMP)
	$(VPY) -m tools.bench

soak: $(STAMP)
	$(VPY) -m tools.bench --soak

# make firmware: every board; make firmware BOARD=rp2040_pico: that one.
firmware: $(STAMP)
	$(VPY) -m tools.build_firmware --out build $(if $(filter command line,$(origin BOARD)),$(BOARD),$(BOARDS))

flash: firmware
	$(VPY) -m tools.deploy --board $(BOARD) --port $(PORT) --build build

docs: $(STAMP)
	$(VPY) -m tools.gen_docs

clean:
	rm -rf build out .pytest_cache
