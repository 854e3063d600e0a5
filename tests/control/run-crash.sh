#!/usr/bin/env bash
# rvcontrol survives kill -9 (part of `make test`): real peers (crashload,
# on libpeer) authenticate and register against a standalone rvcontrol on
# loopback; the daemon is killed with SIGKILL mid-stream, three times;
# after each restart every registration that was acknowledged is in the
# registry, the database passes its integrity check, and registering goes
# on. At the end SIGTERM stops the daemon cleanly.
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

DIR=$(mktemp -d /tmp/rvcrash.XXXXXX)
PORT=$((20000 + $$ % 20000))
DEVICES=4000
ROUNDS=3
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

start_daemon() {
	# Not through rvc(): $! must be rvcontrol itself, not a subshell.
	"$RVC" --db "$DIR/rv.db" --keys "$DIR/keys" --listen "127.0.0.1:$PORT" --expiry 3600 -v \
		>>"$DIR/daemon.log" 2>&1 &
	daemon=$!
	# Ready when it answers: a registration of the device reserved for it.
	for _ in $(seq 50); do
		"$LOAD" register "127.0.0.1:$PORT" $((DEVICES - 1)) 1 >/dev/null 2>&1 && return 0
		kill -0 "$daemon" 2>/dev/null || fail "rvcontrol exited at start (daemon.log)"
		sleep 0.1
	done
	fail "rvcontrol did not answer within 5 s"
}

t0=$SECONDS
rvc keygen >/dev/null || fail "keygen"
"$LOAD" registry $DEVICES >"$DIR/registry" || fail "crashload registry"
rvc import-devices "$DIR/registry" >/dev/null || fail "import-devices"

next=0
for round in $(seq $ROUNDS); do
	start_daemon
	"$LOAD" register "127.0.0.1:$PORT" $next $((DEVICES - 1 - next)) >"$DIR/acks.$round" &
	load=$!
	# Kill once a few hundred are in, at a moment nobody chose.
	want=$((200 + RANDOM % 200))
	for _ in $(seq 200); do
		[ "$(grep -c '^ack' "$DIR/acks.$round")" -ge $want ] && break
		sleep 0.02
	done
	kill -9 "$daemon"
	wait "$daemon" 2>/dev/null
	daemon=
	wait "$load"
	st=$?
	load=
	acked=$(grep -c '^ack' "$DIR/acks.$round")
	[ $st -eq 3 ] || fail "round $round: the load did not notice the kill (status $st)"
	[ "$acked" -gt 0 ] || fail "round $round: nothing was acknowledged before the kill"
	next=$((next + acked + 1)) # the device in flight may or may not be in

	# Restart: everything acknowledged so far must be there.
	start_daemon
	rvc check >"$DIR/check.log" 2>&1 || fail "round $round: integrity check: $(cat "$DIR/check.log")"
	rvc sessions --json >"$DIR/sessions.json" || fail "round $round: sessions"
	cat "$DIR"/acks.* | awk '$1 == "ack" { print $2 }' | sort -u >"$DIR/acked"
	grep -o '"locator": "[0-9a-f]*"' "$DIR/sessions.json" | cut -d'"' -f4 | sort -u >"$DIR/present"
	lost=$(comm -23 "$DIR/acked" "$DIR/present" | wc -l)
	total=$(wc -l <"$DIR/acked")
	[ "$lost" -eq 0 ] || fail "round $round: $lost of $total acknowledged registrations lost after kill -9"
	echo "crash: round $round: killed after $acked acknowledged registrations; after restart all $total acknowledged so far are present"
	kill -TERM "$daemon"
	wait "$daemon"
	st=$?
	daemon=
	[ $st -eq 0 ] || fail "round $round: rvcontrol exited $st on SIGTERM"
done
grep -q "SIGTERM\|draining\|stopped" "$DIR/daemon.log" || fail "the daemon logged nothing about stopping"
rc=0
echo "crash: ok: $ROUNDS kill -9 rounds, no acknowledged registration lost ($((SECONDS - t0)) s)"
