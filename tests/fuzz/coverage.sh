#!/usr/bin/env bash
# Which lines of the code each harness drives its committed corpus
# through: the harnesses built with clang's source-based coverage
# (build.mk: cov-NAME) replay tests/fuzz/corpus/NAME/, and llvm-cov
# reports the product files (not the harness) line by line.
#
#   BUILD=build bash tests/fuzz/coverage.sh [NAME...]
# Needs clang and llvm (llvm-profdata, llvm-cov); exits 125 without them.
set -uo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
for t in clang llvm-profdata llvm-cov; do
	command -v $t >/dev/null 2>&1 || { echo "coverage: $t missing (apt-get install clang llvm)"; exit 125; }
done
make --no-print-directory BUILD="$BUILD" fuzz-cov-bins || exit 1

# The files each harness is for (the rest it links is incidental).
declare -A target=(
	[stun]="proto/stun.c proto/stun_integrity.c" [msg]="proto/msg.c proto/probe.c"
	[conf]="proto/conf.c dpdk-app/dp_conf.c" [dpctl]="proto/dpctl.c" [pdg]="proto/pdg.c"
	[relay]="proto/relay.c" [ticket]="proto/ticket.c" [ipfrag]="proto/ipfrag.c"
	[dp]="dpdk-app/dp_pkt.c dpdk-app/dp_frag.c dpdk-app/dp_rl.c" [peer]="peer/peer_punch.c"
	[nat]="tests/natlab/nat_core.c tests/natlab/nat_pkt.c tests/natlab/nat_table.c
	       tests/natlab/nat_alloc.c tests/natlab/nat_l2.c tests/natlab/nat_conf.c"
)
names=${*:-$(ls tests/fuzz/fuzz_*.c | sed 's|.*/fuzz_||; s|\.c$||')}
out=$BUILD/fuzz/covdata
mkdir -p "$out"
printf '%-7s %6s %7s %7s  %s\n' harness lines covered '%' 'per file'
for n in $names; do
	rm -f "$out/$n".prof*
	LLVM_PROFILE_FILE="$out/$n.profraw" "$BUILD/fuzz/cov-$n" "tests/fuzz/corpus/$n" >/dev/null ||
		{ echo "coverage: $n failed"; continue; }
	llvm-profdata merge -sparse "$out/$n.profraw" -o "$out/$n.profdata"
	# shellcheck disable=SC2086
	llvm-cov report "$BUILD/fuzz/cov-$n" -instr-profile="$out/$n.profdata" ${target[$n]} |
		awk -v n="$n" '
			$1 ~ /\.c$/ { sub(/.*\//, "", $1); f = f sprintf(" %s %s", $1, $10) }
			$1 == "TOTAL" { printf "%-7s %6d %7d %7s %s\n", n, $8, $8 - $9, $10, f }'
done
