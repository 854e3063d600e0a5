#!/usr/bin/env bash
# `make fuzz`: every libFuzzer harness (tests/fuzz/fuzz_*.c) for
# FUZZ_SECONDS each (default 60), one after the other, then a table of
# executions, coverage (libFuzzer's cov: edges, ft: features) and corpus.
#
#   FUZZ_SECONDS=N     seconds per harness
#   FUZZ_ONLY="a b"    only these harnesses
#   FUZZ_MERGE=1       afterwards, keep in the committed corpus
#                      (tests/fuzz/corpus/NAME/) its seed-* and regress-*
#                      files plus a minimal set of the rest, old and new,
#                      reaching the same coverage (libFuzzer -merge=1), of
#                      those at most 4 KB long
#   FUZZ_ARGS="..."    more libFuzzer flags
#
# New inputs go to $BUILD/fuzz/work/NAME, crashes, leaks and timeouts to
# $BUILD/fuzz/crashes/NAME/ (each must become a regress-* corpus file and
# a fixed bug: tests/fuzz/README.md). Skipped, with the reason, when clang's
# libFuzzer is missing. Exits 1 when a harness found something.
set -uo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
SECS=${FUZZ_SECONDS:-60}
CC=${FUZZ_CC:-clang}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n)\n{ return (int)(d && n) * 0; }\n' >"$tmp/t.c"
if ! command -v "$CC" >/dev/null 2>&1 ||
	! "$CC" -fsanitize=fuzzer,address,undefined "$tmp/t.c" -o "$tmp/t" 2>"$tmp/err"; then
	echo "fuzz: skipped: '$CC' cannot build a libFuzzer binary here:"
	sed 's/^/    /' "$tmp/err" 2>/dev/null | head -3
	echo "    (Debian: apt-get install clang libclang-rt-14-dev, or make deps)"
	exit 0
fi

make --no-print-directory BUILD="$BUILD" FUZZ_CC="$CC" fuzz-bins || exit 1

all=$(ls tests/fuzz/fuzz_*.c | sed 's|.*/fuzz_||; s|\.c$||')
names=${FUZZ_ONLY:-$all}
mkdir -p "$BUILD/fuzz/log"
rows=()
found=0
for n in $names; do
	bin=$BUILD/fuzz/fuzz-$n work=$BUILD/fuzz/work/$n crash=$BUILD/fuzz/crashes/$n
	log=$BUILD/fuzz/log/$n.log
	mkdir -p "$work" "$crash" "tests/fuzz/corpus/$n"
	before=$(ls "$crash" | wc -l)
	printf 'fuzz: %-7s %s s ...\n' "$n" "$SECS"
	# shellcheck disable=SC2086
	"$bin" -max_total_time="$SECS" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 \
		-artifact_prefix="$crash/" ${FUZZ_ARGS:-} "$work" "tests/fuzz/corpus/$n" >"$log" 2>&1
	rc=$?
	execs=$(awk '/stat::number_of_executed_units/ { v = $2 } END { print v + 0 }' "$log")
	rate=$(awk '/stat::average_exec_per_sec/ { v = $2 } END { print v + 0 }' "$log")
	cov=$(grep -Eo 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+' "$log" | tail -1 |
		awk '{ print $2, $4, $6 }')
	new=$(($(ls "$crash" | wc -l) - before))
	status=ok
	if [ "$new" -gt 0 ] || { [ $rc -ne 0 ] && [ $rc -ne 124 ]; }; then
		status="FOUND ($new file(s) in $crash, log $log)"
		found=1
	fi
	read -r c f p <<<"${cov:-0 0 0}"
	rows+=("$(printf '%-7s %12s %9s %6s %7s %6s  %s' "$n" "$execs" "$rate" "$c" "$f" "$p" "$status")")
	if [ "${FUZZ_MERGE:-0}" = 1 ]; then
		# Seeds and regressions stay; of the rest (committed and new),
		# only a set reaching the same coverage (libFuzzer -merge=1).
		m=$BUILD/fuzz/merge/$n
		rm -rf "$m" && mkdir -p "$m"
		cp tests/fuzz/corpus/"$n"/seed-* tests/fuzz/corpus/"$n"/regress-* "$m"/ 2>/dev/null
		if "$bin" -merge=1 "$m" "tests/fuzz/corpus/$n" "$work" >>"$log" 2>&1; then
			find "tests/fuzz/corpus/$n" -type f ! -name 'seed-*' ! -name 'regress-*' -delete
			# Small files only: what is above 4 KB stays in the work dir.
			find "$m" -type f -size +4k ! -name 'seed-*' ! -name 'regress-*' -delete
			cp -n "$m"/* "tests/fuzz/corpus/$n"/
		else
			echo "fuzz: $n: merge failed (see $log)"
		fi
	fi
done

printf '\n%-7s %12s %9s %6s %7s %6s  %s\n' harness execs exec/s cov ft corpus result
printf '%s\n' "${rows[@]}"
exit $found
