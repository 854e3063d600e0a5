#!/usr/bin/env bash
# `make bench`: rvdp measured against the link's limit and against what
# operators run instead, in one run on one machine (issue 7).
#
#   scripts/bench.sh [--smoke] [--runs N] [--duration-ms N] [--only LIST] [--keep]
#
# One core generates (CPU 0), one serves (CPU 1). In each of --runs rounds,
# back to back on the Binding flood (full speed, then 80 % of that for the
# latency): the link's limit (dpdk-testpmd macswap on a net_memif link,
# loaded by rvgen), rvdp on the same link, and coturn (Debian's turnserver,
# STUN only, one relay thread) on loopback loaded by rvflood (sendmmsg /
# recvmmsg). Each headline ratio is the median of the per-round ratios, so
# both sides of a ratio saw the same background load. Then rvdp alone: the
# RFC 5780 mix, the hostile mix, the control trickle, and probes with 1 K /
# 1 M / 10 M sessions installed (rvbenchctl), --runs runs each; the RFC 2544
# no-loss rates of the baseline and rvdp. The relay step (issue 8), in
# rounds too: TURN ChannelData through K relays (rvbenchctl installs them,
# rvgen's --prologue binds their sides), 16 and 512 data bytes, rvdp
# against testpmd macswap on the same frames, and the kernel-socket relays
# (rvcontrol standalone; coturn's TURN relay) loaded by rvflood --relay.
# Writes a table on stdout, $OUT/results.json and $OUT/answered.png
# (gnuplot).
#
# --smoke: a few seconds, small scenarios, one short round: only checks that
# numbers come out (tests/bench/run-smoke.sh). --only: comma list of steps
# (baseline,binding,coturn,search,mix,hostile,trickle,probes,relay).
# Environment: BUILD (build), BENCH_OUT ($BUILD/bench), RVDP (an rvdp binary
# to measure instead of $BUILD/rvdp), FILL_TIMEOUT (s, 120), BENCH_SESSIONS
# (table sizes, "1000 1000000 10000000").
# Exit: 0 done (targets are printed, never asserted), 1 failure,
# 125 the machine cannot run it (reason printed).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
BUILD=${BUILD:-build}
OUT=${BENCH_OUT:-$BUILD/bench}
RVDP=${RVDP:-$BUILD/rvdp}
RVGEN=$BUILD/rvgen
FLOOD=$BUILD/rvflood
CTL=$BUILD/rvbenchctl
PY=/usr/bin/python3
FILL_TIMEOUT=${FILL_TIMEOUT:-120}
export PYTHONDONTWRITEBYTECODE=1

SMOKE=0 KEEP=0 RUNS=5 DUR=2000 ONLY=
while [ $# -gt 0 ]; do
	case "$1" in
	--smoke) SMOKE=1 ;;
	--keep) KEEP=1 ;;
	--runs) RUNS=$2; shift ;;
	--duration-ms) DUR=$2; shift ;;
	--only) ONLY=$2; shift ;;
	-h | --help) sed -n '2,31p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "bench: unknown option '$1' (see --help)" >&2; exit 2 ;;
	esac
	shift
done
[[ "$RUNS" =~ ^[0-9]+$ && "$RUNS" -ge 1 && "$RUNS" -le 64 ]] || { echo "bench: --runs 1..64" >&2; exit 2; }
[[ "$DUR" =~ ^[0-9]+$ && "$DUR" -ge 10 ]] || { echo "bench: --duration-ms >= 10" >&2; exit 2; }
if [ $SMOKE = 1 ]; then
	RUNS=1 DUR=300 WARM=100
	ONLY=${ONLY:-baseline,binding,probes,coturn,relay}
	COUNT_BIND=256 COUNT_PROBES=2048 SESSIONS="1000" RELAYS=50 RELAY_SIZES="16"
else
	WARM=500
	COUNT_BIND=4096 COUNT_PROBES=262144 SESSIONS=${BENCH_SESSIONS:-1000 1000000 10000000}
	RELAYS=1000 RELAY_SIZES="16 512"
fi

say() { echo "bench: $*" >&2; }
skip() { echo "bench: SKIP: $*"; exit 125; }
die() { echo "bench: FAIL: $*"; exit 1; }
want() { [ -z "$ONLY" ] || [[ ",$ONLY," == *",$1,"* ]]; }

# --- preflight ---------------------------------------------------------------
[ "$(nproc)" -ge 2 ] || skip "needs two CPUs (one generates, one serves); this machine has $(nproc)"
for b in "$RVDP" "$RVGEN" "$FLOOD" "$CTL"; do
	[ -x "$b" ] || die "$b not built (make bench builds it)"
done
if want relay; then
	for b in "$BUILD/rvcontrol" "$BUILD/rvpeer"; do
		[ -x "$b" ] || die "$b not built (make bench builds it)"
	done
fi
[ -x $PY ] || skip "$PY missing (Debian's python3: scripts/deps.sh)"
command -v dpdk-testpmd >/dev/null || skip "dpdk-testpmd missing (Debian's dpdk-dev: scripts/deps.sh)"
if { want coturn || want relay; } && ! command -v turnserver >/dev/null; then
	skip "turnserver missing (Debian's coturn: scripts/deps.sh)"
fi

WORK=$(mktemp -d /tmp/rvbench.XXXXXX) || die "mktemp"
PFX=rvbench$$
RUNDIR=$OUT/runs
mkdir -p "$RUNDIR" "$OUT/scenarios" || die "cannot create $OUT"
rm -f "$RUNDIR"/*.json "$OUT/results.json"
SERVER_PID= SERVER_NAME= SERVER_SIG=INT HOLD_PID= GEN_PID= GEN_NAME=
cleanup() {
	[ -n "$HOLD_PID" ] && kill "$HOLD_PID" 2>/dev/null
	stop_server
	stop_gen
	wait 2>/dev/null
	for d in /var/run/dpdk /run/dpdk "${XDG_RUNTIME_DIR:-/nonexistent}/dpdk" /tmp/dpdk; do
		rm -rf "$d/$PFX"-* 2>/dev/null
	done
	[ $KEEP = 1 ] && say "work directory kept: $WORK" || rm -rf -- "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
T0=$SECONDS

eal() { echo --no-huge -m "$1" --no-pci --file-prefix "$PFX-$2"; }

# --- scenarios: generated once, again when a generator changes ----------------
scenario() { # NAME SCRIPT [ARGS...]
	local name=$1 script=pktgen-scenarios/$2; shift 2
	local pcap=$OUT/scenarios/$name.pcap
	if [ ! -s "$pcap" ] || [ "$script" -nt "$pcap" ] || [ pktgen-scenarios/scenlib.py -nt "$pcap" ] ||
		[ tests/dp/dplib.py -nt "$pcap" ] || [ "$(meta "$name" frames)" != "$COUNT_WANT" ]; then
		say "generating $name"
		$PY "$script" --out "$OUT/scenarios" --count "$COUNT_WANT" "$@" >&2 ||
			die "pktgen-scenarios/$script failed"
	fi
}
meta() { # NAME KEY: a field of the scenario's description, JSON lists space-joined
	$PY - "$OUT/scenarios/$1.json" "$2" <<'EOF' 2>/dev/null
import json, sys
try:
    v = json.load(open(sys.argv[1])).get(sys.argv[2], "")
except (OSError, ValueError):
    v = ""
print(" ".join(map(str, v)) if isinstance(v, list) else v)
EOF
}
label() { case $1 in 1000) echo 1k ;; 1000000) echo 1m ;; 10000000) echo 10m ;; *) echo "$1" ;; esac; }

COUNT_WANT=$COUNT_BIND scenario binding-flood binding_flood.py
want mix && COUNT_WANT=$((COUNT_BIND - COUNT_BIND % 20)) scenario rfc5780-mix rfc5780_mix.py
if want probes; then
	for n in $SESSIONS; do COUNT_WANT=$COUNT_PROBES scenario "probes-$(label "$n")" probes.py --sessions "$n"; done
fi
want hostile && COUNT_WANT=$((SMOKE ? 2000 : 65500)) scenario hostile-mix hostile_mix.py
want trickle && COUNT_WANT=$((SMOKE ? 5000 : 65000)) scenario control-trickle control_trickle.py
relay_name() { [ "$1" = 16 ] && echo relay-min || echo "relay-$1"; }
if want relay; then
	for b in $RELAY_SIZES; do
		COUNT_WANT=$((2 * RELAYS)) scenario "$(relay_name "$b")" relay.py --relays $RELAYS --data-bytes "$b"
	done
fi

# --- the servers (system under test: CPU 1; control thread with the generator) ---
stop_server() {
	[ -n "$SERVER_PID" ] || return 0
	kill -"$SERVER_SIG" "$SERVER_PID" 2>/dev/null
	for _ in $(seq 100); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
	if kill -KILL "$SERVER_PID" 2>/dev/null; then
		say "$SERVER_NAME did not stop within 10 s of SIG$SERVER_SIG: killed"
	fi
	wait "$SERVER_PID" 2>/dev/null
	exited "$?"
	SERVER_PID=
	stop_gen
}

exited() { # STATUS: a server that crashed (not our signal) is reported, not hidden
	local st=$1 ours
	ours=$((128 + $(kill -l "$SERVER_SIG")))
	[ "$st" -eq 0 ] || [ "$st" -eq "$ours" ] && return 0
	say "WARNING: $SERVER_NAME exited with status $st$([ "$st" -gt 128 ] && echo " (signal $(kill -l $((st - 128))))")"
	echo "{\"server\":\"$SERVER_NAME\",\"status\":$st}" >"$RUNDIR/$SERVER_NAME.exit.json"
	sed 's/^/    /' "$WORK/$SERVER_NAME.log" 2>/dev/null | tail -n 5 >&2
}

start_testpmd() { # NAME
	SERVER_NAME=$1
	dpdk-testpmd --lcores 0@0,1@1 $(eal 512 "$1") \
		--vdev "net_memif0,role=server,socket=$WORK/$1.sock" -- --forward-mode=macswap \
		--auto-start --no-mlockall --total-num-mbufs=16384 --stats-period 3600 \
		</dev/null >"$WORK/$1.log" 2>&1 &
	SERVER_PID=$! SERVER_SIG=INT
	ready "packet forwarding - ports="
}

ready() { # LOG_TEXT: wait until the server's log says it serves (a memif client that
	# connects to a server still starting may leave the link down)
	for _ in $(seq 300); do
		grep -q "$1" "$WORK/$SERVER_NAME.log" 2>/dev/null && return 0
		kill -0 "$SERVER_PID" 2>/dev/null || server_failed
		sleep 0.05
	done
	say "$SERVER_NAME: no '$1' in its log after 15 s; trying anyway"
}

start_rvdp() { # NAME [rvdp options...]
	local name=$1; shift
	SERVER_NAME=$name
	# shellcheck disable=SC2046
	"$RVDP" --lcores 0@0,1@1 $(eal 1024 "$name") \
		--vdev "net_memif0,role=server,socket=$WORK/$name.sock" -- \
		--addr 192.0.2.1 --alt-addr 192.0.2.2 --mac 02:00:00:00:00:01 \
		--control "$WORK/$name.ctl" --json "$@" >"$RUNDIR/$name.rvdp.json" 2>"$WORK/$name.log" &
	SERVER_PID=$! SERVER_SIG=INT
	ready "rvdp: serving"
}

server_failed() { # the server died: skip when DPDK cannot run here at all
	local log=$WORK/$SERVER_NAME.log
	if grep -qiE 'EAL init failed|Cannot init|Cannot allocate|Permission denied|not permitted' "$log" 2>/dev/null; then
		sed 's/^/    /' "$log" | tail -n 8
		skip "DPDK cannot run here (see the log above)"
	fi
	sed 's/^/    /' "$log" | tail -n 20
	die "$SERVER_NAME exited (log above)"
}

gen() { # RUN_NAME PCAP [rvgen options]: rvgen on the current server's link. It lingers,
	# connected, after its report: stop_server stops the server first, then rvgen (a memif
	# server may crash when its client leaves while it polls).
	local name=$1 pcap=$2 want=1; shift 2
	[[ " $* " == *" --paced-pct "* ]] && want=2
	say "$name: $(basename "$pcap") $*"
	: >"$WORK/$name.out"
	# shellcheck disable=SC2046
	"$RVGEN" --lcores 0@0 $(eal 512 "gen-$name") \
		--vdev "net_memif0,role=client,socket=$WORK/$SERVER_NAME.sock" -- \
		--pcap "$pcap" --scenario "${name%%.*}" --json --runs "$RUNS" --duration-ms "$DUR" \
		--warmup-ms "$WARM" --link-wait-ms 20000 --linger "$@" \
		>"$WORK/$name.out" 2>"$WORK/gen-$name.log" &
	GEN_PID=$! GEN_NAME=$name
	while kill -0 "$GEN_PID" 2>/dev/null && [ "$(reports "$WORK/$name.out")" -lt $want ]; do
		sleep 0.1
	done
	if ! kill -0 "$GEN_PID" 2>/dev/null; then
		wait "$GEN_PID"
		local rc=$?
		GEN_PID=
		kill -0 "$SERVER_PID" 2>/dev/null || server_failed
		sed 's/^/    /' "$WORK/gen-$name.log" | grep -v '^    EAL:' | tail -n 10
		die "rvgen exited $rc on $name"
	fi
	split_reports "$name" "$WORK/$name.out"
}

split_reports() { # RUN_NAME FILE: report 1 -> NAME.json, the paced one -> NAME-80.json
	local base=${1%%.*} rest=${1#"${1%%.*}"}
	sed -n 1p "$2" >"$RUNDIR/$1.json"
	[ "$(reports "$2")" -lt 2 ] || sed -n 2p "$2" >"$RUNDIR/$base-80$rest.json"
}

reports() { grep -c '^{.*}$' "$1" 2>/dev/null || true; } # complete JSON lines in FILE

stop_gen() {
	[ -n "$GEN_PID" ] || return 0
	kill -TERM "$GEN_PID" 2>/dev/null
	wait "$GEN_PID" 2>/dev/null || say "rvgen exited $? after $GEN_NAME"
	GEN_PID=
}

rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

fill() { # RUN_NAME SESSIONS [--hold-ms N]: rvbenchctl on the current rvdp, fill + fence
	local name=$1 n=$2; shift 2
	timeout -s TERM "$FILL_TIMEOUT" "$CTL" --control "$WORK/$SERVER_NAME.ctl" --sessions "$n" \
		--seed 7 --json "$@" >"$RUNDIR/$name.fill.json" 2>"$WORK/$name.fill.log"
}

start_scenario() { # NAME [SERVER_NAME]: rvdp with the scenario's options, sessions, relays
	local name=$1 server=${2:-$1} sessions relays
	sessions=$(meta "$name" sessions)
	relays=$(meta "$name" relays)
	# shellcheck disable=SC2046
	start_rvdp "$server" $(meta "$name" rvdp_args)
	if [ "${sessions:-0}" -gt 0 ] || [ "${relays:-0}" -gt 0 ]; then
		fill "$server" "${sessions:-0}" --relays "${relays:-0}" || {
			kill -0 "$SERVER_PID" 2>/dev/null || server_failed
			die "rvbenchctl: $(cat "$WORK/$server.fill.log")"
		}
	fi
}

scenario_gen() { # RUN_NAME SCENARIO [rvgen options]: the scenario's rvgen options, full speed
	local run=$1 name=$2
	shift 2
	# shellcheck disable=SC2046
	gen "$run" "$OUT/scenarios/$name.pcap" --expect "$(meta "$name" expect)" \
		$(meta "$name" rvgen_args) "$@"
}

listening() { # PORT NAME: wait until a UDP socket listens on 127.0.0.1:PORT
	for _ in $(seq 50); do ss -lun 2>/dev/null | grep -q "127.0.0.1:$1 " && return 0; sleep 0.1; done
	sed 's/^/    /' "$WORK/$2.log" | tail
	die "$2 did not listen on $1"
}

start_coturn() { # [turnserver options]: STUN only, or (with options) the TURN relay
	COTURN_PORT=$((20000 + $$ % 20000))
	taskset -c 1 turnserver -n -L 127.0.0.1 --listening-port $COTURN_PORT --no-tcp --no-tls \
		--no-dtls --no-tcp-relay --no-cli -m 1 --log-file stdout --simple-log \
		-b "$WORK/turndb" "${@:---stun-only}" >"$WORK/coturn.log" 2>&1 &
	SERVER_PID=$! SERVER_NAME=coturn SERVER_SIG=TERM
	listening $COTURN_PORT coturn
}

# The kernel-socket relays: long-term credentials for coturn's TURN relay
# (relay addresses on loopback, which coturn refuses unless told); two
# devices for rvcontrol standalone, whose relay has no quota worth the name.
TURN_AUTH=(--turn-user bench:bench --turn-realm rvbench)
start_coturn_turn() {
	start_coturn -E 127.0.0.1 --min-port 49152 --max-port 49252 --lt-cred-mech \
		--user bench:bench --realm rvbench --allow-loopback-peers
}

rvcontrol_devices() { # once: signing keys, two devices, their registry imported
	[ -s "$WORK/b.key" ] && return 0
	"$BUILD/rvcontrol" --keys "$WORK/keys" keygen >/dev/null &&
		"$BUILD/rvpeer" device-keygen --device-id bench-a --out "$WORK/a.key" >"$WORK/registry" &&
		"$BUILD/rvpeer" device-keygen --device-id bench-b --out "$WORK/b.key" >>"$WORK/registry" &&
		"$BUILD/rvcontrol" --db "$WORK/rv.db" import-devices "$WORK/registry" >/dev/null ||
		die "rvcontrol: devices for the relay"
}

start_rvcontrol() { # standalone on loopback, CPU 1, as coturn
	rvcontrol_devices
	COTURN_PORT=$((20000 + ($$ + 1) % 20000))
	taskset -c 1 "$BUILD/rvcontrol" --db "$WORK/rv.db" --keys "$WORK/keys" \
		--listen 127.0.0.1:$COTURN_PORT --relay-mb 1000000 --relay-pps 10000000 \
		--relay-burst 10000000 >"$WORK/rvcontrol.log" 2>&1 &
	SERVER_PID=$! SERVER_NAME=rvcontrol SERVER_SIG=TERM
	listening $COTURN_PORT rvcontrol
}

flood() { # RUN_NAME [rvflood options]: the kernel-socket flood against coturn
	local name=$1; shift
	say "$name: rvflood $*"
	taskset -c 0 "$FLOOD" --server "127.0.0.1:$COTURN_PORT" --json --runs "$RUNS" \
		--duration-ms "$DUR" --warmup-ms "$WARM" "$@" >"$WORK/$name.out" 2>"$WORK/$name.log" ||
		{ cat "$WORK/$name.log"; die "rvflood failed"; }
	split_reports "$name" "$WORK/$name.out"
}

# 1-3, the headline, in rounds: each round measures the link's limit (testpmd
# macswap), rvdp and coturn back to back on the Binding flood, full speed then
# 80 % of that, so each ratio pairs runs that saw the same background load.
BIND=$OUT/scenarios/binding-flood.pcap
for r in $(seq "$RUNS"); do
	if want baseline; then
		start_testpmd "baseline-r$r"
		gen "baseline.r$r" "$BIND" --flows 1000000 --runs 1 --paced-pct 80
		stop_server
	fi
	if want binding; then
		start_scenario binding-flood "binding-flood-r$r"
		scenario_gen "binding-flood.r$r" binding-flood --runs 1 --paced-pct 80
		stop_server
	fi
	if want coturn; then
		start_coturn
		flood "coturn.r$r" --runs 1 --paced-pct 80
		stop_server
	fi
done
# 5. The relay (issue 8), in rounds: per frame size, the link's limit on the
# very same frames (macswap), rvdp relaying them, then the kernel-socket
# relays loaded by rvflood --relay.
for r in $(seq "$RUNS"); do
	want relay || break
	for b in $RELAY_SIZES; do
		sc=$(relay_name "$b")
		start_testpmd "$sc-link-r$r"
		gen "$sc-link.r$r" "$OUT/scenarios/$sc.pcap" --runs 1 --paced-pct 80
		stop_server
		start_scenario "$sc" "$sc-r$r"
		scenario_gen "$sc.r$r" "$sc" --runs 1 --paced-pct 80
		stop_server
		start_rvcontrol
		flood "$sc-rvcontrol.r$r" --relay rvcontrol --peer-keys "$WORK/a.key,$WORK/b.key" \
			--data-bytes "$b" --runs 1 --paced-pct 80
		stop_server
		start_coturn_turn
		flood "$sc-coturn.r$r" --relay turn "${TURN_AUTH[@]}" --data-bytes "$b" --runs 1 \
			--paced-pct 80
		stop_server
	done
done

if want search; then # RFC 2544 no-loss rates, loss <= 0.01 %
	start_testpmd baseline-search
	gen baseline-search "$BIND" --flows 1000000 --search --loss 0.0001 --resolution 0.02 \
		--runs 1 --duration-ms 1000
	stop_server
	start_scenario binding-flood binding-flood-search
	scenario_gen binding-flood-search binding-flood --search --loss 0.0001 --resolution 0.02 \
		--runs 1 --duration-ms 1000
	stop_server
fi

# 2. rvdp: the other scenarios, each in its own rvdp.
for name in rfc5780-mix hostile-mix; do
	want "$([ $name = rfc5780-mix ] && echo mix || echo hostile)" || continue
	start_scenario $name
	scenario_gen $name $name
	stop_server
done
if want trickle; then
	start_rvdp control-trickle $(meta control-trickle rvdp_args)
	# rvbenchctl stays on the control socket, counting PUNTs, until TERM.
	timeout -s TERM "$FILL_TIMEOUT" "$CTL" --control "$WORK/control-trickle.ctl" \
		--sessions "$(meta control-trickle sessions)" --seed 7 --json --hold-ms 3600000 \
		>"$RUNDIR/control-trickle.fill.json" 2>"$WORK/control-trickle.fill.log" &
	HOLD_PID=$!
	sleep 1
	scenario_gen control-trickle control-trickle
	kill -TERM "$HOLD_PID" 2>/dev/null
	wait "$HOLD_PID" 2>/dev/null
	HOLD_PID=
	stop_server
fi

# 4. Table scale: the same probes against 1 K, 1 M, 10 M sessions.
if want probes; then
	failed=
	for n in $SESSIONS; do
		name=probes-$(label "$n")
		if [ -n "$failed" ]; then
			echo "{\"error\":\"skipped: $failed\"}" >"$RUNDIR/$name.fill.json"
			continue
		fi
		need_kb=$((n / 1000 * 700))
		avail_kb=$(awk '/^MemAvailable/ {print $2}' /proc/meminfo)
		if [ "$need_kb" -gt "$avail_kb" ]; then
			echo "{\"error\":\"needs ~$((need_kb / 1024)) MB, $((avail_kb / 1024)) MB available\"}" \
				>"$RUNDIR/$name.fill.json"
			continue
		fi
		# shellcheck disable=SC2046
		start_rvdp "$name" $(meta "$name" rvdp_args)
		sleep 1
		rss0=$(rss_kb "$SERVER_PID")
		say "$name: installing $n sessions (at most ${FILL_TIMEOUT}s)"
		if ! fill "$name" "$n"; then
			kill -0 "$SERVER_PID" 2>/dev/null || server_failed
			failed="filling $n sessions took over ${FILL_TIMEOUT}s ($(cat "$RUNDIR/$name.fill.json" 2>/dev/null | tr -d '\n"{}' | cut -c1-120))"
			$PY - "$RUNDIR/$name.fill.json" "$failed" <<'EOF'
import json, sys
try:
    d = json.load(open(sys.argv[1]))
except (OSError, ValueError):
    d = {}
d["error"] = sys.argv[2]
json.dump(d, open(sys.argv[1], "w"))
EOF
			stop_server
			continue
		fi
		rss1=$(rss_kb "$SERVER_PID")
		echo "{\"sessions\":$n,\"rss_before_kb\":$rss0,\"rss_after_kb\":$rss1}" >"$RUNDIR/$name.mem.json"
		scenario_gen "$name" "$name"
		stop_server
	done
fi

say "measured in $((SECONDS - T0)) s; report:"
$PY tests/bench/report.py --runs "$RUNDIR" --scenarios "$OUT/scenarios" --out "$OUT" \
	--meta "runs=$RUNS" "duration_ms=$DUR" "smoke=$SMOKE" "seconds=$((SECONDS - T0))" ||
	die "report failed"
