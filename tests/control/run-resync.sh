#!/usr/bin/env bash
# rvdp dies, sessions live on (part of `make test`): in the NAT lab, device
# B (behind a port-symmetric NAT) registers through rvdp and waits; rvdp is
# killed with SIGKILL and started again; rvcontrol reconnects and refills
# rvdp's session table; then device A (port-restricted) connects to B. B's
# authenticated probes must be answered by the new rvdp with the session
# key B got before the crash — B never authenticates again — and the two
# must get a direct path and exchange a message and its echo.
#
# Exit 125 (skipped) where the lab cannot run. Logs of a failed run are kept
# in $BUILD/resync-logs/.
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/natlab/labsuite.sh
D=$(mktemp -d /tmp/rvresync.XXXXXX)
lab_suite resync "[ \$rc -eq 0 ] || { mkdir -p \$BUILD/resync-logs; cp $D/*.log $D/*.out \$BUILD/resync-logs/; }; \
pkill -f 'file-prefix rvresync'; pkill -f 'db $D/rv.db'; pkill -f 'rvpeer -s 192.0.2.1 -k $D/'; \
sleep 0.3; rm -rf $D"
for b in rvdp rvcontrol rvpeer; do
	[ -x "$BUILD/$b" ] || {
		echo "resync: $BUILD/$b is not built"
		exit 1
	}
done

fail() {
	echo "resync: FAIL: $*"
	exit 1
}

start_rvdp() {
	ip netns exec rvl-srv "$BUILD/rvdp" -l 0-1 --no-huge -m 256 --no-pci \
		--file-prefix rvresync --vdev net_af_packet0,iface=eth0 -- \
		--addr 192.0.2.1 --alt-addr 192.0.2.2 --control "$D/rvdp.sock" \
		--idle-sleep-us 100 >>"$D/rvdp.log" 2>&1 &
	rvdp_pid=$!
}

# Wait until FILE has at least N lines matching RE (or give up after S s).
wait_for() {
	local file=$1 re=$2 n=$3 s=$4
	for _ in $(seq $((s * 10))); do
		[ "$(grep -c -- "$re" "$file" 2>/dev/null)" -ge "$n" ] && return 0
		sleep 0.1
	done
	return 1
}

t0=$SECONDS
scripts/natlab.sh up --server-mode dpdk >/dev/null || exit 1
scripts/natlab.sh nat a --preset port-restricted
scripts/natlab.sh nat b --preset port-symmetric --alloc sequential --delta 1

"$BUILD/rvcontrol" --keys "$D/keys" keygen >/dev/null || fail "keygen"
"$BUILD/rvpeer" device-keygen --device-id resync-A --out "$D/a.key" >"$D/registry"
"$BUILD/rvpeer" device-keygen --device-id resync-B --out "$D/b.key" >>"$D/registry"
"$BUILD/rvcontrol" --db "$D/rv.db" import-devices "$D/registry" >/dev/null || fail "import"

start_rvdp
wait_for "$D/rvdp.log" "control socket" 1 10 || fail "rvdp did not start"
"$BUILD/rvcontrol" --db "$D/rv.db" --keys "$D/keys" --dataplane "$D/rvdp.sock" -v \
	>"$D/rvcontrol.log" 2>&1 &
wait_for "$D/rvcontrol.log" "connected to rvdp" 1 10 || fail "rvcontrol did not reach rvdp"

ip netns exec rvl-b1 "$BUILD/rvpeer" -s 192.0.2.1 -k "$D/b.key" --timeline listen --echo \
	--count 1 >"$D/b.out" 2>&1 &
bpid=$!
wait_for "$D/b.out" "^locator" 1 15 || fail "B did not register: $(tail -3 "$D/b.out")"
LOC_B=$(awk '/^locator/ { print $2 }' "$D/b.out")

# The crash, and a new rvdp.
kill -9 "$rvdp_pid"
wait "$rvdp_pid" 2>/dev/null
wait_for "$D/rvcontrol.log" "rvdp went away\|lost the dataplane" 1 10 ||
	fail "rvcontrol did not notice rvdp's death"
start_rvdp
wait_for "$D/rvcontrol.log" "connected to rvdp" 2 15 || fail "rvcontrol did not reconnect"
wait_for "$D/rvcontrol.log" "rvdp repopulated: [1-9]" 1 10 ||
	fail "rvcontrol did not repopulate rvdp: $(grep repopulated "$D/rvcontrol.log")"
grep "rvdp repopulated" "$D/rvcontrol.log" | tail -1

ip netns exec rvl-a1 timeout 30 "$BUILD/rvpeer" -s 192.0.2.1 -k "$D/a.key" --timeline \
	connect "$LOC_B" --message "after the crash" >"$D/a.out" 2>&1
st=$?
wait "$bpid" 2>/dev/null
[ $st -eq 0 ] || fail "A could not connect to B after rvdp restarted (exit $st): $(tail -3 "$D/a.out")"
grep -q "echo: after the crash" "$D/a.out" || fail "no echo came back"
[ "$(grep -c "auth: locator" "$D/b.out")" -eq 1 ] || fail "B authenticated again"
grep -q "seen by the server" "$D/b.out" ||
	fail "B's probes were not answered by the new rvdp (its session was not restored)"
grep -q "^connected to" "$D/b.out" || fail "B did not see the connection"
grep -h "^connected to" "$D/a.out"
rc=0
echo "resync: ok: B's session survived rvdp's SIGKILL; A and B connected directly ($((SECONDS - t0)) s)"
