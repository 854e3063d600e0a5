#!/usr/bin/python3
"""flood_report.py — rvdp's counters over telemetry, and the spoofed-flood table
(tests/bench/flood.sh).

    flood_report.py stats PREFIX
        rvdp's /rvdp/stats (DPDK telemetry of the rvdp started with
        --file-prefix PREFIX) as one JSON line on stdout, with "t" (monotonic s).
    flood_report.py report --runs DIR --scenario JSON --budgets JSON [--json] [--check]
        the table of every DIR/*.run.json that flood.sh wrote.

The arithmetic, per flood (rvdp's counter deltas from just before to just
after it; request and answer sizes per kind from the scenario's JSON,
checked against rvdp's bytes_out):
  legitimate probes in  = tx_probe + drop_probe_no_session + _rate + _malformed
                          (the scenario's bad-MAC probes all count as bad MAC);
  unauthenticated in    = everything else rvdp received;
  excess bytes          = the sum over unauthenticated answers of
                          max(0, answer - request): what the budgets charge;
  global allowance      = global burst + global rate x the flood's span (rvgen's
                          sending time + drain): the most the budget can give;
  per-source allowance  = N x (source burst + source rate x span): what the
                          sources could draw if none were evicted from the table.
Exit (report): 0, or 1 with --check when a promise failed (excess above the
global allowance, a legitimate probe left unanswered below 99 %, rvdp's RSS
grew by more than 16 MB during or after the flood) or nothing parsed.
"""
import argparse
import glob
import json
import os
import socket
import sys
import time

from report import load, si, stats  # tests/bench/report.py, make bench's table

RSS_SLACK_KB = 16 * 1024
LEGIT_MIN = 0.99


def telemetry_paths(prefix):
    dirs = ["/var/run/dpdk", "/run/dpdk"]
    if os.environ.get("XDG_RUNTIME_DIR"):
        dirs.append(os.path.join(os.environ["XDG_RUNTIME_DIR"], "dpdk"))
    dirs.append("/tmp/dpdk")
    return [os.path.join(d, prefix, "dpdk_telemetry.v2") for d in dirs]


class Telemetry:
    """A connection to the DPDK telemetry of file prefix `prefix`, opened at
    the first query and kept for the next ones (DPDK serves each connection
    on a thread of its own: one per query is churn a long run would see).
    LookupError when no socket exists; OSError / ValueError as the socket
    and the JSON fail (close() and query again to reconnect)."""

    def __init__(self, prefix, timeout=5):
        self.prefix, self.timeout, self.sock, self.max = prefix, timeout, None, 16384

    def stats(self):
        """rvdp's /rvdp/stats."""
        if self.sock is None:
            path = next((p for p in telemetry_paths(self.prefix) if os.path.exists(p)), None)
            if path is None:
                raise LookupError("no telemetry socket for prefix %s" % self.prefix)
            s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
            s.settimeout(self.timeout)
            try:
                s.connect(path)
                self.max = json.loads(s.recv(4096).decode()).get("max_output_len", 16384)
            except BaseException:
                s.close()
                raise
            self.sock = s
        self.sock.send(b"/rvdp/stats")
        return json.loads(self.sock.recv(self.max).decode())["/rvdp/stats"]

    def close(self):
        if self.sock is not None:
            self.sock.close()
            self.sock = None


def telemetry(prefix):
    t = Telemetry(prefix)
    try:
        out = t.stats()
    except LookupError as e:
        print("flood_report: %s" % e, file=sys.stderr)
        return 1
    finally:
        t.close()
    out["t"] = time.monotonic()
    print(json.dumps(out))
    return 0


def mmm(values):
    m = stats(values)
    return m and {"median": m[0], "min": m[1], "max": m[2],
                  "n": sum(1 for x in values if x is not None)}


def one(run, kinds, budgets):
    """The figures of one flood from its run file."""
    c0, c1, gen = run["c0"], run["c1"], run["gen"]
    d = {k: c1[k] - c0[k] for k in c1 if isinstance(c1.get(k), int) and k in c0}
    span = sum(r["secs"] for r in gen["runs"]) + run["drain_s"] * len(gen["runs"])
    legit = kinds["legit_probe"]
    legit_in = (d["tx_probe"] + d.get("drop_probe_no_session", 0) +
                d.get("drop_probe_rate", 0) + d.get("drop_probe_malformed", 0))
    unauth = {k: v for k, v in kinds.items() if not v["authenticated"]}
    pkts_out = sum(d.get(v["counter"], 0) for v in unauth.values() if v["counter"])
    excess = sum(d.get(v["counter"], 0) * max(0, v["answer_bytes"] - v["request_bytes"])
                 for v in unauth.values() if v["counter"])
    bytes_out_pred = sum(d.get(v["counter"], 0) * v["answer_bytes"]
                         for v in kinds.values() if v["counter"])
    n = run["sources"]
    glob_allow = budgets["rl-global-bytes"] + budgets["rl-global-bytes-rate"] * span
    src_allow = n * (budgets["rl-src-bytes"] + budgets["rl-src-bytes-rate"] * span)
    rx_unauth = d["rx"] - legit_in
    rewritten = sum(v["per_cycle"] for v in kinds.values() if v["rewritten"])
    bytes_in_unauth = d["bytes_in"] - legit_in * legit["request_bytes"]
    bytes_out_unauth = d["bytes_out"] - d["tx_probe"] * legit["answer_bytes"]
    return {
        "sources": n, "repeat": run["repeat"], "span_s": span,
        # rvgen hands out the N addresses in turn: a short flood may not reach them all.
        "sources_seen": min(n, d["rx"] * rewritten // run["cycle"]),
        "rss_before_kb": run["rss_before_kb"], "rss_during_max_kb": run["rss_during_max_kb"],
        "rss_after_kb": run["rss_after_kb"], "hwm_kb": run["hwm_kb"],
        "rss_growth_kb": max(run["rss_during_max_kb"], run["rss_after_kb"]) -
        run["rss_before_kb"],
        "rx": d["rx"], "rx_pps": d["rx"] / span if span else None,
        "gen_offered": sum(r["offered"] for r in gen["runs"]),
        "gen_answered": sum(r["answered"] for r in gen["runs"]),
        "pushback": (sum(r["refused"] for r in gen["runs"]) /
                     max(1, sum(r["refused"] + r["sent"] for r in gen["runs"]))),
        "legit_in": legit_in, "legit_answered": d["tx_probe"],
        "legit_fraction": d["tx_probe"] / legit_in if legit_in else None,
        "legit_answered_pps": d["tx_probe"] / span if span else None,
        "legit_in_by_mix": round(d["rx"] * legit["per_cycle"] / run["cycle"]),
        "unauth_pkts_in": rx_unauth, "unauth_pkts_out": pkts_out,
        "unauth_pkts_ratio": pkts_out / rx_unauth if rx_unauth else None,
        "unauth_bytes_in": bytes_in_unauth, "unauth_bytes_out": bytes_out_unauth,
        "unauth_bytes_ratio": bytes_out_unauth / bytes_in_unauth if bytes_in_unauth else None,
        "excess_bytes": excess, "excess_pps": excess / span if span else None,
        "global_allowance": glob_allow, "excess_vs_global": excess / glob_allow,
        "per_source_allowance": src_allow,
        "excess_vs_per_source": excess / src_allow if src_allow else None,
        "drop_rl_src_pkts": d.get("drop_rl_src_pkts", 0),
        "drop_rl_src_bytes": d.get("drop_rl_src_bytes", 0),
        "drop_rl_glob_bytes": d.get("drop_rl_glob_bytes", 0),
        "drop_tx_full": d.get("drop_tx_full", 0),
        "sizes_ok": bytes_out_pred == d["bytes_out"],
        "sessions": c1.get("sessions"),
    }


FIELDS = [  # key, label, format
    ("sources_seen", "sources seen", "si"),
    ("rss_before_kb", "RSS before (MB)", "mb"), ("rss_during_max_kb", "RSS during, max (MB)", "mb"),
    ("rss_after_kb", "RSS after (MB)", "mb"), ("rss_growth_kb", "RSS growth (KB)", "int"),
    ("rx_pps", "rvdp received /s", "si"), ("pushback", "generator pushback", "pct"),
    ("legit_fraction", "legit probes answered", "pct3"),
    ("legit_answered_pps", "legit probes answered /s", "si"),
    ("unauth_pkts_ratio", "unauth packets out/in", "ratio"),
    ("unauth_bytes_ratio", "unauth bytes out/in", "ratio"),
    ("excess_pps", "excess bytes /s", "si"),
    ("excess_vs_global", "excess / global allowance", "pct"),
    ("excess_vs_per_source", "excess / per-source allowance", "pct"),
]


def fmt(v, how):
    if v is None:
        return "n/a"
    if how == "mb":
        return "%.1f" % (v / 1024)
    if how == "int":
        return "%d" % v
    if how == "pct":
        return "%.1f %%" % (100 * v)
    if how == "pct3":
        return "%.3f %%" % (100 * v)
    if how == "ratio":
        return "%.3f" % v
    return si(v)


def report(a):
    scen = load(a.scenario)
    budgets = load(a.budgets)
    if not scen or not budgets:
        print("flood_report: cannot read %s or %s" % (a.scenario, a.budgets), file=sys.stderr)
        return 1
    runs = []
    for path in sorted(glob.glob(os.path.join(a.runs, "*.run.json"))):
        r = load(path)
        if r is None:
            print("flood_report: %s does not parse" % path, file=sys.stderr)
            continue
        runs.append(one(r, scen["kinds"], budgets))
    if not runs:
        print("flood_report: no run in %s" % a.runs, file=sys.stderr)
        return 1
    by_n = {}
    for r in runs:
        by_n.setdefault(r["sources"], []).append(r)
    table = []
    for n in sorted(by_n):
        rs = by_n[n]
        row = {"sources": n, "runs": rs}
        for k in [f[0] for f in FIELDS] + ["excess_bytes", "global_allowance", "span_s",
                                            "drop_rl_src_pkts", "drop_rl_src_bytes",
                                            "drop_rl_glob_bytes", "drop_tx_full"]:
            row[k] = mmm([r[k] for r in rs])
        table.append(row)
    bad = []
    for r in runs:
        tag = "%s sources, repeat %d" % (si(r["sources"]), r["repeat"])
        if r["excess_bytes"] > r["global_allowance"]:
            bad.append("%s: excess %d bytes > global allowance %.0f"
                       % (tag, r["excess_bytes"], r["global_allowance"]))
        if r["legit_fraction"] is None or r["legit_fraction"] < LEGIT_MIN:
            bad.append("%s: legitimate probes answered %s" % (tag, r["legit_fraction"]))
        if r["rss_growth_kb"] > RSS_SLACK_KB:
            bad.append("%s: RSS grew %d KB" % (tag, r["rss_growth_kb"]))
        if not r["sizes_ok"]:
            bad.append("%s: bytes_out differs from the scenario's answer sizes: the per-kind "
                       "bytes are estimates" % tag)
    out = {"budgets": budgets, "scenario": scen["name"], "table": table, "problems": bad,
           "meta": dict(kv.split("=", 1) for kv in a.meta)}
    if a.json:
        json.dump(out, sys.stdout)
        print()
    else:
        human(table, budgets, bad)
    if a.out:
        with open(a.out, "w") as f:
            json.dump(out, f, indent=1)
    return 1 if (a.check and bad) else 0


def human(table, budgets, bad):
    cols = ["%s sources" % si(r["sources"]) for r in table]
    print("spoofed flood against rvdp (default budgets: %d B + %d B/s per source, %s B + %s B/s "
          "global; %d source slots); median [min..max] of %d repeat(s)"
          % (budgets["rl-src-bytes"], budgets["rl-src-bytes-rate"],
             si(budgets["rl-global-bytes"]), si(budgets["rl-global-bytes-rate"]),
             budgets["rl-slots"], max(r["rss_before_kb"]["n"] for r in table)))
    w = 34
    print("  %-30s" % "" + "".join("%*s" % (w, c) for c in cols))
    for key, label, how in FIELDS:
        cells = []
        for r in table:
            v = r[key]
            if v is None:
                cells.append("n/a")
            elif v["n"] == 1 or v["min"] == v["max"]:
                cells.append(fmt(v["median"], how))
            else:
                cells.append("%s [%s..%s]" % (fmt(v["median"], how), fmt(v["min"], how),
                                              fmt(v["max"], how)))
        print("  %-30s" % label + "".join("%*s" % (w, c) for c in cells))
    for r in table:
        print("  %s sources: excess %s B in %.2f s against a global allowance of %s B; held "
              "by the budgets: %s src-pkts, %s src-bytes, %s global; tx ring full %s"
              % (si(r["sources"]), si(r["excess_bytes"]["median"]), r["span_s"]["median"],
                 si(r["global_allowance"]["median"]), si(r["drop_rl_src_pkts"]["median"]),
                 si(r["drop_rl_src_bytes"]["median"]), si(r["drop_rl_glob_bytes"]["median"]),
                 si(r["drop_tx_full"]["median"])))
    if bad:
        for b in bad:
            print("  NOT HELD: " + b)
    else:
        print("  held: excess within the global allowance, every legitimate probe answered "
              "(>= %.0f %%), RSS flat (growth <= %d MB), answer sizes as the scenario says"
              % (100 * LEGIT_MIN, RSS_SLACK_KB // 1024))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__)
    sub = ap.add_subparsers(dest="cmd", required=True)
    st = sub.add_parser("stats")
    st.add_argument("prefix")
    rp = sub.add_parser("report")
    rp.add_argument("--runs", required=True)
    rp.add_argument("--scenario", required=True)
    rp.add_argument("--budgets", required=True)
    rp.add_argument("--out")
    rp.add_argument("--json", action="store_true")
    rp.add_argument("--check", action="store_true")
    rp.add_argument("--meta", nargs="*", default=[])
    a = ap.parse_args()
    return telemetry(a.prefix) if a.cmd == "stats" else report(a)


if __name__ == "__main__":
    sys.exit(main())
