#!/usr/bin/env bash
# The NAT lab suite (part of `make test`): brings the lab up, proves natbox
# right with plain UDP sockets (tests/natlab/natlab_check.py: every preset,
# every allocation mode, filtering and its log, lifetime, TTL, ICMP, hairpin,
# and coturn's RFC 5780 client as an independent judge), tears the lab down.
#
# Exit 125 (skipped) with the reason where the machine cannot run it: not
# root, no network namespaces or veths, no python3. Logs of a failed run are
# kept in $BUILD/natlab-logs/.
set -uo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
case "$BUILD" in /*) ;; *) BUILD=$PWD/$BUILD ;; esac
PY=/usr/bin/python3

skip() {
	echo "natlab: SKIPPED: $*"
	exit 125
}

[ "$(id -u)" -eq 0 ] || skip "needs root for network namespaces (run make test as root)"
command -v ip >/dev/null || skip "iproute2 is not installed"
[ -x "$PY" ] || skip "$PY is not installed"
[ -x "$BUILD/natbox" ] || {
	echo "natlab: $BUILD/natbox is not built (make natbox)"
	exit 1
}

# Can this machine create namespaces and veth pairs at all?
probe=rvl-probe-$$
ip netns add "$probe" 2>/dev/null || skip "cannot create network namespaces here"
if ! ip -n "$probe" link add v0 type veth peer name v1 2>/dev/null; then
	ip netns del "$probe"
	skip "cannot create veth pairs here"
fi
ip netns del "$probe"

# One lab per machine: wait for any other lab user (another suite, a demo).
mkdir -p /run/lock
exec 9>/run/lock/rvlab.lock
flock -w 600 9 || {
	echo "natlab: the lab is busy (/run/lock/rvlab.lock) for 10 minutes; giving up"
	exit 1
}
export RVLAB_LOCKED=1 NATBOX=$BUILD/natbox BUILD

rc=1
cleanup() {
	if [ $rc -ne 0 ] && [ -d /run/rvlab ]; then
		mkdir -p "$BUILD/natlab-logs"
		cp /run/rvlab/*.jsonl /run/rvlab/*.err /run/rvlab/*.log "$BUILD/natlab-logs/" 2>/dev/null
		echo "natlab: logs kept in $BUILD/natlab-logs/"
	fi
	scripts/natlab.sh down >/dev/null 2>&1
}
trap cleanup EXIT
trap 'exit 130' INT TERM

t0=$SECONDS
# A fresh lab: whatever an interrupted run left goes first.
scripts/natlab.sh down >/dev/null || exit 1
scripts/natlab.sh up || exit 1
"$PY" tests/natlab/natlab_check.py
rc=$?
echo "natlab: suite took $((SECONDS - t0)) s"
exit $rc
