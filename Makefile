# The newcomer's entry points. Each installs what it needs on Debian 12.
#   make demo   run the product (local demo stack)
#   make test   run the whole test suite (what CI runs)
#   make bench  the benchmark beside nginx, with the targets table (bench/README.md)
.PHONY: demo test build clean fuzz-long soak bench

demo:
	scripts/demo.sh

test:
	scripts/test.sh

# On demand, never in CI: long fuzzing (FUZZ_MINUTES, FUZZ_RUNS, FUZZ_TARGETS,
# FUZZ_JOBS) and the soak under faults (SOAK_MINUTES).
fuzz-long:
	scripts/fuzz-long.sh

soak:
	scripts/soak.sh

# On demand, never in CI: throughput, latency, CPU, syscalls and instructions
# per request, memory per SSE stream, and the targets of issue 13 marked met
# or not, in one run (BENCH_* variables: top of bench/run.sh).
bench:
	bench/run.sh

build:
	@if [ -f build/build.ninja ]; then meson setup --reconfigure build >/dev/null; else meson setup build; fi
	ninja -C build

clean:
	rm -rf build build-asan build-fuzz build*.log
