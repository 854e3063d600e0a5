#!/usr/bin/env bash
# Test runner behind `make test` and `make asan`.
#
# Runs each unit suite given on the command line (paths relative to $BUILD),
# then — unless RV_ONLY_UNIT=1 — every script suite: tests/*/run-*.sh, in
# name order. A suite exiting 125 is skipped (it printed why); any other
# non-zero exit is a failure. The output ends with one summary line per
# suite and a total; the exit status is non-zero when any suite failed.
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
export BUILD

declare -a names results
failed=0

run_suite() {
	local name=$1; shift
	local t0=$SECONDS rc
	printf '\n=== %s\n' "$name"
	"$@"
	rc=$?
	local dt=$((SECONDS - t0))
	names+=("$name")
	if [ $rc -eq 0 ]; then
		results+=("pass    (${dt}s)")
	elif [ $rc -eq 125 ]; then
		results+=("SKIPPED (${dt}s)")
	else
		results+=("FAIL    (exit $rc, ${dt}s)")
		failed=$((failed + 1))
	fi
}

for bin in "$@"; do
	# Criterion: -j2 keeps the shared 2-core machine responsive.
	run_suite "$bin" "$BUILD/$bin" --jobs 2 --short-filename
done

if [ "${RV_ONLY_UNIT:-0}" != 1 ]; then
	for s in $(ls tests/*/run-*.sh 2>/dev/null | sort); do
		run_suite "$s" bash "$s"
	done
fi

printf '\n=== summary\n'
for i in "${!names[@]}"; do
	printf '  %-40s %s\n' "${names[$i]}" "${results[$i]}"
done
if [ $failed -ne 0 ]; then
	printf 'FAILED: %d of %d suites\n' "$failed" "${#names[@]}"
	exit 1
fi
printf 'OK: %d suites\n' "${#names[@]}"
