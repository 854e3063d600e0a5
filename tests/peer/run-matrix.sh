#!/usr/bin/env bash
# rvpeer through every NAT pair (part of `make test`; issue 6's proof): the
# NAT lab in dpdk mode, rvdp on net_af_packet in the server namespace,
# rvcontrol behind it, rvpeer in the site hosts. tests/peer/matrix.py
# checks classification of every natbox preset x allocation mode, the
# connectivity matrix (every ordered pair of the six NAT types x sequential
# delta 1 / sequential delta 2 with background allocations / random) with data
# both ways, and the hostile cases (partner offline, frozen or killed, server
# unreachable, mapping lost mid-way, rvcontrol or rvdp killed -9 and
# restarted mid-connect), relay first then direct, and relay quotas (a relay
# past its time or byte quota cut off, both peers told why; issue 8), and
# prints the matrices and timings.
#
# Extra arguments go to matrix.py (e.g. --only matrix --alloc random).
# Exit 125 (skipped) where the machine cannot build the lab. Logs of a failed
# run are kept in $BUILD/peer-matrix-logs/.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
. tests/natlab/labsuite.sh
# matrix.py keeps the pids of what it started in $MATRIX_PIDS; should it
# die, the cleanup ends exactly those (continued first: one may be stopped)
# and removes its work directory (keys, database, peer outputs).
MATRIX_PIDS=
MATRIX_WORK=
# shellcheck disable=SC2317 # called by the cleanup
kill_ours() {
	local p
	if [ -n "$MATRIX_PIDS" ]; then
		p=$(cat "$MATRIX_PIDS" 2>/dev/null)
		# shellcheck disable=SC2086 # a list of pids
		[ -n "${p// /}" ] && { kill -CONT $p; kill -TERM $p; } 2>/dev/null
		rm -f "$MATRIX_PIDS"
	fi
	[ -n "$MATRIX_WORK" ] && rm -rf "$MATRIX_WORK"
	return 0
}
lab_suite peer-matrix kill_ours
MATRIX_PIDS=$(mktemp /tmp/rvmatrix-pids.XXXXXX)
MATRIX_WORK=$(mktemp -d /tmp/rvmatrix.XXXXXX)
export MATRIX_PIDS MATRIX_WORK

for b in rvdp rvcontrol rvpeer; do
	[ -x "$BUILD/$b" ] || {
		echo "peer-matrix: $BUILD/$b is not built"
		exit 1
	}
done

t0=$SECONDS
scripts/natlab.sh up --server-mode dpdk >/dev/null || exit 1
"$PY" tests/peer/matrix.py "$@"
rc=$?
echo "peer-matrix: suite took $((SECONDS - t0)) s"
exit $rc
