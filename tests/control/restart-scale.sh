#!/usr/bin/env bash
# rvcontrol's restart time against the registry size (issue 9, Faults).
#
# For each size N: fillstore fills a fresh database on tmpfs with N
# registrations (5 % already expired), N/16 groups of 16 members and N
# makers' devices, through ctl_store's own API. Then, on a fresh copy each
# time, a standalone rvcontrol on loopback is started and timed from fork
# to its first answer (a STUN Binding, every ms; the answer leaves after
# the first loop turn's commit, so it waits for everything rvcontrol does
# at start) and to its first acknowledged registration (crashload: a ticket,
# register, group join — what run-crash.sh times); median of --runs. The
# same after kill -9 while crashload registers (WAL recovery), after an
# outage longer than --expiry (every row expired: the first tick sweeps
# them all), the database size, `rvcontrol check` time, and fillstore's
# profile of the start's registry work. Not part of make test (minutes at
# 10^6); --quick is a < 10 s run that checks only that numbers come out.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1

usage() {
	cat <<'EOF'
usage: tests/control/restart-scale.sh [options]

Restart time of rvcontrol against registry size (needs BUILD's rvcontrol,
tests/crashload and tests/fillstore: make BUILD=... all BUILD/tests/crashload
BUILD/tests/fillstore).

  --sizes "N ..."   registry sizes (default "1000 10000 100000 1000000")
  --runs R          starts per measurement, the median is reported (3)
  --stream-ms MS    how long crashload registers before the kill -9 (1000)
  --expired PCT     share of the registry already expired at start (5)
  --no-outage       skip the every-row-expired start (it fills N again)
  --json            one JSON object per size instead of the table
  --quick           sizes "1000", 1 run, 200 ms stream: < 10 s, checks
                    only that every figure comes out
  --help            this text

Environment: BUILD (default build). Exit 0 ok, 1 failed, 2 usage.
Times are ms, wall clock, on tmpfs (/dev/shm): no disk, page cache warm.
EOF
}

SIZES="1000 10000 100000 1000000"
RUNS=3
STREAM_MS=1000
EXPIRED=5
OUTAGE=yes
JSON=no
while [ $# -gt 0 ]; do
	case "$1" in
	--sizes) SIZES=${2:?--sizes needs a list}; shift ;;
	--runs) RUNS=${2:?--runs needs a number}; shift ;;
	--stream-ms) STREAM_MS=${2:?--stream-ms needs a number}; shift ;;
	--expired) EXPIRED=${2:?--expired needs a percentage}; shift ;;
	--no-outage) OUTAGE=no ;;
	--json) JSON=yes ;;
	--quick) SIZES=1000 RUNS=1 STREAM_MS=200 ;;
	-h | --help) usage; exit 0 ;;
	*) echo "restart-scale: unknown option '$1' (--help)" >&2; exit 2 ;;
	esac
	shift
done
for v in $SIZES $RUNS $STREAM_MS; do
	[[ "$v" =~ ^[1-9][0-9]*$ ]] || { echo "restart-scale: '$v' is not a positive number" >&2; exit 2; }
done

BUILD=${BUILD:-build}
case "$BUILD" in /*) ;; *) BUILD=$PWD/$BUILD ;; esac
RVC=$BUILD/rvcontrol
LOAD=$BUILD/tests/crashload
FILL=$BUILD/tests/fillstore
for b in "$RVC" "$LOAD" "$FILL"; do
	[ -x "$b" ] || {
		echo "restart-scale: $b is not built (make BUILD=${BUILD##*/} all" \
			"${BUILD##*/}/tests/crashload ${BUILD##*/}/tests/fillstore)" >&2
		exit 1
	}
done

TMPROOT=/dev/shm
[ -d "$TMPROOT" ] && [ -w "$TMPROOT" ] || TMPROOT=/tmp
DIR=$(mktemp -d "$TMPROOT/rvscale.XXXXXX")
PORT=$((40000 + $$ % 20000))
DEVICES=20000 # crashload's test devices (the stream and the probes)
starter=
load=
cleanup() {
	[ -n "$load" ] && kill "$load" 2>/dev/null
	[ -n "$starter" ] && kill -9 "$(daemon_pid)" 2>/dev/null
	[ -n "$starter" ] && wait "$starter" 2>/dev/null
	rm -rf "$DIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() {
	echo "restart-scale: FAIL: $*" >&2
	[ -f "$DIR/daemon.log" ] && tail -5 "$DIR/daemon.log" | sed 's/^/  daemon: /' >&2
	exit 1
}
log() { echo "restart-scale: $*" >&2; }
now_ns() { date +%s%N; }
median() { sort -n | awk '{ a[NR] = $1 } END { print NR ? a[int((NR + 1) / 2)] : "null" }'; }
range() { sort -n | awk 'NR == 1 { lo = $1 } { hi = $1 } END { print NR ? lo "-" hi : "-" }'; }
jget() { sed -n "s/.*\"$2\": \([0-9.]*\).*/\1/p" <<<"$1"; }

# Start rvcontrol on $1 through fillstore (its parent: it reaps it), wait
# for the first answer; sets ready_ms. --group-max 0: crashload's stream
# puts everyone in 8 groups, which the default cap (256) would fill.
daemon_pid() { sed -n 's/^pid=\([0-9]*\).*/\1/p' "$DIR/start.out" 2>/dev/null; }
start_daemon() {
	: >"$DIR/start.out"
	"$FILL" start --timeout 600000 --log "$DIR/daemon.log" "127.0.0.1:$PORT" -- \
		"$RVC" --db "$1" --keys "$DIR/keys" --listen "127.0.0.1:$PORT" --expiry 3600 \
		--group-max 0 >"$DIR/start.out" &
	starter=$!
	while ! grep -q ready_ms "$DIR/start.out"; do
		kill -0 "$starter" 2>/dev/null || {
			grep -q ready_ms "$DIR/start.out" && break
			fail "rvcontrol did not start on $1"
		}
		sleep 0.01
	done
	ready_ms=$(sed -n 's/.*ready_ms=\([0-9.]*\).*/\1/p' "$DIR/start.out")
}
# SIGTERM (clean) or SIGKILL ($1), and the end of the starter.
stop_daemon() {
	kill "-$1" "$(daemon_pid)"
	wait "$starter"
	local st=$?
	starter=
	[ "$1" = KILL ] || [ $st -eq 0 ] || fail "rvcontrol exited $st on SIGTERM"
}
# The first acknowledged registration (ticket, register, group join) of
# device $1, timed by the shell around crashload; sets reg_ms.
first_reg() {
	local t0
	t0=$(now_ns)
	"$LOAD" register "127.0.0.1:$PORT" "$1" 1 2000 >"$DIR/probe.out" ||
		fail "first registration: $(cat "$DIR/probe.out")"
	reg_ms=$((($(now_ns) - t0) / 1000000))
}
# A fresh copy of the pristine database $1 as $DIR/work.db.
fresh() {
	rm -f "$DIR"/work.db*
	cp "$1" "$DIR/work.db"
}
fill() { # DB N EXPIRED-PCT
	"$FILL" fill --json --groups $(($2 / 16 > 0 ? $2 / 16 : 1)) --members $(($2 < 16 ? $2 : 16)) \
		--expired "$3" "$1" "$2" >"$DIR/fill.json" || fail "fillstore fill $2"
	"$RVC" --db "$1" --keys "$DIR/keys" import-devices "$DIR/registry" >/dev/null ||
		fail "import-devices"
}

t_all=$SECONDS
"$RVC" --keys "$DIR/keys" keygen >/dev/null || fail "keygen"
"$LOAD" registry $DEVICES >"$DIR/registry" || fail "crashload registry"
[ "$JSON" = yes ] || printf '%9s %9s %8s %9s %9s %9s %9s %9s %9s %8s %9s\n' \
	registry db_MiB fill_s ready_ms spread reg_ms crash_ms wal_KiB outage_ms check_ms \
	resync_ms
for n in $SIZES; do
	P=$DIR/pristine.db
	rm -f "$P"*
	t0=$(now_ns)
	fill "$P" "$n" "$EXPIRED"
	fill_json=$(cat "$DIR/fill.json")
	fill_s=$(awk -v ns=$(($(now_ns) - t0)) 'BEGIN { printf "%.1f", ns / 1e9 }')
	db_bytes=$(stat -c %s "$P")
	log "N=$n: filled in $fill_s s ($((db_bytes >> 20)) MiB)"

	fresh "$P"
	prof=$("$FILL" profile "$DIR/work.db") || fail "fillstore profile"
	log "N=$n: profile of the start's registry work: $prof"

	: >"$DIR/ready" && : >"$DIR/reg"
	for _ in $(seq "$RUNS"); do
		fresh "$P"
		start_daemon "$DIR/work.db"
		first_reg $((DEVICES - 1))
		echo "$ready_ms" >>"$DIR/ready" && echo "$reg_ms" >>"$DIR/reg"
		stop_daemon TERM
	done
	log "N=$n: clean starts: ready $(range <"$DIR/ready") ms, first registration $(range <"$DIR/reg") ms"

	: >"$DIR/crash" && : >"$DIR/wal" && : >"$DIR/creg" && acked=0
	for _ in $(seq "$RUNS"); do
		fresh "$P"
		start_daemon "$DIR/work.db"
		"$LOAD" register "127.0.0.1:$PORT" 0 $((DEVICES - 2)) 300 >"$DIR/acks" &
		load=$!
		sleep "$(awk -v ms="$STREAM_MS" 'BEGIN { printf "%.3f", ms / 1000 }')"
		wal=$(stat -c %s "$DIR/work.db-wal" 2>/dev/null || echo 0)
		stop_daemon KILL
		wait "$load"
		st=$?
		load=
		[ $st -eq 3 ] || [ $st -eq 0 ] || fail "the load failed (status $st)"
		acked=$((acked + $(grep -c '^ack' "$DIR/acks")))
		start_daemon "$DIR/work.db"
		first_reg $((DEVICES - 1))
		echo "$ready_ms" >>"$DIR/crash" && echo $((wal >> 10)) >>"$DIR/wal" &&
			echo "$reg_ms" >>"$DIR/creg"
		# The last acknowledged registration survived the kill.
		last=$(awk '$1 == "ack" { l = $2 } END { print l }' "$DIR/acks")
		if [ -n "$last" ]; then
			"$RVC" --db "$DIR/work.db" lookup "$last" | grep -qv offline ||
				fail "N=$n: acknowledged registration $last lost"
		fi
		stop_daemon TERM
	done
	[ $acked -gt 0 ] || fail "N=$n: crashload never got a registration acknowledged"
	t0=$(now_ns)
	"$RVC" --db "$DIR/work.db" check >"$DIR/check.out" || fail "N=$n: check: $(cat "$DIR/check.out")"
	check_ms=$((($(now_ns) - t0) / 1000000))
	log "N=$n: after kill -9: ready $(range <"$DIR/crash") ms (WAL $(range <"$DIR/wal") KiB," \
		"$acked registrations acknowledged in the streams), check $check_ms ms"

	outage=null
	if [ "$OUTAGE" = yes ]; then
		rm -f "$P"*
		fill "$P" "$n" 100
		fresh "$P"
		rm -f "$P"*
		start_daemon "$DIR/work.db"
		outage=$ready_ms
		stop_daemon TERM
		log "N=$n: every row expired: ready $outage ms"
	fi
	rm -f "$DIR"/work.db*

	ready=$(median <"$DIR/ready")
	row=$(printf '"registrations": %d, "db_bytes": %d, "fill_s": %s, "ready_ms": %s, "ready_range_ms": "%s", "first_reg_ms": %s, "crash_ready_ms": %s, "crash_range_ms": "%s", "crash_wal_kib": %s, "crash_first_reg_ms": %s, "outage_ready_ms": %s, "check_ms": %d, "runs": %d' \
		"$n" "$db_bytes" "$fill_s" "$ready" "$(range <"$DIR/ready")" "$(median <"$DIR/reg")" \
		"$(median <"$DIR/crash")" "$(range <"$DIR/crash")" "$(median <"$DIR/wal")" \
		"$(median <"$DIR/creg")" "$outage" "$check_ms" "$RUNS")
	for k in open_ms reg_count_ms device_count_ms first_sweep_ms swept resync_ms \
		resync_sessions; do
		v=$(jget "$prof" "$k")
		row="$row, \"$k\": ${v:-null}"
	done
	for k in expired memberships devices; do
		v=$(jget "$fill_json" "$k")
		row="$row, \"fill_$k\": ${v:-null}"
	done
	for v in "$ready" "$(median <"$DIR/crash")" "$check_ms"; do
		[[ "$v" =~ ^[0-9.]+$ ]] || fail "N=$n: a figure did not come out: $row"
	done
	if [ "$JSON" = yes ]; then
		echo "{$row}"
	else
		printf '%9d %9.1f %8s %9s %9s %9s %9s %9s %9s %8s %9s\n' "$n" \
			"$(awk -v b="$db_bytes" 'BEGIN { print b / 1048576 }')" "$fill_s" "$ready" \
			"$(range <"$DIR/ready")" "$(median <"$DIR/reg")" "$(median <"$DIR/crash")" \
			"$(median <"$DIR/wal")" "$outage" "$check_ms" "$(jget "$prof" resync_ms)"
	fi
done
log "done in $((SECONDS - t_all)) s"
