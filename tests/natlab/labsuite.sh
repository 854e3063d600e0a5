# Sourced by every suite that uses the NAT lab (tests/*/run-*.sh): skips
# (exit 125) where the machine cannot build the lab, takes the one-lab-per-
# machine lock, keeps the logs of a failed run in $BUILD/<suite>-logs/ and
# always tears the lab down. The suite sets rc=0 when it passed.
#   lab_suite NAME [extra cleanup command]
PY=/usr/bin/python3
BUILD=${BUILD:-build}
case "$BUILD" in /*) ;; *) BUILD=$PWD/$BUILD ;; esac

lab_skip() {
	echo "$LAB_SUITE: SKIPPED: $*"
	exit 125
}

lab_cleanup() {
	[ -n "$LAB_EXTRA_CLEANUP" ] && eval "$LAB_EXTRA_CLEANUP"
	if [ "$rc" -ne 0 ] && [ -d /run/rvlab ]; then
		mkdir -p "$BUILD/$LAB_SUITE-logs"
		cp /run/rvlab/*.jsonl /run/rvlab/*.err /run/rvlab/*.log "$BUILD/$LAB_SUITE-logs/" 2>/dev/null
		echo "$LAB_SUITE: logs kept in $BUILD/$LAB_SUITE-logs/"
	fi
	scripts/natlab.sh down >/dev/null 2>&1
}

lab_suite() {
	LAB_SUITE=$1
	LAB_EXTRA_CLEANUP=${2:-}
	rc=1
	[ "$(id -u)" -eq 0 ] || lab_skip "needs root for network namespaces (run make test as root)"
	command -v ip >/dev/null || lab_skip "iproute2 is not installed"
	[ -x "$PY" ] || lab_skip "$PY is not installed"
	[ -x "$BUILD/natbox" ] || {
		echo "$LAB_SUITE: $BUILD/natbox is not built (make natbox)"
		exit 1
	}
	# Can this machine create namespaces and veth pairs at all?
	local probe=rvl-probe-$$
	ip netns add "$probe" 2>/dev/null || lab_skip "cannot create network namespaces here"
	if ! ip -n "$probe" link add v0 type veth peer name v1 2>/dev/null; then
		ip netns del "$probe"
		lab_skip "cannot create veth pairs here"
	fi
	ip netns del "$probe"

	# One lab per machine: wait for any other lab user (another suite, a demo).
	mkdir -p /run/lock
	exec 9>/run/lock/rvlab.lock
	flock -w 900 9 || {
		echo "$LAB_SUITE: the lab is busy (/run/lock/rvlab.lock) for 15 minutes; giving up"
		exit 1
	}
	export RVLAB_LOCKED=1 NATBOX=$BUILD/natbox BUILD
	trap lab_cleanup EXIT
	trap 'exit 130' INT TERM
	# A fresh lab: whatever an interrupted run left goes first.
	scripts/natlab.sh down >/dev/null || exit 1
}
