# The newcomer's entry points. Each installs what it needs on Debian 12.
#   make demo   run the product (local demo stack)
#   make test   run the whole test suite (what CI runs)
.PHONY: demo test build clean

demo:
	scripts/demo.sh

test:
	scripts/test.sh

build:
	@if [ -f build/build.ninja ]; then meson setup --reconfigure build >/dev/null; else meson setup build; fi
	ninja -C build

clean:
	rm -rf build build-asan build-fuzz build*.log
