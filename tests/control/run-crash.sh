#!/usr/bin/env bash
# rvcontrol survives kill -9 (part of `make test`): real peers (crashload,
# on libpeer) authenticate (a ticket each), register and join groups against
# a standalone rvcontrol on loopback; the daemon is killed with SIGKILL at a
# random moment, CRASH_CYCLES times (default 200; more for a soak). After
# every restart the database passes its integrity check and every
# registration acknowledged so far is in the registry (every group
# membership too, checked every 20 cycles and at the end); registering goes
# on. Restart time is reported against the registry size. At the end
# SIGTERM stops the daemon cleanly.
#
# Exit 0 pass, 1 fail. Logs of a failed run are kept in $BUILD/crash-logs/.
set -uo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
case "$BUILD" in /*) ;; *) BUILD=$PWD/$BUILD ;; esac
RVC=$BUILD/rvcontrol
LOAD=$BUILD/tests/crashload
for b in "$RVC" "$LOAD"; do
	[ -x "$b" ] || {
		echo "crash: $b is not built (make test builds it)"
		exit 1
	}
done

CYCLES=${CRASH_CYCLES:-200}
DEVICES=$((CYCLES * 80 + 1000))
DIR=$(mktemp -d /tmp/rvcrash.XXXXXX)
PORT=$((20000 + $$ % 20000))
rc=1
daemon=
load=
cleanup() {
	[ -n "$load" ] && kill "$load" 2>/dev/null
	[ -n "$daemon" ] && kill -9 "$daemon" 2>/dev/null
	if [ $rc -ne 0 ]; then
		mkdir -p "$BUILD/crash-logs"
		cp "$DIR"/*.log "$DIR"/acks* "$BUILD/crash-logs/" 2>/dev/null
		echo "crash: logs kept in $BUILD/crash-logs/"
	fi
	rm -rf "$DIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() {
	echo "crash: FAIL: $*"
	exit 1
}
rvc() { "$RVC" --db "$DIR/rv.db" --keys "$DIR/keys" "$@"; }
now_ms() { date +%s%3N; }

# Start the daemon; restart_ms = until it answers (a registration of the
# device reserved for that).
start_daemon() {
	local t0
	t0=$(now_ms)
	# Not through rvc(): $! must be rvcontrol itself, not a subshell.
	"$RVC" --db "$DIR/rv.db" --keys "$DIR/keys" --listen "127.0.0.1:$PORT" --expiry 3600 \
		>>"$DIR/daemon.log" 2>&1 &
	daemon=$!
	for _ in $(seq 200); do
		if "$LOAD" register "127.0.0.1:$PORT" $((DEVICES - 1)) 1 100 >/dev/null 2>&1; then
			restart_ms=$(($(now_ms) - t0))
			return 0
		fi
		kill -0 "$daemon" 2>/dev/null || fail "rvcontrol exited at start (daemon.log)"
	done
	fail "rvcontrol did not answer within 20 s"
}

# Everything acknowledged so far is there.
verify() {
	local cycle=$1 groups=$2
	rvc check >"$DIR/check.log" 2>&1 || fail "cycle $cycle: integrity check: $(cat "$DIR/check.log")"
	rvc sessions --json >"$DIR/sessions.json" || fail "cycle $cycle: sessions"
	awk '$1 == "ack" { print $2 }' "$DIR"/acks.* | sort -u >"$DIR/acked"
	grep -o '"locator": "[0-9a-f]*"' "$DIR/sessions.json" | cut -d'"' -f4 | sort -u >"$DIR/present"
	lost=$(comm -23 "$DIR/acked" "$DIR/present" | wc -l)
	[ "$lost" -eq 0 ] ||
		fail "cycle $cycle: $lost of $(wc -l <"$DIR/acked") acknowledged registrations lost"
	[ "$groups" = yes ] || return 0
	for g in $(seq 0 7); do
		awk -v g="crash-g$g" '$1 == "ack" && $4 == g { print $2 }' "$DIR"/acks.* | sort -u \
			>"$DIR/acked.g"
		[ -s "$DIR/acked.g" ] || continue
		rvc group "crash-g$g" --json >"$DIR/group.json" || fail "cycle $cycle: group crash-g$g"
		grep -o '"locator": "[0-9a-f]*"' "$DIR/group.json" | cut -d'"' -f4 | sort -u \
			>"$DIR/members"
		lost=$(comm -23 "$DIR/acked.g" "$DIR/members" | wc -l)
		[ "$lost" -eq 0 ] || fail "cycle $cycle: $lost acknowledged joins of crash-g$g lost"
	done
}

t0=$SECONDS
rvc keygen >/dev/null || fail "keygen"
"$LOAD" registry $DEVICES >"$DIR/registry" || fail "crashload registry"
rvc import-devices "$DIR/registry" >/dev/null || fail "import-devices"

next=0
total=0
report=""
start_daemon
for cycle in $(seq "$CYCLES"); do
	# A short timeout: once the daemon is dead the load notices at once.
	"$LOAD" register "127.0.0.1:$PORT" $next $((DEVICES - 1 - next)) 300 >"$DIR/acks.$cycle" &
	load=$!
	# Kill at a moment nobody chose: 20 to 150 ms into the stream.
	sleep "0.$(printf '%03d' $((20 + RANDOM % 130)))"
	kill -9 "$daemon"
	wait "$daemon" 2>/dev/null
	daemon=
	wait "$load"
	st=$?
	load=
	[ $st -eq 3 ] || [ $st -eq 0 ] || fail "cycle $cycle: the load failed (status $st)"
	acked=$(grep -c '^ack' "$DIR/acks.$cycle")
	total=$((total + acked))
	next=$((next + acked + 1)) # the device in flight may or may not be in
	[ $next -lt $((DEVICES - 1)) ] || fail "cycle $cycle: out of test devices"
	start_daemon
	if [ $((cycle % 20)) -eq 0 ] || [ "$cycle" -eq "$CYCLES" ]; then
		verify "$cycle" yes
		report="$report$(printf '\n  after %4d cycles: %6d registrations, restart %4d ms' \
			"$cycle" "$(wc -l <"$DIR/present")" "$restart_ms")"
	else
		verify "$cycle" no
	fi
done
[ "$total" -gt 0 ] || fail "nothing was ever acknowledged"
kill -TERM "$daemon"
wait "$daemon"
st=$?
daemon=
[ $st -eq 0 ] || fail "rvcontrol exited $st on SIGTERM"
echo "crash: restart time against the registry size:$report"
rc=0
echo "crash: ok: $CYCLES kill -9 cycles, $total acknowledged registrations + group joins," \
	"none lost, integrity ok every time ($((SECONDS - t0)) s)"
