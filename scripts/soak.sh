#!/usr/bin/env bash
# soak.sh — the soak (make soak; not in CI): for --minutes N (default 60),
# loop after loop, under AddressSanitizer + UBSan:
#   1. the NAT-lab matrix (tests/peer/matrix.py: classification, the
#      connectivity matrix, the hostile cases — server restarts mid-connect
#      included) with rvdp, rvcontrol, rvpeer and natbox all ASan builds,
#      while a probe flood hits rvdp from the lab's router: plain and
#      CHANGE-REQUEST Bindings, junk, truncated STUN and ChannelData for no
#      relay, from spoofed sources across 198.18.0.0/15 (the per-source
#      rate table fills and stays full);
#   2. rvcontrol kill -9 cycles (tests/control/run-crash.sh,
#      CRASH_CYCLES per loop) on the ASan rvcontrol and crashload;
# and, all along (soaks of 20 min or more, or with SOAK_STEADY=1), a
# steady pair that is never restarted, so one rvdp's and one rvcontrol's
# memory are judged over the whole soak — the matrix and the crash cycles
# restart theirs too often to judge: an ASan rvcontrol on loopback, with
# crashload re-registering 100 000 devices into it round after round
# (--expiry 60: rows expire and are swept all the time), driving an ASan
# rvdp (net_af_packet in its own namespaces, rvsoak-dp / rvsoak-cl) whose
# session table follows every registration and expiry, while a probe flood
# of SOAK_STEADY_PPS (default 500) from spoofed sources hits it and a
# Binding every 2 s from a real client checks that it still answers (at
# least 95 % answered, never 5 in a row unanswered). SOAK_STEADY=1 with
# --short checks the plumbing only: in 4 minutes the steady rvcontrol is
# still filling its caches and may fail the growth bound.
# A daemon's growth is how far the second half of its life rises above the
# first half's peak: filling caches to a plateau is flat, climbing is not.
# The RSS of every rvdp and rvcontrol is sampled every few seconds. At the
# end it reports every loop's pass/fail, every ASan/LSan/UBSan report
# (there must be none) and each daemon's RSS first/last/max; it fails on
# any failed loop, any sanitizer report, or a daemon whose RSS grew by more
# than SOAK_RSS_GROWTH_KB (default 16384) in the second half of its life
# after warm-up (SOAK_WARMUP_S, default 30 s) over the first half's peak — for
# every instance that lived at least SOAK_MIN_LIFE_S (default 120 s; with
# --short, 40 s and a 10 s warm-up).
#
# The lab is taken (and torn down) per loop, so CI waiting for the lock gets
# in between loops. The RSS bound is about ASan builds: the quarantine is
# capped at 16 MB (ASAN_OPTIONS below) so freed memory cannot pass for
# growth; rvdp's RSS is dominated by its DPDK memory (-m 256, --no-huge).
#
#   BUILD=build-asan scripts/soak.sh [--minutes N | --short] [--crash-cycles N]
#                                    [--flood-pps N] [-- matrix.py options]
# Exit 0 pass, 1 fail, 2 usage, 125 skipped (not root / no lab).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

usage() {
	sed -n '2,/^set -uo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'
}

MINUTES=60
SHORT=
CYCLES=
FLOOD_PPS=${SOAK_FLOOD_PPS:-3000}
STEADY_PPS=${SOAK_STEADY_PPS:-500}
MATRIX_ARGS=()
while [ $# -gt 0 ]; do
	case "$1" in
	-h | --help)
		usage
		exit 0
		;;
	--minutes)
		MINUTES=${2:-}
		shift
		;;
	--short) SHORT=1 ;;
	--crash-cycles)
		CYCLES=${2:-}
		shift
		;;
	--flood-pps)
		FLOOD_PPS=${2:-}
		shift
		;;
	--)
		shift
		MATRIX_ARGS=("$@")
		break
		;;
	*)
		echo "soak: unknown option '$1' (see --help)" >&2
		exit 2
		;;
	esac
	shift
done
if [ -n "$SHORT" ]; then
	MINUTES=4
	# Daemons live about a minute here: judge those, after 10 s.
	: "${SOAK_MIN_LIFE_S:=40}" "${SOAK_WARMUP_S:=10}"
	# A quarter of the matrix per loop: the slowest types and the hostile cases.
	# shellcheck disable=SC2054 # commas inside matrix.py arguments
	[ ${#MATRIX_ARGS[@]} -eq 0 ] && MATRIX_ARGS=(--only matrix,hostile --alloc seq1 --types PR,AS,PS)
	CYCLES=${CYCLES:-30}
fi
CYCLES=${CYCLES:-100}
for v in "$MINUTES" "$CYCLES" "$FLOOD_PPS"; do
	case "$v" in '' | *[!0-9]*)
		echo "soak: --minutes, --crash-cycles and --flood-pps take a number" >&2
		exit 2
		;;
	esac
done

PY=/usr/bin/python3
BUILD=${BUILD:-build-asan}
case "$BUILD" in /*) ;; *) BUILD=$PWD/$BUILD ;; esac
GROWTH_KB=${SOAK_RSS_GROWTH_KB:-16384}
WARMUP_S=${SOAK_WARMUP_S:-30}
MIN_LIFE_S=${SOAK_MIN_LIFE_S:-120}
SAMPLE_S=${SOAK_SAMPLE_S:-5}

[ "$(id -u)" -eq 0 ] || {
	echo "soak: SKIPPED: needs root for the NAT lab's network namespaces"
	exit 125
}
for b in rvdp rvcontrol rvpeer natbox tests/crashload; do
	[ -x "$BUILD/$b" ] || {
		echo "soak: $BUILD/$b is not built (make soak builds the ASan set in build-asan/)"
		exit 1
	}
	readelf -s "$BUILD/$b" 2>/dev/null | awk '/__asan_init/ { f = 1 } END { exit !f }' ||
		echo "soak: warning: $BUILD/$b is not an ASan build: leaks in it go unseen"
done

OUT=$BUILD/soak
rm -rf "$OUT"
mkdir -p "$OUT/san" "$OUT/loops"
# Reports go to files (none must appear); abort on the first error; LSan at
# every clean exit. A SIGKILLed daemon reports nothing: the crash cycles and
# the hostile restarts end with a SIGTERM'd daemon that does.
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:log_path=$OUT/san/asan:quarantine_size_mb=16:malloc_context_size=20"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$OUT/san/ubsan"
export LSAN_OPTIONS="suppressions=$PWD/scripts/soak-lsan.supp:print_suppressions=0"
[ -f scripts/soak-lsan.supp ] || LSAN_OPTIONS=
export BUILD

sampler=
flood=
matrix=
# The steady pair's pids and directory: empty when it is not running.
steady_clear() {
	steady=
	steady_load=
	steady_dir=
	steady_dp=
	steady_flood=
	steady_probe=
}
steady_clear
steady_bad=0
STEADY_PORT=$((40000 + $$ % 10000)) # the steady rvcontrol's, on loopback
MATRIX_PIDS=
MATRIX_WORK=
locked=
stop_pid() { [ -n "$1" ] && kill "$1" 2>/dev/null && wait "$1" 2>/dev/null; }
# shellcheck disable=SC2317 # called by the trap
cleanup() {
	stop_pid "$flood"
	stop_pid "$matrix"
	if [ -n "$MATRIX_PIDS" ]; then
		local p
		p=$(cat "$MATRIX_PIDS" 2>/dev/null)
		# shellcheck disable=SC2086 # a list of pids
		[ -n "${p// /}" ] && { kill -CONT $p; kill -TERM $p; } 2>/dev/null
		rm -f "$MATRIX_PIDS"
	fi
	[ -n "$MATRIX_WORK" ] && rm -rf "$MATRIX_WORK"
	stop_steady
	stop_pid "$sampler"
	if [ -n "$locked" ]; then
		scripts/natlab.sh down >/dev/null 2>&1
		flock -u 9
		locked=
	fi
	flood=
	matrix=
	sampler=
	MATRIX_PIDS=
	MATRIX_WORK=
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The steady pair and its load (see the top). Stopped with SIGTERM, so
# LSan reports what they leaked over the whole soak.
steady_ns_down() {
	ip netns del rvsoak-dp 2>/dev/null
	ip netns del rvsoak-cl 2>/dev/null
}
start_steady() {
	local d
	d=$(mktemp -d /tmp/rvsoak-steady.XXXXXX) || return 1
	steady_dir=$d
	"$BUILD/rvcontrol" --keys "$d/keys" keygen >/dev/null &&
		"$BUILD/tests/crashload" registry 100000 >"$d/registry" &&
		"$BUILD/rvcontrol" --db "$d/rv.db" --keys "$d/keys" import-devices "$d/registry" \
			>/dev/null || return 1
	# rvdp owns rvsoak-dp's eth0 (192.0.2.1 and .2, as in the lab); the
	# client side finishes its checksums (see natlab.sh) and routes nothing,
	# so answers to the flood's spoofed sources die there.
	steady_ns_down
	ip netns add rvsoak-dp && ip netns add rvsoak-cl &&
		ip -n rvsoak-cl link add eth0 type veth peer name eth0 netns rvsoak-dp &&
		ip -n rvsoak-cl addr add 192.0.2.254/24 dev eth0 &&
		ip -n rvsoak-cl link set eth0 up && ip -n rvsoak-dp link set eth0 up &&
		ip -n rvsoak-cl link set lo up &&
		ip netns exec rvsoak-cl ethtool -K eth0 tx off >/dev/null || return 1
	ip netns exec rvsoak-dp "$BUILD/rvdp" -l 0-1 --no-huge -m 256 --no-pci \
		--file-prefix "rvsoak$$" --vdev net_af_packet0,iface=eth0 -- \
		--addr 192.0.2.1 --alt-addr 192.0.2.2 --control "$d/rvdp.sock" \
		--idle-sleep-us 100 >"$d/rvdp.log" 2>&1 &
	steady_dp=$!
	ip netns exec rvsoak-cl "$PY" -c "$PROBE_PY" 0 10 >/dev/null 2>&1 || {
		echo "soak: the steady rvdp did not answer within 10 s: $(tail -3 "$d/rvdp.log")"
		return 1
	}
	"$BUILD/rvcontrol" --db "$d/rv.db" --keys "$d/keys" --listen "127.0.0.1:$STEADY_PORT" \
		--dataplane "$d/rvdp.sock" --expiry 60 --group-max 0 >"$d/daemon.log" 2>&1 &
	steady=$!
	ip netns exec rvsoak-cl "$PY" -c "$FLOOD_PY" "$STEADY_PPS" >"$OUT/steady-flood.log" 2>&1 &
	steady_flood=$!
	ip netns exec rvsoak-cl "$PY" -c "$PROBE_PY" 2 0 "rvsoak$$" >"$OUT/steady-probes.txt" 2>&1 &
	steady_probe=$!
	(
		while :; do
			nice -n 10 "$BUILD/tests/crashload" register "127.0.0.1:$STEADY_PORT" 0 99999 300 \
				>/dev/null 2>&1 || sleep 1
		done
	) &
	steady_load=$!
}
# SIGTERM; a daemon that does not exit 0 (LSan found a leak, it crashed
# earlier) fails the soak.
stop_daemon() {
	[ -n "$1" ] || return 0
	kill "$1" 2>/dev/null
	wait "$1" 2>/dev/null && return 0
	steady_bad=1
	echo "soak: the steady $2 did not exit cleanly:"
	tail -5 "$3"
}
stop_steady() {
	if [ -n "$steady_load" ]; then
		pkill -P "$steady_load" 2>/dev/null
		stop_pid "$steady_load"
		pkill -f "crashload register 127.0.0.1:$STEADY_PORT" 2>/dev/null
	fi
	stop_pid "$steady_flood"
	stop_pid "$steady_probe"
	# rvcontrol first: rvdp outlives the control plane it serves.
	stop_daemon "$steady" rvcontrol "$steady_dir/daemon.log"
	stop_daemon "$steady_dp" rvdp "$steady_dir/rvdp.log"
	if [ -n "$steady_dir" ]; then
		cp "$steady_dir/daemon.log" "$OUT/steady-rvcontrol.log" 2>/dev/null
		cp "$steady_dir/rvdp.log" "$OUT/steady-rvdp.log" 2>/dev/null
		rm -rf "$steady_dir"
	fi
	steady_ns_down
	steady_clear
}

# Every SAMPLE_S seconds: "epoch pid name rss_kb" of every rvdp / rvcontrol
# of this build (the lab's and the crash test's).
sample_rss() {
	while :; do
		local now pid exe
		now=$(date +%s)
		for pid in $(pgrep -x 'rvdp|rvcontrol'); do
			exe=$(readlink "/proc/$pid/exe" 2>/dev/null) || continue
			case "$exe" in "$BUILD"/*) ;; *) continue ;; esac
			awk -v t="$now" -v p="$pid" -v n="${exe##*/}" \
				'/^VmRSS:/ { print t, p, n, $2 }' "/proc/$pid/status" 2>/dev/null
		done
		sleep "$SAMPLE_S"
	done >>"$OUT/rss.txt"
}

# The probe flood, from rvl-inet (the router in front of rvdp) with raw
# sockets: spoofed sources, until killed; prints what it sent at the end.
FLOOD_PY='
import os, random, signal, socket, struct, sys, time
pps = int(sys.argv[1]); dst = ("192.0.2.1", "192.0.2.2"); ports = (3478, 3479)
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
s.setsockopt(socket.IPPROTO_IP, socket.IP_HDRINCL, 1)
sent = {"binding": 0, "change": 0, "junk": 0, "short": 0, "chandata": 0}
stop = []
signal.signal(signal.SIGTERM, lambda *a: stop.append(1))
def csum(b):
    if len(b) % 2: b += b"\0"
    t = sum(struct.unpack("!%dH" % (len(b) // 2), b)); t = (t >> 16) + (t & 0xffff)
    return ~(t + (t >> 16)) & 0xffff
def stun(extra=b""):
    return struct.pack("!HHI", 1, len(extra), 0x2112A442) + os.urandom(12) + extra
kinds = list(sent)
t0 = time.monotonic(); n = 0
while not stop:
    k = random.choice(kinds)
    if k == "binding": pl = stun()
    elif k == "change": pl = stun(struct.pack("!HHI", 3, 4, random.choice((2, 4, 6))))
    elif k == "junk": pl = os.urandom(random.randint(1, 200))
    elif k == "short": pl = stun()[:random.randint(1, 19)]
    else: pl = struct.pack("!HH", 0x4000 + random.randint(0, 0xfff), 16) + os.urandom(16)
    src = socket.inet_aton("198.%d.%d.%d" % (random.randint(18, 19), random.randint(0, 255), random.randint(1, 254)))
    d = random.choice(dst); dp = random.choice(ports); sp = random.randint(1024, 65535)
    ulen = 8 + len(pl)
    ph = src + socket.inet_aton(d) + struct.pack("!BBH", 0, 17, ulen)
    udp = struct.pack("!HHHH", sp, dp, ulen, 0) + pl
    udp = udp[:6] + struct.pack("!H", csum(ph + udp) or 0xffff) + udp[8:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + ulen, random.randint(0, 65535), 0, 64, 17, 0, src, socket.inet_aton(d))
    try:
        s.sendto(ip + udp, (d, 0)); sent[k] += 1
    except OSError:
        pass
    n += 1
    if n % 50 == 0:
        lag = t0 + n / pps - time.monotonic()
        if lag > 0: time.sleep(lag)
print("flood: %d packets in %.0f s (%s)" % (sum(sent.values()), time.monotonic() - t0, ", ".join("%s %d" % kv for kv in sent.items())))
'

# The steady rvdp's legitimate client: a Binding to each of its addresses
# and ports in turn, every INTERVAL s, one line "epoch 1|0 SESSIONS" each
# (answered within 1 s; the sessions in its table, from the telemetry of
# DPDK file prefix PREFIX, -1 if unknown), until killed; with INTERVAL 0,
# exit 0 at the first answer within LIMIT s (1 if none).
PROBE_PY='
import os, signal, socket, struct, sys, time
sys.path.insert(0, "tests/bench")
from flood_report import Telemetry
every, limit = float(sys.argv[1]), float(sys.argv[2])
# One telemetry connection for the whole soak: a new one every 2 s under
# ASan is a sawtooth of a few MB in rvdp RSS (measured: ~4.5 kB per
# connection, given back in steps), which would pass for growth.
tel = Telemetry(sys.argv[3], timeout=1) if len(sys.argv) > 3 else None
def sessions():
    for _ in range(2 if tel else 0):
        try:
            return tel.stats()["sessions"]
        except (LookupError, OSError, ValueError, KeyError):
            tel.close()
    return -1
signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
to = [(a, p) for a in ("192.0.2.1", "192.0.2.2") for p in (3478, 3479)]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("192.0.2.254", 0))
def ask(dst, wait):
    tid = os.urandom(12)
    s.sendto(struct.pack("!HHI", 1, 0, 0x2112A442) + tid, dst)
    end = time.monotonic() + wait
    while True:
        left = end - time.monotonic()
        if left <= 0:
            return 0
        s.settimeout(left)
        try:
            b, src = s.recvfrom(2048)
        except socket.timeout:
            return 0
        if len(b) >= 20 and b[:2] == b"\x01\x01" and b[8:20] == tid:
            return 1
i = 0
t_end = time.monotonic() + limit
while True:
    ok = ask(to[i % len(to)], 1.0 if every else 0.2)
    i += 1
    if not every:
        if ok:
            sys.exit(0)
        if time.monotonic() >= t_end:
            sys.exit(1)
        continue
    print(int(time.time()), ok, sessions(), flush=True)
    time.sleep(every)
'

t_end=$(($(date +%s) + MINUTES * 60))
echo "soak: $MINUTES min under ASan ($BUILD): loops of the NAT-lab matrix ${MATRIX_ARGS[*]:-(all of it)}" \
	"+ a ${FLOOD_PPS} pps probe flood, then $CYCLES rvcontrol kill -9 cycles; logs in $OUT"
sample_rss &
sampler=$!
# Not with --short: in 4 minutes it is still filling its caches (measured:
# RSS 33 -> 56 MB over its first 160 s, then level for the last 60 s).
if [ "$MINUTES" -ge 20 ] || [ -n "${SOAK_STEADY:-}" ]; then
	start_steady || {
		echo "soak: could not start the steady rvdp and rvcontrol"
		exit 1
	}
fi
loop=0
failed=0
while [ "$(date +%s)" -lt "$t_end" ] || [ $loop -eq 0 ]; do
	loop=$((loop + 1))
	L=$OUT/loops/$loop
	mkdir -p "$L"
	# 1. the lab: lock, up, flood + matrix, down, unlock.
	t0=$(date +%s)
	exec 9>/run/lock/rvlab.lock
	if ! flock -w 900 9; then
		echo "soak: loop $loop: the lab is busy for 15 minutes (/run/lock/rvlab.lock)"
		echo "$loop matrix FAIL lab-busy 0" >>"$OUT/results.txt"
		failed=$((failed + 1))
		break
	fi
	locked=1
	export RVLAB_LOCKED=1 NATBOX=$BUILD/natbox
	scripts/natlab.sh down >/dev/null 2>&1
	mrc=1
	if scripts/natlab.sh up --server-mode dpdk >"$L/natlab.log" 2>&1; then
		ip netns exec rvl-inet "$PY" -c "$FLOOD_PY" "$FLOOD_PPS" >"$L/flood.log" 2>&1 &
		flood=$!
		MATRIX_PIDS=$(mktemp /tmp/rvsoak-pids.XXXXXX)
		MATRIX_WORK=$(mktemp -d /tmp/rvsoak.XXXXXX)
		MATRIX_PIDS=$MATRIX_PIDS MATRIX_WORK=$MATRIX_WORK \
			"$PY" tests/peer/matrix.py "${MATRIX_ARGS[@]}" >"$L/matrix.log" 2>&1 &
		matrix=$!
		wait "$matrix"
		mrc=$?
		matrix=
		stop_pid "$flood"
		flood=
		[ $mrc -ne 0 ] && cp /run/rvlab/*.log /run/rvlab/*.jsonl "$L/" 2>/dev/null
	fi
	scripts/natlab.sh down >/dev/null 2>&1
	flock -u 9
	locked=
	rm -f "$MATRIX_PIDS"
	MATRIX_PIDS=
	MATRIX_WORK=
	st=pass
	[ $mrc -eq 0 ] || {
		st=FAIL
		failed=$((failed + 1))
	}
	checks=$(grep -o '[0-9]* checks passed, [0-9]* failed' "$L/matrix.log" | tail -1)
	echo "$loop matrix $st $(($(date +%s) - t0)) ${checks:-no summary}; $(tail -1 "$L/flood.log" 2>/dev/null)" \
		>>"$OUT/results.txt"
	echo "soak: loop $loop: matrix $st in $(($(date +%s) - t0)) s (${checks:-no summary})"
	# 2. rvcontrol kill -9 cycles (no lab).
	t0=$(date +%s)
	CRASH_CYCLES=$CYCLES tests/control/run-crash.sh >"$L/crash.log" 2>&1
	crc=$?
	st=pass
	[ $crc -eq 0 ] || {
		st=FAIL
		failed=$((failed + 1))
	}
	echo "$loop crash $st $(($(date +%s) - t0)) $(tail -1 "$L/crash.log")" >>"$OUT/results.txt"
	echo "soak: loop $loop: $CYCLES kill -9 cycles $st in $(($(date +%s) - t0)) s"
done
stop_steady
stop_pid "$sampler"
sampler=

# --- the report -------------------------------------------------------------
echo
echo "== soak: $loop loops in $MINUTES min"
awk '{ printf "   loop %-3s %-6s %-4s %5d s  ", $1, $2, $3, $4; $1 = $2 = $3 = $4 = ""; print substr($0, 5) }' \
	"$OUT/results.txt"
reports=$(find "$OUT/san" -type f | wc -l)
echo "== sanitizer reports (ASan, LSan, UBSan): $reports"
for f in $(find "$OUT/san" -type f | head -20); do
	echo "   $f:"
	grep -m3 -E 'ERROR|SUMMARY|runtime error' "$f" | sed 's/^/      /'
done
# RSS per daemon instance: first after warm-up, last, max; growth bound.
echo "== RSS (kB) per daemon instance that lived >= $MIN_LIFE_S s (first sample $WARMUP_S s into its life)"
"$PY" - "$OUT/rss.txt" "$WARMUP_S" "$MIN_LIFE_S" "$GROWTH_KB" >"$OUT/rss-report.txt" <<'EOF'
import sys
path, warm, life, bound = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
inst = {}
for ln in open(path):
    f = ln.split()
    if len(f) == 4:
        inst.setdefault((f[2], f[1]), []).append((int(f[0]), int(f[3])))
bad = 0
shown = 0
for (name, pid), s in sorted(inst.items(), key=lambda kv: kv[1][0][0]):
    t0 = s[0][0]
    if s[-1][0] - t0 < life:
        continue
    after = [x for x in s if x[0] - t0 >= warm] or s
    first, last, top = after[0][1], after[-1][1], max(r for _, r in s)
    # Growth = the second half of its life above the first half's peak: a
    # daemon that fills its caches (SQLite's pages as the registry grows)
    # and then stays on a plateau is flat; one that keeps growing is not.
    mid = after[0][0] + (after[-1][0] - after[0][0]) // 2
    early = [r for t, r in after if t <= mid] or [first]
    grew = max(r for t, r in after if t >= mid) - max(early)
    ok = grew <= bound
    bad += not ok
    shown += 1
    print("   %-9s pid %-7s %5d s %4d samples: first %7d  last %7d  max %7d  2nd-half growth %+6d %s"
          % (name, pid, s[-1][0] - t0, len(s), first, last, top, grew,
             "ok" if ok else "GREW beyond %d kB" % bound))
short = sum(1 for s in inst.values() if s[-1][0] - s[0][0] < life)
print("   (%d shorter-lived instances not judged: crash-test restarts, hostile restarts)" % short)
print("   judged %d instances, %d grew beyond %d kB" % (shown, bad, bound))
sys.exit(1 if bad else 0)
EOF
grc=$?
cat "$OUT/rss-report.txt"
[ -s "$OUT/rss.txt" ] || grc=1
if [ -f "$OUT/steady-probes.txt" ]; then
	echo "== the steady rvdp: $(tail -1 "$OUT/steady-flood.log" 2>/dev/null)"
	awk '$2 == 1 { ok++; run = 0 } $2 == 0 { run++; if (run > worst) worst = run }
	     NF == 3 { n++ } NF == 3 && $3 >= 0 { s = $3; if (s > top) top = s; sum += s; ns++ }
	     END { printf "   legitimate Bindings answered: %d of %d (%.2f %%), longest unanswered run %d\n",
	                  ok, n, n ? 100 * ok / n : 0, worst
	           printf "   sessions in its table (rvcontrol'"'"'s registrations): mean %d, max %d, at the end %d\n",
	                  ns ? sum / ns : 0, top, s
	           exit !(n > 0 && ok >= 0.95 * n && worst < 5) }' "$OUT/steady-probes.txt" ||
		steady_bad=1
fi
[ $steady_bad -eq 0 ] || failed=$((failed + 1))
if [ $failed -eq 0 ] && [ "$reports" -eq 0 ] && [ $grc -eq 0 ]; then
	echo "soak: ok: $loop loops, none failed, no sanitizer report, memory flat (logs in $OUT)"
	exit 0
fi
echo "soak: FAIL: $failed failed loop parts (or the steady pair), $reports sanitizer reports, RSS $([ $grc -eq 0 ] && echo flat || echo 'grew (or no samples)') (logs in $OUT)"
exit 1
