#!/usr/bin/env bash
# rvdp end to end on net_pcap: generated frames in, answers out, checked field
# by field, with a stand-in rvcontrol on the control socket (tests/dp/).
#
#   bash tests/dp/run-pcap.sh            (make test runs it; BUILD=build by default)
#
# Uses ${BUILD:-build}/rvdp, builds nothing. Exit 0 pass, 125 skipped (DPDK
# cannot run here: EAL init failed for memory/permissions), anything else fail.
# Environment: DP_IDLE_MS (rvdp --max-idle-ms, default 1000), DP_KEEP=1 keeps
# the work directory for inspection.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
BUILD=${BUILD:-build}
RVDP=$BUILD/rvdp
PY=/usr/bin/python3
export PYTHONDONTWRITEBYTECODE=1 # no __pycache__ in the tree
HERE=tests/dp
IDLE_MS=${DP_IDLE_MS:-1000}
T0=$(date +%s%N)

fail() { echo "run-pcap: FAIL: $*"; exit 1; }

[ -x "$RVDP" ] || fail "$RVDP not built (make test builds it; or: make BUILD=$BUILD $RVDP)"
[ -x $PY ] || fail "$PY missing (Debian's python3, with python3-scapy: scripts/deps.sh)"
$PY -c 'import scapy.layers.inet' 2>/dev/null ||
	fail "Debian's python3-scapy is not installed for $PY (scripts/deps.sh)"

WORK=$(mktemp -d /tmp/rvdp-pcap.XXXXXX) || fail "mktemp"
PREFIX=rvdp-pcap-$$-$RANDOM
SOCK=$WORK/ctl.sock
RVDP_PID=
CTL_PID=
cleanup() {
	[ -n "$CTL_PID" ] && kill "$CTL_PID" 2>/dev/null
	[ -n "$RVDP_PID" ] && kill "$RVDP_PID" 2>/dev/null
	wait 2>/dev/null
	# EAL's runtime directory for our unique --file-prefix, wherever EAL put it.
	for dir in "/var/run/dpdk/$PREFIX" "${XDG_RUNTIME_DIR:-/nonexistent}/dpdk/$PREFIX" \
		"/tmp/dpdk/$PREFIX"; do
		[ -d "$dir" ] && rm -rf -- "$dir"
	done
	if [ "${DP_KEEP:-0}" = 1 ]; then
		echo "run-pcap: work directory kept: $WORK"
	else
		rm -rf -- "$WORK"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

$PY -c "import sys; sys.path.insert(0, '$HERE'); import dplib; print('run-pcap: ' + dplib.siphash_selftest())" ||
	fail "SipHash-2-4 self-test"
$PY $HERE/gen_pcap.py --out "$WORK" | sed 's/^/run-pcap: /' || fail "gen_pcap.py"
[ -s "$WORK/expect.json" ] || fail "gen_pcap.py wrote no expectations"
EXTRA_ARGS=$($PY -c "import json,sys; print(' '.join(json.load(open(sys.argv[1]))['rvdp_args']))" \
	"$WORK/expect.json") || fail "expect.json"
mkfifo "$WORK/in.fifo" || fail "mkfifo"

# Two lcores: the control thread and one datapath lcore (one queue: answers
# stay in request order). On a one-CPU machine both share CPU 0.
if [ "$(nproc)" -ge 2 ]; then LCORES=(-l 0-1); else LCORES=(--lcores '0@0,1@0'); fi

# rvdp first: EAL init blocks opening the FIFO until fake_control.py opens it.
# shellcheck disable=SC2086
timeout -k 5 30 "$RVDP" "${LCORES[@]}" --no-huge -m 256 --no-pci --file-prefix "$PREFIX" \
	--vdev "net_pcap0,rx_pcap=$WORK/in.fifo,tx_pcap=$WORK/out.pcap" -- \
	--addr 192.0.2.1 --alt-addr 192.0.2.2 --mac 02:00:00:00:00:01 --control "$SOCK" \
	--max-idle-ms "$IDLE_MS" --json $EXTRA_ARGS >"$WORK/stats.json" 2>"$WORK/rvdp.log" &
RVDP_PID=$!
timeout -k 5 30 $PY $HERE/fake_control.py --fifo "$WORK/in.fifo" --pcap "$WORK/in.pcap" \
	--socket "$SOCK" --expect "$WORK/expect.json" --report "$WORK/ctl.json" \
	--pid "$RVDP_PID" >"$WORK/ctl.out" 2>&1 &
CTL_PID=$!
wait "$RVDP_PID"
rc=$?
RVDP_PID=
wait "$CTL_PID"
ctl_rc=$?
CTL_PID=

show_log() { sed 's/^/    rvdp: /' "$WORK/rvdp.log" | tail -n 30; }
if [ $rc -ne 0 ]; then
	# Skip only when DPDK itself cannot start here (memory, hugepages, rights).
	if grep -q 'EAL init failed' "$WORK/rvdp.log" &&
		grep -qiE 'memory|hugepage|permission|not permitted|Cannot init' \
			"$WORK/rvdp.log"; then
		echo "run-pcap: SKIP: DPDK cannot run here (EAL init failed):"
		show_log
		exit 125
	fi
	cat "$WORK/ctl.out"
	show_log
	[ $rc -eq 124 ] && fail "rvdp did not stop within 30s (timeout)"
	fail "rvdp exited with $rc"
fi
sed 's/^/run-pcap: /' "$WORK/ctl.out"
if [ $ctl_rc -ne 0 ]; then
	show_log
	fail "the control-socket checks failed (fake_control.py exit $ctl_rc)"
fi
[ -s "$WORK/out.pcap" ] || fail "rvdp wrote no output pcap"
$PY $HERE/check_pcap.py --expect "$WORK/expect.json" --out "$WORK/out.pcap" \
	--stats "$WORK/stats.json" --ctl "$WORK/ctl.json" | sed 's/^/run-pcap: /'
check_rc=${PIPESTATUS[0]}
MS=$((($(date +%s%N) - T0) / 1000000))
if [ "$check_rc" -ne 0 ]; then
	show_log
	fail "output or counters differ from the expectations (${MS} ms)"
fi
echo "run-pcap: ok: every answer, punt, observation and counter as expected (${MS} ms)"
