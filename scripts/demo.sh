#!/usr/bin/env bash
# `make demo`: the whole system in the NAT lab. Installs what is missing,
# builds, brings the lab up with rvdp (DPDK, net_af_packet) as the server
# and rvcontrol behind it, puts device A behind a port-restricted cone NAT
# and device B behind a port-sensitive symmetric NAT (sequential ports,
# delta 2, other hosts taking ports meanwhile), and lets them classify
# their NATs, authenticate, register and punch a direct UDP path — each
# step on a timeline — then exchange a message and a file. Tears the lab
# down at the end and on Ctrl-C.
#
#   sudo make demo                       the default pair
#   sudo bash scripts/demo.sh A-PRESET B-PRESET [natbox options for b...]
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
	echo "make demo: needs root — it builds the NAT lab out of network namespaces" >&2
	echo "           and installs missing Debian packages. Run: sudo make demo" >&2
	exit 1
fi
PRESET_A=${1:-port-restricted}
PRESET_B=${2:-port-symmetric}
shift $(($# > 2 ? 2 : $#))
B_OPTS=("$@")
[ ${#B_OPTS[@]} -gt 0 ] || B_OPTS=(--alloc sequential --delta 2 --lambda 2)

bash scripts/deps.sh
echo "demo: building"
BUILD=${BUILD:-build}
make -j2 --no-print-directory BUILD="$BUILD" all natbox
case "$BUILD" in /*) ;; *) BUILD=$PWD/$BUILD ;; esac
export NATBOX=$BUILD/natbox

# One lab per machine: wait for a running test suite to finish.
mkdir -p /run/lock
exec 9>/run/lock/rvlab.lock
echo "demo: waiting for the lab (a test suite may be using it)"
flock -w 900 9 || {
	echo "demo: the lab is busy (/run/lock/rvlab.lock); try again later" >&2
	exit 1
}
export RVLAB_LOCKED=1

D=$(mktemp -d /tmp/rvdemo.XXXXXX)
pids=()
finish() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	scripts/natlab.sh down >/dev/null 2>&1 || true
	echo "demo: lab torn down (logs were in $D)"
}
trap finish EXIT
trap 'echo; echo "demo: interrupted"; exit 130' INT TERM

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
in_ns() {
	local ns=$1
	shift
	ip netns exec "rvl-$ns" "$@"
}

step "the operator: keys, and the makers' registry of two devices"
"$BUILD/rvcontrol" --keys "$D/keys" keygen
"$BUILD/rvpeer" device-keygen --device-id demo-device-A --out "$D/a.key" >"$D/registry"
"$BUILD/rvpeer" device-keygen --device-id demo-device-B --out "$D/b.key" >>"$D/registry"
"$BUILD/rvcontrol" --db "$D/rv.db" import-devices "$D/registry"

step "the lab: server 192.0.2.1/.2, site a behind $PRESET_A, site b behind $PRESET_B ${B_OPTS[*]}"
scripts/natlab.sh down >/dev/null
scripts/natlab.sh up --server-mode dpdk
scripts/natlab.sh nat a --preset "$PRESET_A" --alloc preserving
scripts/natlab.sh nat b --preset "$PRESET_B" "${B_OPTS[@]}"

step "rvdp (DPDK on net_af_packet) answers STUN and probes; rvcontrol behind it"
in_ns srv "$BUILD/rvdp" -l 0-1 --no-huge -m 256 --no-pci --file-prefix rvdemo \
	--vdev net_af_packet0,iface=eth0 -- --addr 192.0.2.1 --alt-addr 192.0.2.2 \
	--control "$D/rvdp.sock" --idle-sleep-us 100 >"$D/rvdp.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do [ -S "$D/rvdp.sock" ] && break; sleep 0.1; done
[ -S "$D/rvdp.sock" ] || {
	echo "demo: rvdp did not start:" >&2
	tail -5 "$D/rvdp.log" >&2
	exit 1
}
grep "rvdp: serving" "$D/rvdp.log" || true
"$BUILD/rvcontrol" --db "$D/rv.db" --keys "$D/keys" --dataplane "$D/rvdp.sock" -v \
	>"$D/rvcontrol.log" 2>&1 &
pids+=($!)
sleep 0.5

step "device B (site b): classify its NAT, authenticate, register, wait for partners"
mkdir -p "$D/inbox"
in_ns b1 "$BUILD/rvpeer" -s 192.0.2.1 -k "$D/b.key" --timeline listen --echo --save "$D/inbox" \
	--count 1 >"$D/b.out" 2>&1 &
bpid=$!
pids+=($bpid)
for _ in $(seq 150); do grep -q "^locator" "$D/b.out" 2>/dev/null && break; sleep 0.1; done
sed 's/^timeline /  B /' "$D/b.out"
LOC_B=$(awk '/^locator/ { print $2 }' "$D/b.out")
[ -n "$LOC_B" ] || {
	echo "demo: device B did not register" >&2
	exit 1
}

step "device A (site a): classify, authenticate, register, and connect to B ($LOC_B)"
head -c 200000 /dev/urandom >"$D/photo.bin"
in_ns a1 "$BUILD/rvpeer" -s 192.0.2.1 -k "$D/a.key" --timeline connect "$LOC_B" \
	--send "$D/photo.bin" 2>&1 | sed 's/^timeline /  A /'
status=${PIPESTATUS[0]}
wait "$bpid" 2>/dev/null || true

step "device B's side of it"
sed -n '/server: /,$p' "$D/b.out" | sed 's/^timeline /  B /'

step "what the operator sees"
"$BUILD/rvcontrol" --db "$D/rv.db" stats
grep -E "attempt .* ended" "$D/rvcontrol.log" || true
if [ "$status" -eq 0 ] && cmp -s "$D/photo.bin" "$D/inbox/photo.bin"; then
	echo
	echo "demo: A ($PRESET_A) and B ($PRESET_B) connected directly; the file arrived intact"
else
	echo
	echo "demo: the connection did not complete (status $status); logs in $D" >&2
	trap - EXIT
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	scripts/natlab.sh down >/dev/null 2>&1 || true
	exit 1
fi
