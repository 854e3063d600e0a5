#!/usr/bin/env bash
# A few seconds of `make bench` (scripts/bench.sh --smoke): the baseline, a
# Binding flood and probes through rvdp, coturn, and the relay step (rvdp,
# its link baseline, rvcontrol's and coturn's relays), one short run each.
# Asserts only that every figure came out as a number — never a timing.
#
#   bash tests/bench/run-smoke.sh        (make test runs it; BUILD=build)
#
# Exit 0 pass, 125 skipped (the bench says why: fewer than two CPUs, DPDK
# cannot start, a tool missing), anything else fail.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
BUILD=${BUILD:-build}
OUT=$(mktemp -d /tmp/rvbench-smoke.XXXXXX) || exit 1
trap 'rm -rf -- "$OUT"' EXIT

BENCH_OUT=$OUT BUILD=$BUILD bash scripts/bench.sh --smoke >"$OUT/bench.log" 2>&1
rc=$?
if [ $rc -eq 125 ]; then
	grep 'SKIP' "$OUT/bench.log" | sed 's/^bench: /run-smoke: /'
	exit 125
fi
if [ $rc -ne 0 ]; then
	sed 's/^/    /' "$OUT/bench.log" | tail -n 30
	echo "run-smoke: FAIL: scripts/bench.sh --smoke exited $rc"
	exit 1
fi
/usr/bin/python3 - "$OUT/results.json" <<'EOF'
import json, math, sys

r = json.load(open(sys.argv[1]))
want = {"baseline": "link baseline (testpmd macswap)", "binding-flood": "rvdp Binding flood",
        "probes-1k": "rvdp probes, 1 K sessions", "coturn": "coturn",
        "relay-min": "rvdp relay", "relay-min-link": "relay link baseline",
        "relay-min-rvcontrol": "rvcontrol relay", "relay-min-coturn": "coturn TURN relay"}
got = {row["run"]: row for row in r["rows"]}
bad = []
for run, what in want.items():
    a = (got.get(run) or {}).get("answered_pps")
    if not a or not all(isinstance(x, (int, float)) and math.isfinite(x) and x > 0 for x in a):
        bad.append("%s: no answered rate (%r)" % (what, a))
heads = {h["what"].split(" (")[0]: h for h in r["headline"]}
for h in ("rvdp / link baseline", "rvdp / coturn", "p99 at 80 % load: rvdp / baseline",
          "rvdp relay / link baseline", "rvdp relay / rvcontrol relay",
          "rvdp relay / coturn TURN relay"):
    v = (heads.get(h) or {}).get("value")
    if not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0:
        bad.append("headline '%s': %r" % (h, v))
for b in bad:
    print("run-smoke: FAIL: " + b)
if bad:
    sys.exit(1)
print("run-smoke: ok: %d rows, %d headline ratios, all numbers (%s s)"
      % (len(r["rows"]), len(r["headline"]), r["meta"].get("seconds")))
EOF
