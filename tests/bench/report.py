#!/usr/bin/python3
"""report.py — the table, results.json and the plot of a `make bench` run.

    report.py --runs DIR --scenarios DIR --out DIR [--meta KEY=VALUE ...]

Reads what scripts/bench.sh left in --runs (rvgen / rvflood JSON reports,
rvdp's exit counters, rvbenchctl's fills, RSS before and after a fill) and
prints every figure as median [min..max] of the runs, then the headline
ratios against the baselines measured in the same run, each beside the
issue's target. Targets are printed, never asserted: exit 0 whenever the
inputs parse. Writes OUT/results.json and OUT/answered.png (gnuplot; the
plot is skipped with a note when gnuplot is missing).
"""
import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time

TARGETS = {
    "rvdp_vs_link": 0.75,     # rvdp Binding answers >= 75 % of the macswap baseline
    "tables_10m_vs_1k": 0.80,  # probes with 10 M sessions >= 80 % of 1 K
    "rvdp_vs_coturn": 50.0,   # >= 50x coturn's single-thread answered rate
    "p99_vs_link": 2.0,       # p99 at 80 % load <= 2x the baseline's
    "relay_vs_link": 0.70,    # rvdp relaying >= 70 % of macswap on the same frames (issue 8)
}
# The relay step's systems: run-name suffix, label (scripts/bench.sh).
RELAY_SYSTEMS = (("-link", "dpdk-testpmd macswap (link limit)"), ("", "rvdp relay"),
                 ("-rvcontrol", "rvcontrol relay (kernel UDP)"),
                 ("-coturn", "coturn TURN relay (kernel UDP)"))


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def si(v, unit=""):
    if v is None:
        return "n/a"
    for div, suf in ((1e9, " G"), (1e6, " M"), (1e3, " K")):
        if abs(v) >= div:
            return "%.3g%s%s" % (v / div, suf, unit)
    return "%.3g%s" % (v, (" " + unit) if unit else "")


def stats(values):
    """(median, min, max) of a list of numbers, or None."""
    v = sorted(x for x in values if x is not None)
    if not v:
        return None
    n = len(v)
    return (v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2), v[0], v[-1]


def mmm(run, key):
    """(median, min, max) of a metric over a report's runs, or None."""
    try:
        return stats(r[key] for r in run["runs"])
    except (KeyError, TypeError):
        return None


def fmt(m, unit="", scale=1.0, digits=None):
    if not m:
        return "n/a"
    if digits is not None:
        f = "%%.%df" % digits
        return "%s [%s..%s]%s" % tuple([f % (x * scale) for x in m] + [unit])
    return "%s [%s..%s]" % (si(m[0] * scale, unit), si(m[1] * scale), si(m[2] * scale))


def ratio(a, b):
    """Ratio of medians, with the widest spread the runs allow."""
    if not a or not b or not b[0] or not b[1] or not b[2]:
        return None
    return a[0] / b[0], a[1] / b[2], a[2] / b[1]


class Report:
    def __init__(self, runs, scenarios):
        self.dir, self.sdir = runs, scenarios
        self.rows, self.heads, self.notes = [], [], []

    def run(self, name, suffix=""):
        """A report, or the runs of its rounds (NAME.r1.json, ...) as one."""
        one = load(os.path.join(self.dir, name + suffix + ".json"))
        if one is not None or suffix:
            return one
        rounds = self.rounds(name)
        if not rounds:
            return None
        merged = dict(rounds[0], runs=[r for x in rounds for r in x.get("runs", [])])
        merged["rounds"] = len(rounds)
        return merged

    def rounds(self, name):
        out, r = [], 1
        while True:
            x = load(os.path.join(self.dir, "%s.r%d.json" % (name, r)))
            if x is None:
                return out
            out.append(x)
            r += 1

    def paired(self, a, b, key):
        """Per-round ratios a/b of a metric: (median, min, max), or None."""
        ra, rb = self.rounds(a), self.rounds(b)
        v = []
        for x, y in zip(ra, rb):
            try:
                num, den = x["runs"][0][key], y["runs"][0][key]
            except (KeyError, IndexError):
                continue
            if den:
                v.append(num / den)
        return stats(v)

    def scenario(self, name):
        return load(os.path.join(self.sdir, name + ".json")) or {}

    def counters(self, name):
        d = self.run(name, ".rvdp")
        return (d or {}).get("counters", {}), d or {}

    def row(self, scenario, system, name, extra=""):
        r = self.run(name)
        if r is None:
            return None
        ans = mmm(r, "answered_pps")
        push = stats(x["refused"] / (x["sent"] + x["refused"]) for x in r.get("runs", [])
                     if "refused" in x and x["sent"] + x["refused"])
        self.rows.append({"pushback": push,"scenario": scenario, "system": system, "run": name,
                          "answered_pps": ans, "offered_pps": mmm(r, "offered_pps"),
                          "rounds": r.get("rounds", 0),
                          "loss": mmm(r, "loss"), "p99_us": mmm(r, "p99_us"), "extra": extra})
        return ans

    def head(self, what, value, shown, target, met):
        self.heads.append({"what": what, "value": value, "shown": shown, "target": target,
                           "met": met})


def build(rep):
    base = rep.row("binding-flood", "dpdk-testpmd macswap (link limit)", "baseline")
    rvdp = rep.row("binding-flood", "rvdp", "binding-flood")
    rep.row("rfc5780-mix", "rvdp", "rfc5780-mix")
    probes = {}
    for n in ("1k", "1m", "10m"):
        name = "probes-" + n
        fill = rep.run(name, ".fill") or {}
        mem = rep.run(name, ".mem") or {}
        extra = ""
        if fill.get("error"):
            extra = "not measured: " + fill["error"]
        elif fill:
            extra = "%s sessions installed in %.1f s" % (si(fill.get("sessions")),
                                                          fill.get("fill_s", 0))
            if mem.get("sessions", 0) >= 1000000:  # below that, RSS noise dominates
                per = (mem["rss_after_kb"] - mem["rss_before_kb"]) * 1024 / mem["sessions"]
                extra += ", %.0f B/session (RSS)" % per
                probes[n + "_mem"] = per
        if rep.run(name) is not None or extra:
            probes[n] = rep.row(name, "rvdp, %s sessions" % n.upper(), name, extra)
            if probes[n] is None:
                rep.rows.append({"scenario": name, "system": "rvdp, %s sessions" % n.upper(),
                                 "run": name, "answered_pps": None, "offered_pps": None,
                                 "loss": None, "p99_us": None, "extra": extra})
    hostile = rep.run("hostile-mix")
    if hostile:
        c, _ = rep.counters("hostile-mix")
        amp = None
        if hostile.get("runs"):
            tx = sum(r["tx_bytes"] for r in hostile["runs"])
            rx = sum(r["rx_bytes"] for r in hostile["runs"])
            amp = rx / tx if tx else None
        rl = sum(c.get(k, 0) for k in ("drop_rl_src_bytes", "drop_rl_src_pkts",
                                       "drop_rl_glob_bytes"))
        answered = sum(c.get(k, 0) for k in c if k.startswith("tx_"))
        extra = ("bytes out/in %.3f; rvdp: %s answered, %s held by the budgets, %s malformed/"
                 "not STUN, %s bad MAC/no session" % (
                     amp or 0, si(answered), si(rl),
                     si(sum(c.get(k, 0) for k in ("drop_not_stun", "drop_stun_malformed",
                                                  "drop_not_ours_port"))),
                     si(c.get("drop_probe_bad_mac", 0) + c.get("drop_probe_no_session", 0))))
        rep.row("hostile-mix", "rvdp (default budgets)", "hostile-mix", extra)
    trickle = rep.run("control-trickle")
    if trickle:
        c, d = rep.counters("control-trickle")
        hold = rep.run("control-trickle", ".fill") or {}
        meta = rep.scenario("control-trickle")
        sent = sum(r["sent"] for r in trickle.get("runs", []))
        extra = "PUNTs: rvdp %s punted, %s dropped (ring full); control socket got %s" % (
            si(c.get("punt", 0)), si(c.get("drop_punt_full", 0)), si(hold.get("punts")))
        if meta.get("punt_fraction"):
            extra += " (control frames in the measured runs: ~%s)" % si(sent *
                                                                       meta["punt_fraction"])
        rep.row("control-trickle", "rvdp", "control-trickle", extra)
    coturn = rep.row("binding-flood", "coturn, 1 relay thread (kernel UDP)", "coturn")

    # headline: per-round ratios when the runs came in rounds
    r = rep.paired("binding-flood", "baseline", "answered_pps") or ratio(rvdp, base)
    if r:
        rep.head("rvdp / link baseline (Binding flood)", r[0],
                 "%.1f %% [%.1f..%.1f]" % tuple(100 * x for x in r),
                 ">= %.0f %%" % (100 * TARGETS["rvdp_vs_link"]), r[0] >= TARGETS["rvdp_vs_link"])
    r = rep.paired("binding-flood", "coturn", "answered_pps") or ratio(rvdp, coturn)
    if r:
        rep.head("rvdp / coturn (Binding flood)", r[0], "%.1fx [%.1f..%.1f]" % r,
                 ">= %.0fx" % TARGETS["rvdp_vs_coturn"], r[0] >= TARGETS["rvdp_vs_coturn"])
    r = ratio(probes.get("10m"), probes.get("1k"))
    if r:
        rep.head("probes: 10 M / 1 K sessions", r[0],
                 "%.1f %% [%.1f..%.1f]" % tuple(100 * x for x in r),
                 ">= %.0f %%" % (100 * TARGETS["tables_10m_vs_1k"]),
                 r[0] >= TARGETS["tables_10m_vs_1k"])
    elif "1k" in probes:
        why = next((x["extra"] for x in rep.rows if x["run"] in ("probes-10m", "probes-1m")
                    and x["extra"].startswith("not measured")), "10 M not run")
        rep.head("probes: 10 M / 1 K sessions", None, "n/a (%s)" % why[:90],
                 ">= %.0f %%" % (100 * TARGETS["tables_10m_vs_1k"]), None)
    p_rv, p_base = mmm(rep.run("binding-flood-80"), "p99_us"), mmm(rep.run("baseline-80"),
                                                                    "p99_us")
    r = rep.paired("binding-flood-80", "baseline-80", "p99_us") or ratio(p_rv, p_base)
    if r:
        rep.head("p99 at 80 % load: rvdp / baseline", r[0],
                 "%.2fx [%.2f..%.2f] (%.0f / %.0f us)" % (r + (p_rv[0], p_base[0])),
                 "<= %.0fx" % TARGETS["p99_vs_link"],
                 r[0] <= TARGETS["p99_vs_link"])
    mem = probes.get("10m_mem") or probes.get("1m_mem")
    if mem:
        _, d = rep.counters("probes-10m" if probes.get("10m_mem") else "probes-1m")
        rep.head("memory per session (RSS growth / sessions)", mem,
                 "%.0f B (table node: %s B)" % (mem, d.get("session_bytes", "?")), "-", None)
    build_relay(rep)
    for fn in sorted(os.listdir(rep.dir)):
        if fn.endswith(".exit.json"):
            e = load(os.path.join(rep.dir, fn)) or {}
            st = e.get("status", 0)
            rep.notes.append("%s exited with status %s%s: its figures above came before" % (
                e.get("server", fn), st, " (signal %d)" % (st - 128) if st > 128 else ""))
    s_base, s_rv = rep.run("baseline-search"), rep.run("binding-flood-search")
    if s_base and s_rv and "search" in s_base and "search" in s_rv:
        b, v = s_base["search"]["rate_pps"], s_rv["search"]["rate_pps"]
        rep.head("RFC 2544 no-loss rate (loss <= %g %%): rvdp / baseline"
                 % (100 * s_rv["search"]["loss_max"]), v / b if b else None,
                 "%s / %s = %.1f %%" % (si(v), si(b), 100 * v / b if b else 0), "-", None)


def relay_scenarios(rep):
    """The relay scenarios that were measured: relay-min, relay-512, ..."""
    try:
        names = os.listdir(rep.sdir)
    except OSError:
        return []
    return sorted((n[:-5] for n in names if n.startswith("relay-") and n.endswith(".json")
                   and rep.rounds(n[:-5])), key=lambda n: rep.scenario(n).get("data_bytes", 0))


def relay_counters(rep, sc):
    """rvdp's relay counters, summed over the rounds' rvdp processes."""
    tot, r = {}, 1
    while True:
        d = rep.run("%s-r%d" % (sc, r), ".rvdp")
        if d is None:
            return tot
        for k, v in d.get("counters", {}).items():
            if "relay" in k and isinstance(v, (int, float)):
                tot[k] = tot.get(k, 0) + v
        r += 1


def build_relay(rep):
    """Issue 8's relay rows and ratios: rvdp against the same frames' link
    limit, and against the kernel-socket relays."""
    for sc in relay_scenarios(rep):
        meta = rep.scenario(sc)
        label = "%s (%s B)" % (sc, meta.get("data_bytes", "?"))
        c = relay_counters(rep, sc)
        drops = sum(v for k, v in c.items() if k.startswith("drop_relay"))
        extra = {"": "%s relays; rvdp: %s forwarded, %s relay drops, %s sides bound" % (
            si(meta.get("relays")), si(c.get("tx_relay", 0)), si(drops),
            si(c.get("tx_relay_bind", 0)))}
        for suffix, who in RELAY_SYSTEMS:
            if rep.rounds(sc + suffix):
                rep.row(label, who, sc + suffix, extra.get(suffix, ""))
        r = rep.paired(sc, sc + "-link", "answered_pps")
        if r:
            rep.head("rvdp relay / link baseline (%s)" % label, r[0],
                     "%.1f %% [%.1f..%.1f]" % tuple(100 * x for x in r),
                     ">= %.0f %%" % (100 * TARGETS["relay_vs_link"]),
                     r[0] >= TARGETS["relay_vs_link"])
        for suffix, who in RELAY_SYSTEMS[2:]:
            r = rep.paired(sc, sc + suffix, "answered_pps")
            if r:
                rep.head("rvdp relay / %s (%s)" % (who.split(" (")[0], label), r[0],
                         "%.1fx [%.1f..%.1f]" % r, "-", None)
        r = rep.paired(sc + "-80", sc + "-link-80", "p99_us")
        if r:
            rep.head("relay p99 at 80 %% load: rvdp / baseline (%s)" % label, r[0],
                     "%.2fx [%.2f..%.2f]" % r, "-", None)


def latency_lines(rep):
    out = []
    pairs = [("baseline-80", "testpmd macswap"), ("binding-flood-80", "rvdp"),
             ("coturn-80", "coturn")]
    for sc in relay_scenarios(rep):
        pairs += [(sc + suffix + "-80", "%s %s" % (sc, who.split(" ")[0]))
                  for suffix, who in RELAY_SYSTEMS]
    for name, who in pairs:
        r = rep.run(name)
        if not r:
            continue
        rate = (mmm(r, "rate_pps") or (0,))[0]
        out.append("  %-24s @ %-9s p50 %-22s p99 %-22s p99.9 %s" % (
            who, si(rate, "/s"), fmt(mmm(r, "p50_us"), " us", digits=1),
            fmt(mmm(r, "p99_us"), " us", digits=1), fmt(mmm(r, "p999_us"), " us", digits=1)))
    return out


def print_table(rep, meta):
    print()
    print("rvdp benchmark — %s, %s, %d CPUs: generator on CPU 0, system under test on CPU 1"
          % (time.strftime("%Y-%m-%d %H:%M"), platform.processor() or platform.machine(),
             os.cpu_count() or 0))
    print("every figure: median [min..max] of %s run(s) of %s ms; rates in packets/s%s"
          % (meta.get("runs"), meta.get("duration_ms"),
             "; SMOKE (numbers only, not a measurement)" if meta.get("smoke") == "1" else ""))
    print()
    print("  %-18s %-36s %-26s %-26s %-8s %s" % ("scenario", "system", "offered/s",
                                                  "answered/s", "pushback", "loss vs expected"))
    for r in rep.rows:
        loss = fmt(r["loss"], " %", 100, digits=3) if r["loss"] else ""
        push = "%.0f %%" % (100 * r["pushback"][0]) if r.get("pushback") else "-"
        print("  %-18s %-36s %-26s %-26s %-8s %s" % (r["scenario"], r["system"],
                                                     fmt(r["offered_pps"]),
                                                     fmt(r["answered_pps"]), push, loss))
        if r["extra"]:
            print("  %-18s   %s" % ("", r["extra"]))
    lat = latency_lines(rep)
    if lat:
        print()
        print("latency at 80 % of each system's own full-speed answered rate:")
        print("\n".join(lat))
    print()
    print("headline: median [min..max] of the per-round ratios (baseline, rvdp and coturn measured")
    print("back to back in each round); targets from issues 7 and 8:")
    for h in rep.heads:
        verdict = {True: "met", False: "NOT met", None: ""}[h["met"]]
        print("  %-58s %-28s %-10s %s" % (h["what"], h["shown"], h["target"], verdict))
    print("pushback: share of the generator's send attempts the link refused (ring full): high")
    print("means the system under test set the pace, near 0 that the generator did.")
    for n in rep.notes:
        print("note: " + n)


def plot(rep, out):
    rows = [r for r in rep.rows if r["answered_pps"]]
    if not rows:
        return None
    gp = shutil.which("gnuplot")
    if not gp:
        rep.notes.append("gnuplot missing (scripts/deps.sh): no plot")
        return None
    data = os.path.join(out, "answered.dat")
    with open(data, "w") as f:
        for i, r in enumerate(rows):
            med, lo, hi = r["answered_pps"]
            f.write('%d "%s\\n%s" %g %g %g\n' % (i, r["scenario"], r["system"].split(" ")[0]
                                                 .rstrip(","), med, lo, hi))
    base = next((r["answered_pps"][0] for r in rows if r["run"] == "baseline"), None)
    png = os.path.join(out, "answered.png")
    script = [
        "set terminal pngcairo size 1200,600 font ',10'",
        "set output '%s'" % png,
        "set title 'Answered packets/s per scenario (median, min..max); link baseline dashed'",
        "set logscale y", "set ylabel 'answered packets/s'", "set grid ytics",
        "set style fill solid 0.6", "set boxwidth 0.6", "set xtics rotate by -30 noenhanced",
        "set bmargin 7",
        "unset key", "set xrange [-0.6:%f]" % (len(rows) - 0.4),
        "plot '%s' using 1:3:xtic(2) with boxes lc rgb '#4477aa', "
        "'' using 1:3:4:5 with yerrorbars lc rgb 'black' pt 0" % data]
    if base:
        script[-1] += ", %g with lines dt 2 lc rgb '#cc3311'" % base
    rc = subprocess.run([gp], input="\n".join(script) + "\n", text=True,
                        capture_output=True)
    if rc.returncode != 0:
        rep.notes.append("gnuplot failed: %s" % rc.stderr.strip()[:200])
        return None
    return png


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", required=True)
    ap.add_argument("--scenarios", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--meta", nargs="*", default=[])
    a = ap.parse_args()
    meta = dict(kv.split("=", 1) for kv in a.meta)
    rep = Report(a.runs, a.scenarios)
    build(rep)
    if not rep.rows:
        print("report: no measurement in %s" % a.runs)
        return 1
    png = plot(rep, a.out)
    runs = {}
    for fn in sorted(os.listdir(a.runs)):
        if fn.endswith(".json"):
            runs[fn[:-5]] = load(os.path.join(a.runs, fn))
    results = {"meta": dict(meta, date=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                            cpus=os.cpu_count(), targets=TARGETS),
               "rows": rep.rows, "headline": rep.heads, "plot": png, "notes": rep.notes,
               "runs": runs}
    with open(os.path.join(a.out, "results.json"), "w") as f:
        json.dump(results, f, indent=1)
    print_table(rep, meta)
    print("\nwritten: %s%s" % (os.path.join(a.out, "results.json"),
                               (", " + png) if png else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
