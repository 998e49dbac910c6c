# Thin wrappers over the CMake workflow presets (CMakePresets.json).
#   make demo      build everything and run the tour (examples/tour.sh)
#   make test      build and run the whole test suite (default preset)
#   make tsan | asan | parking   the same suite under ThreadSanitizer,
#                  ASan+UBSan, or the portable wait back-end
#   make install   install to PREFIX (default /usr/local)

PREFIX ?= /usr/local
WORKFLOWS := default tsan asan parking

.PHONY: demo test deps install clean $(WORKFLOWS)

deps:
	@sh scripts/deps.sh

demo: deps
	@cmake --preset default >/dev/null
	@cmake --build --preset default
	@sh examples/tour.sh build/default/examples

test: default

$(WORKFLOWS): deps
	cmake --workflow --preset $@

install: deps
	cmake --preset default -DCMAKE_INSTALL_PREFIX=$(PREFIX) >/dev/null
	cmake --build --preset default
	cmake --install build/default

clean:
	rm -rf build
