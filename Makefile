# Thin wrappers over the CMake workflow presets (CMakePresets.json).
#   make demo      build everything and run the tour (examples/tour.sh)
#   make test      build and run the whole test suite (default preset)
#   make tsan | asan | parking   the same suite under ThreadSanitizer,
#                  ASan+UBSan, or the portable wait back-end
#   make spurious | spurious-parking   the same suite with the wait seam
#                  returning early at random, on either back-end
#   make models    check the Promela models with spin (models/check.sh)
#   make fuzz      run each libFuzzer harness DURATION seconds (default 10)
#   make soak      the soak test for DURATION seconds (default 60)
#   make bench     run every benchmark against its peers and write
#                  docs/benchmarks.md (installs the peers; a few minutes)
#   make bench-quick   the same as a smoke run (asserts nothing about speed)
#   make bench-tools   server and download against nginx, lighttpd, curl,
#                  wget2, aria2c and Python (docs/benchmarks-tools.md)
#   make install   install to PREFIX (default /usr/local)

PREFIX ?= /usr/local
WORKFLOWS := default tsan asan parking spurious spurious-parking
DURATION ?=

.PHONY: demo test deps install clean bench bench-quick bench-tools bench-tools-quick models fuzz soak $(WORKFLOWS)

deps:
	@sh scripts/deps.sh

demo: deps
	@cmake --preset default >/dev/null
	@cmake --build --preset default
	@sh examples/tour.sh build/default/examples

test: default

$(WORKFLOWS): deps
	cmake --workflow --preset $@

bench: deps
	sh bench/run.sh
	sh bench/tools/run.sh

bench-tools: deps
	sh bench/tools/run.sh

bench-tools-quick: deps
	sh bench/tools/run.sh --quick

bench-quick: deps
	sh bench/run.sh --quick

models:
	sh models/check.sh

fuzz: deps
	sh fuzz/run.sh $(if $(DURATION),--seconds $(DURATION))

soak: deps
	sh soak/run.sh $(if $(DURATION),--seconds $(DURATION))

install: deps
	cmake --preset default -DCMAKE_INSTALL_PREFIX=$(PREFIX) >/dev/null
	cmake --build --preset default
	cmake --install build/default

clean:
	rm -rf build
