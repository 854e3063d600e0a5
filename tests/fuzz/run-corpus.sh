#!/usr/bin/env bash
# `make test`: every fuzz harness over its committed corpus
# (tests/fuzz/corpus/NAME/: seeds, what fuzzing kept, every crash it found
# as a regress-* file), built by gcc with ASan and UBSan around
# tests/fuzz/replay.c — no clang needed. Fails on any sanitizer report,
# leak or broken property.
set -uo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:${ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"

fail=0
for src in tests/fuzz/fuzz_*.c; do
	n=${src##*/fuzz_}
	n=${n%.c}
	bin=$BUILD/fuzz/replay-$n
	if [ ! -x "$bin" ]; then
		echo "fuzz corpus: $bin is not built (make BUILD=$BUILD fuzz-replay)"
		exit 125
	fi
	"$bin" "tests/fuzz/corpus/$n" || { echo "FAIL: $n"; fail=1; }
done
exit $fail
