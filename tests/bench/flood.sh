#!/usr/bin/env bash
# Issue 9, "Floods and amplification": a spoofed flood from 10^3, 10^5 and
# 10^7 distinct sources against rvdp with its default budgets, measured with
# the load generator. Memory stays flat, legitimate authenticated peers keep
# being answered, the global budget holds.
#
#   tests/bench/flood.sh [--smoke] [--runs N] [--duration-ms N]
#                            [--sources LIST] [--json] [--check] [--keep]
#
# For each repeat (--runs, 2) and each N of --sources ("1000 100000
# 10000000"): a fresh rvdp (datapath on CPU 1, default budgets) on a
# net_memif link, rvbenchctl installs the 1000 sessions the legitimate
# probes sign with, then rvgen (CPU 0) replays pktgen-scenarios/spoof_flood.py
# at full speed for --duration-ms (4000; for large N at least N / 500 K
# seconds, so 10^7 sources are all reached at >= 500 Kpps: 20 s) with
# --flows N --src-net 10.0.0.0/8 --src-ports 1024: every IPv4/UDP frame,
# legitimate probes included, gets the next of N source addresses (the
# budgets key on the address; probes are not under them, so rewriting
# theirs changes nothing, and rvgen needs no new option). rvdp's
# counters are read over DPDK telemetry just before and just after the
# flood, its VmRSS before, every 0.1 s during and 1 s after. The table
# (stdout; --json: one JSON object instead) gives per N, median [min..max]
# of the repeats: sources reached, RSS, the legitimate probes' answered
# fraction, unauthenticated packets and bytes out/in, the excess bytes
# against the global allowance (burst + rate x the flood's span) and
# against the per-source one (N x (burst + rate x span)).
# tests/bench/flood_report.py has the arithmetic; $FLOOD_OUT/results.json
# every run.
#
# --smoke: one repeat of 300 ms per N (about 10 s): numbers come out.
# --check: exit 1 when a promise is not held (see flood_report.py).
# Environment: BUILD (build), FLOOD_OUT ($BUILD/flood), RVDP ($BUILD/rvdp).
# Exit: 0 measured, 1 failure (or --check and a promise broken), 2 bad
# options, 125 the machine cannot run it (reason printed).
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
BUILD=${BUILD:-build}
OUT=${FLOOD_OUT:-$BUILD/flood}
RVDP=${RVDP:-$BUILD/rvdp}
RVGEN=$BUILD/rvgen
CTL=$BUILD/rvbenchctl
PY=/usr/bin/python3
REPORT=tests/bench/flood_report.py
export PYTHONDONTWRITEBYTECODE=1

SMOKE=0 KEEP=0 RUNS=2 DUR=4000 JSON=0 CHECK=0 SOURCES="1000 100000 10000000"
SESSIONS=1000 COUNT=4000 DRAIN_MS=100
while [ $# -gt 0 ]; do
	case "$1" in
	--smoke) SMOKE=1 ;;
	--keep) KEEP=1 ;;
	--json) JSON=1 ;;
	--check) CHECK=1 ;;
	--runs) RUNS=${2-}; shift ;;
	--duration-ms) DUR=${2-}; shift ;;
	--sources) SOURCES=${2-}; shift ;;
	-h | --help) sed -n '2,34p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "flood: unknown option '$1' (see --help)" >&2; exit 2 ;;
	esac
	shift
done
[ $SMOKE = 1 ] && RUNS=1 DUR=300
[[ "$RUNS" =~ ^[0-9]+$ && "$RUNS" -ge 1 && "$RUNS" -le 20 ]] || { echo "flood: --runs 1..20" >&2; exit 2; }
[[ "$DUR" =~ ^[0-9]+$ && "$DUR" -ge 100 && "$DUR" -le 60000 ]] ||
	{ echo "flood: --duration-ms 100..60000" >&2; exit 2; }
for n in $SOURCES; do
	[[ "$n" =~ ^[0-9]+$ && "$n" -ge 1 && "$n" -le 16777216 ]] ||
		{ echo "flood: --sources: each 1..16777216 (addresses of 10.0.0.0/8)" >&2; exit 2; }
done

say() { echo "flood: $*" >&2; }
skip() { echo "flood: SKIP: $*"; exit 125; }
die() { echo "flood: FAIL: $*"; exit 1; }

# --- preflight ---------------------------------------------------------------
[ "$(nproc)" -ge 2 ] || skip "needs two CPUs (one generates, one serves); this machine has $(nproc)"
[ -x $PY ] || skip "$PY missing (Debian's python3: scripts/deps.sh)"
for b in "$RVDP" "$RVGEN" "$CTL"; do
	[ -x "$b" ] || die "$b not built (make BUILD=$BUILD all bench-tools)"
done

WORK=$(mktemp -d /tmp/rvflood.XXXXXX) || die "mktemp"
PFX=rvflood$$
RUNDIR=$OUT/runs
mkdir -p "$RUNDIR" "$OUT/scenarios" || die "cannot create $OUT"
rm -f "$RUNDIR"/*.json
SERVER_PID='' SERVER_NAME='' GEN_PID='' SAMPLER_PID=''
cleanup() {
	[ -n "$SAMPLER_PID" ] && kill "$SAMPLER_PID" 2>/dev/null
	stop_server
	wait 2>/dev/null
	for d in /var/run/dpdk /run/dpdk "${XDG_RUNTIME_DIR:-/nonexistent}/dpdk" /tmp/dpdk; do
		rm -rf "$d/$PFX"-* 2>/dev/null
	done
	if [ $KEEP = 1 ]; then say "work directory kept: $WORK"; else rm -rf -- "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
T0=$SECONDS

eal() { echo --no-huge -m "$1" --no-pci --file-prefix "$PFX-$2"; }

# --- the scenario and rvdp's budgets ------------------------------------------
SCEN=$OUT/scenarios/spoof-flood
if [ ! -s "$SCEN.pcap" ] || [ pktgen-scenarios/spoof_flood.py -nt "$SCEN.pcap" ] ||
	[ pktgen-scenarios/scenlib.py -nt "$SCEN.pcap" ] || [ tests/dp/dplib.py -nt "$SCEN.pcap" ]; then
	$PY pktgen-scenarios/spoof_flood.py --out "$OUT/scenarios" --count $COUNT >&2 ||
		die "pktgen-scenarios/spoof_flood.py failed"
fi
# The budgets rvdp runs with: its defaults, as its --help prints them.
"$RVDP" --help 2>&1 | $PY -c '
import json, re, sys
keys = ("rl-slots", "rl-src-bytes", "rl-src-bytes-rate", "rl-src-pkts", "rl-src-pkts-rate",
        "rl-global-bytes", "rl-global-bytes-rate")
got = {}
for line in sys.stdin:
    m = re.match(r"\s+--([a-z-]+) N .*\[(\d+)\]\s*$", line)
    if m and m.group(1) in keys:
        got[m.group(1)] = int(m.group(2))
missing = [k for k in keys if k not in got]
if missing:
    sys.exit("rvdp --help does not give the defaults of " + ", ".join(missing))
json.dump(got, open(sys.argv[1], "w"))
' "$OUT/budgets.json" || die "cannot read rvdp's budgets"

# --- rvdp, the generator -------------------------------------------------------
start_rvdp() { # NAME
	SERVER_NAME=$1
	# shellcheck disable=SC2046
	"$RVDP" --lcores 0@0,1@1 $(eal 1024 "$1") \
		--vdev "net_memif0,role=server,socket=$WORK/$1.sock" -- \
		--addr 192.0.2.1 --alt-addr 192.0.2.2 --mac 02:00:00:00:00:01 \
		--control "$WORK/$1.ctl" --json >"$RUNDIR/$1.rvdp.json" 2>"$WORK/$1.log" &
	SERVER_PID=$!
	for _ in $(seq 300); do
		grep -q "rvdp: serving" "$WORK/$1.log" 2>/dev/null && return 0
		kill -0 "$SERVER_PID" 2>/dev/null || server_failed
		sleep 0.05
	done
	say "$1: rvdp did not say it serves within 15 s; trying anyway"
}

server_failed() {
	local log=$WORK/$SERVER_NAME.log
	sed 's/^/    /' "$log" | tail -n 12
	if grep -qiE 'EAL init failed|Cannot init|Cannot allocate|Permission denied|not permitted' "$log"; then
		skip "DPDK cannot run here (see the log above)"
	fi
	die "$SERVER_NAME: rvdp exited (log above)"
}

stop_server() { # rvdp first, then rvgen (a memif server may crash when its client leaves)
	if [ -n "$SERVER_PID" ]; then
		kill -INT "$SERVER_PID" 2>/dev/null
		for _ in $(seq 100); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$SERVER_PID" 2>/dev/null && say "$SERVER_NAME: rvdp killed after 10 s"
		wait "$SERVER_PID" 2>/dev/null
		local st=$?
		[ $st -eq 0 ] || [ $st -eq 130 ] || say "WARNING: $SERVER_NAME: rvdp exited with status $st"
		SERVER_PID=
	fi
	if [ -n "$GEN_PID" ]; then
		kill -TERM "$GEN_PID" 2>/dev/null
		wait "$GEN_PID" 2>/dev/null
		GEN_PID=
	fi
}

rss() { # FIELD: VmRSS or VmHWM of rvdp, KB
	awk -v f="$1:" '$1 == f {print $2}' "/proc/$SERVER_PID/status" 2>/dev/null || echo 0
}

counters() { # FILE: rvdp's counters now, over telemetry
	$PY $REPORT stats "$PFX-$SERVER_NAME" >"$1" 2>"$WORK/stats.err" ||
		die "$SERVER_NAME: telemetry: $(cat "$WORK/stats.err")"
}

flood() { # REPEAT N
	local r=$1 n=$2 name="flood-$2-r$1" dur=$DUR before during after hwm
	# Long enough to reach every source at 500 Kpps (10^7: 20 s), smoke aside:
	# a shared machine may give rvdp no more.
	[ $SMOKE = 0 ] && [ $((n / 500)) -gt "$dur" ] && dur=$((n / 500))
	start_rvdp "$name"
	timeout -s TERM 60 "$CTL" --control "$WORK/$name.ctl" --sessions $SESSIONS --seed 7 --json \
		>"$WORK/$name.fill.json" 2>"$WORK/$name.fill.log" ||
		{ kill -0 "$SERVER_PID" 2>/dev/null || server_failed; die "rvbenchctl: $(cat "$WORK/$name.fill.log")"; }
	sleep 0.5
	before=$(rss VmRSS)
	# The sampler keeps the largest VmRSS while the generator runs.
	(
		max=0
		while :; do
			v=$(rss VmRSS)
			[ "${v:-0}" -gt "$max" ] && max=$v && echo "$max" >"$WORK/$name.rssmax"
			sleep 0.1
		done
	) &
	SAMPLER_PID=$!
	counters "$WORK/$name.c0"
	say "$name: $n spoofed sources, $dur ms at full speed"
	: >"$WORK/$name.gen"
	# shellcheck disable=SC2046
	"$RVGEN" --lcores 0@0 $(eal 512 "gen-$name") \
		--vdev "net_memif0,role=client,socket=$WORK/$name.sock" -- \
		--pcap "$SCEN.pcap" --scenario spoof-flood --json --runs 1 --warmup-ms 0 \
		--duration-ms "$dur" --drain-ms $DRAIN_MS --flows "$n" --src-net 10.0.0.0/8 \
		--src-ports 1024 --link-wait-ms 20000 --linger \
		>"$WORK/$name.gen" 2>"$WORK/gen-$name.log" &
	GEN_PID=$!
	while kill -0 "$GEN_PID" 2>/dev/null && ! grep -q '^{.*}$' "$WORK/$name.gen"; do
		sleep 0.05
	done
	grep -q '^{.*}$' "$WORK/$name.gen" || {
		sed 's/^/    /' "$WORK/gen-$name.log" | grep -v '^    EAL:' | tail -n 10
		kill -0 "$SERVER_PID" 2>/dev/null || server_failed
		die "$name: rvgen gave no report"
	}
	counters "$WORK/$name.c1"
	sleep 1
	after=$(rss VmRSS)
	hwm=$(rss VmHWM)
	kill "$SAMPLER_PID" 2>/dev/null
	wait "$SAMPLER_PID" 2>/dev/null
	SAMPLER_PID=
	during=$(cat "$WORK/$name.rssmax" 2>/dev/null || echo "$before")
	stop_server
	$PY - "$RUNDIR/$name.run.json" "$WORK/$name.c0" "$WORK/$name.c1" "$WORK/$name.gen" \
		"$n" "$r" "$before" "$during" "$after" "$hwm" "$DRAIN_MS" "$SCEN.json" <<'EOF' ||
import json, sys
out, c0, c1, gen, n, r, before, during, after, hwm, drain, scen = sys.argv[1:]
g = next(json.loads(l) for l in open(gen) if l.startswith("{"))
json.dump({"sources": int(n), "repeat": int(r), "c0": json.load(open(c0)),
           "c1": json.load(open(c1)), "gen": g, "rss_before_kb": int(before),
           "rss_during_max_kb": max(int(during), int(before)), "rss_after_kb": int(after),
           "hwm_kb": int(hwm), "drain_s": int(drain) / 1000,
           "cycle": json.load(open(scen))["cycle"]}, open(out, "w"))
EOF
		die "$name: cannot write the run's figures"
}

for r in $(seq "$RUNS"); do
	for n in $SOURCES; do
		flood "$r" "$n"
	done
done
say "measured in $((SECONDS - T0)) s"
args=(report --runs "$RUNDIR" --scenario "$SCEN.json" --budgets "$OUT/budgets.json"
	--out "$OUT/results.json" --meta "runs=$RUNS" "duration_ms=$DUR" "smoke=$SMOKE"
	"seconds=$((SECONDS - T0))")
[ $JSON = 1 ] && args+=(--json)
[ $CHECK = 1 ] && args+=(--check)
$PY $REPORT "${args[@]}"
