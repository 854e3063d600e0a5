#!/usr/bin/python3
"""natlab_check — proves natbox right inside the lab, with plain UDP sockets.

For each preset and allocation mode it checks what the public echo host
observes (mapped ports: mapping behaviour, delta, negative delta, wrap,
preserving, random, background hosts), what reaches the host unsolicited
(filtering) and what natbox logged about it, mapping expiry, TTL expiry
(ICMP time-exceeded; TTL 2 maps, TTL 1 does not), ICMP echo and
hairpinning. Optionally coturn's turnutils_natdiscovery (RFC 5780) judges
mapping and filtering independently.

Run as root with the lab up (tests/natlab/run-natlab.sh does it all).
Prints one line per check and exits 1 if any failed.
"""

import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lablib import (  # noqa: E402
    GATEWAY, HOST, P1, P2, ROUTER, RUN, S1, S2, WAN, Checks, Server, drain, events,
    icmp_error, judge_rfc5780, mapped, nat, port_of, recv, sock, wait_events)

DESTS = [(S1, P1), (S1, P2), (S2, P1), (S2, P2)]
C = Checks("natlab")
check = C.check


def fresh(ns="a1", port=0, recverr=False):
    return sock(ns, "0.0.0.0", port, recverr)


# Per preset: which of the four destinations share the first one's mapping,
# and which unsolicited sources pass after sending to S1:3478 only.
PRESETS = {
    #                 mapping  same as (S1,P1) for each of DESTS   passes from DESTS
    "full-cone": ("EIM", "EIF", [True, True, True, True], [True, True, True, True]),
    "restricted": ("EIM", "ADF", [True, True, True, True], [True, True, False, False]),
    "port-restricted": ("EIM", "APDF", [True, True, True, True], [True, False, False, False]),
    "addr-symmetric": ("ADM", "ADF", [True, True, False, False], [True, True, False, False]),
    "port-symmetric": ("APDM", "APDF", [True, False, False, False], [True, False, False, False]),
}


def check_preset(srv, preset):
    mapping, filtering, same, passes = PRESETS[preset]
    nat("a", "--preset", preset, "--alloc", "sequential", "--port-start", "20000")
    c = fresh()
    lport = c.getsockname()[1]
    first = mapped(srv, c, DESTS[0])
    check(first is not None and first[0] == WAN["a"],
          "%s: the echo host sees the NAT's WAN address" % preset, str(first))
    if first is None:
        return
    check(first[1] == 20000, "%s: first allocation at port_start 20000" % preset, str(first))

    # Filtering first, while only S1:3478 has been contacted.
    for frm in DESTS:
        srv.send(frm, first, b"from %s:%d" % (frm[0].encode(), frm[1]))
    got = {d.decode() for _, d, _ in drain([c], 0.3)}
    want = {"from %s:%d" % f for f, p in zip(DESTS, passes) if p}
    check(got == want, "%s (%s): unsolicited packets filtered as configured" % (preset, filtering),
          "got %s, want %s" % (sorted(got), sorted(want)))
    blocked = [f for f, p in zip(DESTS, passes) if not p]
    fil = wait_events("a", lambda evs: len([e for e in evs if e["ev"] == "filtered"])
                      >= len(blocked), 1.0) or events("a")
    fil = [e for e in fil if e["ev"] == "filtered"]
    logged = sorted((e["src"], e["rule"]) for e in fil)
    want_log = sorted(("%s:%d" % f, filtering) for f in blocked)
    check(logged == want_log, "%s: natbox logged each filtered packet with rule %s"
          % (preset, filtering), "logged %s, want %s" % (logged, want_log))

    # Mapping: the other three destinations from the same socket.
    ports = [first[1]] + [mapped(srv, c, d)[1] for d in DESTS[1:]]
    ok = all((p == ports[0]) == s for p, s in zip(ports, same))
    distinct = sorted(set(ports))
    # Sequential, delta 1: new mappings take consecutive ports.
    ok = ok and distinct == list(range(20000, 20000 + len(distinct)))
    check(ok, "%s (%s): mapped ports %s" % (preset, mapping, ports))
    creates = [e for e in events("a", "map_create") if e["int"] == "%s:%d" % (HOST["a1"], lport)]
    check(sorted(port_of(e["ext"]) for e in creates) == distinct,
          "%s: natbox logged %d mapping(s) for %s:%d" % (preset, len(distinct), HOST["a1"], lport),
          str(creates))
    c.close()


def check_presets(srv):
    for preset in PRESETS:
        check_preset(srv, preset)
    check_none(srv)


def check_none(srv):
    nat("a", "--preset", "none")
    c = fresh()
    lport = c.getsockname()[1]
    seen = [mapped(srv, c, d) for d in DESTS]
    check(all(s == (HOST["a1"], lport) for s in seen),
          "none: the echo host sees the host's own address %s:%d" % (HOST["a1"], lport), str(seen))
    for frm in DESTS:
        srv.send(frm, (HOST["a1"], lport), b"x")
    check(len(drain([c], 0.3)) == 4, "none: nothing is filtered")
    check(not events("a", "map_create"), "none: no mapping created")
    c.close()


def alloc_ports(srv, opts, n=5):
    """Restart natbox with opts; n fresh sockets each send to S1:3478 (a new
    mapping whatever the mapping behaviour); the ports the echo host saw."""
    nat("a", *opts)
    ports = []
    for _ in range(n):
        c = fresh()
        m = mapped(srv, c, (S1, P1))
        ports.append(m[1] if m else None)
        c.close()
    return ports


def check_alloc(srv):
    p = alloc_ports(srv, ["--preset", "PS", "--alloc", "sequential", "--delta", "2",
                          "--port-start", "30000"])
    check(p == [30000, 30002, 30004, 30006, 30008], "sequential delta +2: %s" % p)
    p = alloc_ports(srv, ["--preset", "PR", "--alloc", "sequential", "--delta", "-3",
                          "--port-start", "40000"])
    check(p == [40000, 39997, 39994, 39991, 39988], "sequential delta -3: %s" % p)
    p = alloc_ports(srv, ["--preset", "PS", "--alloc", "sequential", "--delta", "3",
                          "--port-range", "50000-50009", "--port-start", "50007"], n=6)
    check(p == [50007, 50000, 50003, 50006, 50009, 50002],
          "sequential delta 3 wraps around 50000-50009: %s" % p)
    p = alloc_ports(srv, ["--preset", "PS", "--alloc", "random", "--port-range", "40000-49999"],
                    n=8)
    gaps = [b - a for a, b in zip(p, p[1:])] if None not in p else []
    check(None not in p and all(40000 <= x <= 49999 for x in p) and len(set(p)) == 8
          and len(set(gaps)) > 1, "random: in range, distinct, no common step: %s" % p)

    # Preserving: the host's port, and a collision (a2, same port) falls
    # back to sequential from port_start.
    nat("a", "--preset", "PR", "--alloc", "preserving", "--port-start", "30000")
    c1, c2 = sock("a1", port=45678), sock("a2", port=45678)
    m1, m2 = mapped(srv, c1, (S1, P1)), mapped(srv, c2, (S1, P1))
    check(m1 == (WAN["a"], 45678), "preserving: 10.0.1.2:45678 keeps port 45678 (%s)" % (m1,))
    check(m2 == (WAN["a"], 30000),
          "preserving: 10.0.1.3:45678 collides, falls back to 30000 (%s)" % (m2,))
    c1.close()
    c2.close()

    # Background hosts: ports consumed between ours, all in the log, and
    # the allocation sequence (theirs and ours, log order) has no gap.
    nat("a", "--preset", "PS", "--alloc", "sequential", "--lambda", "20", "--port-start", "20000")
    ours = []
    for _ in range(12):
        c = fresh()
        ours.append(mapped(srv, c, (S1, P1))[1])
        c.close()
        time.sleep(0.1)
    seq = [port_of(e["ext"]) for e in events("a") if e["ev"] in ("map_create", "bg_alloc")
           and e.get("proto") == "udp"]
    bg = len(events("a", "bg_alloc"))
    check(seq == list(range(20000, 20000 + len(seq))) and set(ours) <= set(seq),
          "lambda 20/s: %d background allocations interleave ours %s, no gaps in the log"
          % (bg, ours), "log sequence %s" % seq)
    check(bg > 0 and max(b - a for a, b in zip(ours, ours[1:])) > 1,
          "lambda 20/s: the echo host sees gaps between consecutive mappings")


def check_lifetime(srv):
    nat("a", "--preset", "PR", "--alloc", "sequential", "--lifetime", "1.5", "--port-start", "20000")
    c = fresh()
    m = mapped(srv, c, (S1, P1))
    time.sleep(1.0)
    m2 = mapped(srv, c, (S1, P1))
    time.sleep(1.0)
    m3 = mapped(srv, c, (S1, P1))
    check(m == m2 == m3, "lifetime 1.5 s: outbound traffic every 1 s keeps the mapping %s" % (m,))
    t0 = time.monotonic()
    evs = wait_events("a", lambda evs: any(e["ev"] == "map_expire" for e in evs), 3.0)
    waited = time.monotonic() - t0
    exp = [e for e in (evs or []) if e["ev"] == "map_expire"]
    check(len(exp) == 1 and port_of(exp[0]["ext"]) == m[1] and 1500 <= exp[0]["idle_ms"] <= 1900,
          "lifetime 1.5 s: natbox expires it after %d ms idle (waited %.2f s)"
          % (exp[0]["idle_ms"] if exp else -1, waited), str(exp))
    srv.send((S1, P1), m)
    check(recv(c, 0.3) is None, "after expiry the old mapping lets nothing in")
    check(any(e["ev"] == "filtered" and e["rule"] == "no_mapping" for e in events("a")),
          "after expiry natbox logs the packet as filtered: no_mapping")
    m4 = mapped(srv, c, (S1, P1))
    check(m4 == (WAN["a"], m[1] + 1), "after expiry the next packet gets a new port %s" % (m4,))
    c.close()


def check_ttl(srv):
    nat("a", "--preset", "PS", "--alloc", "sequential", "--port-start", "20000")
    c1 = fresh(recverr=True)
    c1.setsockopt(0, 2, 1)  # IPPROTO_IP, IP_TTL = 1
    c1.sendto(b"ttl1", (S1, P1))
    err = icmp_error(c1)
    check(err == (11, 0, GATEWAY["a"]),
          "TTL 1: ICMP time-exceeded (11/0) from the NAT's LAN address %s: %s" % (GATEWAY["a"], err))
    lp1 = c1.getsockname()[1]
    time.sleep(0.1)
    evs = events("a")
    check(any(e["ev"] == "ttl_expired" and e["side"] == "lan" and e["ttl"] == 1 for e in evs)
          and not any(e["ev"] == "map_create" and port_of(e["int"]) == lp1 for e in evs),
          "TTL 1: natbox logs ttl_expired and creates no mapping")

    c2 = fresh(recverr=True)
    c2.setsockopt(0, 2, 2)
    c2.sendto(b"ttl2", (S1, P1))
    err = icmp_error(c2)
    check(err == (11, 0, ROUTER["a"]),
          "TTL 2: passes the NAT, dies at the router %s; its time-exceeded is translated back "
          "to the host (RFC 5508): %s" % (ROUTER["a"], err))
    check(srv.observe(0.2) is None, "TTL 1 and 2: the echo host received neither")
    lp2 = c2.getsockname()[1]
    evs = events("a")
    mc = [e for e in evs if e["ev"] == "map_create" and port_of(e["int"]) == lp2]
    check(len(mc) == 1 and any(e["ev"] == "icmp_xlate" and e["dir"] == "in" for e in evs),
          "TTL 2: natbox logs the mapping it created and the ICMP translation")
    if mc:
        # The port-assigning packet's purpose: the mapping now admits the
        # endpoint it was addressed to (APDF), which never saw it.
        ext = (WAN["a"], port_of(mc[0]["ext"]))
        srv.send((S1, P1), ext, b"through")
        got = recv(c2, 0.5)
        check(got is not None and got[0] == b"through",
              "TTL 2: the mapping it opened admits %s:%d (port-assigning packet)" % (S1, P1))
    # TTL 64 to a closed port: the server's port-unreachable comes back
    # translated too, so a traceroute through the NAT completes.
    c3 = fresh(recverr=True)
    c3.sendto(b"closed", (S2, 9))
    err = icmp_error(c3)
    check(err == (3, 3, S2), "a port-unreachable from %s comes back translated: %s" % (S2, err))
    c1.close()
    c2.close()
    c3.close()


def check_echo_and_hairpin(srv):
    nat("a", "--preset", "full-cone")
    r = subprocess.run(["ip", "netns", "exec", "rvl-a1", "ping", "-c", "1", "-W", "2", S2],
                       stdout=subprocess.DEVNULL)
    check(r.returncode == 0 and any(e["ev"] == "map_create" and e["proto"] == "icmp"
                                    for e in events("a")),
          "ICMP echo through the NAT (identifier mapped, logged)")
    c1, c2 = fresh("a1"), fresh("a2")
    m1, m2 = mapped(srv, c1, (S1, P1)), mapped(srv, c2, (S1, P1))
    c2.sendto(b"hairpin", m1)
    got = recv(c1, 0.5)
    check(got is not None and got[1] == m2,
          "hairpin on: a2 reaches a1 at %s:%d, seen from a2's external %s" % (m1 + (got,)))
    check(any(e["ev"] == "hairpin" for e in events("a")), "hairpin on: natbox logs it")
    c1.close()
    c2.close()
    nat("a", "--preset", "full-cone", "--hairpin", "off")
    c1, c2 = fresh("a1"), fresh("a2")
    m1 = mapped(srv, c1, (S1, P1))
    c2.sendto(b"hairpin", m1)
    check(recv(c1, 0.3) is None and any(e["ev"] == "filtered" and e["rule"] == "hairpin_off"
                                        for e in events("a")),
          "hairpin off: dropped, logged as filtered: hairpin_off")
    c1.close()
    c2.close()


def check_two_sites(srv):
    """Site b works too, and two port-restricted sites punch through."""
    nat("a", "--preset", "port-restricted")
    nat("b", "--preset", "port-symmetric", "--alloc", "sequential", "--delta", "2",
        "--port-start", "40000")
    cb = fresh("b1")
    p = [mapped(srv, cb, d) for d in DESTS]
    check([x[1] for x in p] == [40000, 40002, 40004, 40006] and p[0][0] == WAN["b"],
          "site b (port-symmetric, delta 2) maps %s" % [x[1] for x in p])
    cb.close()
    nat("b", "--preset", "port-restricted")
    ca, cb = fresh("a1"), fresh("b1")
    ma, mb = mapped(srv, ca, (S1, P1)), mapped(srv, cb, (S1, P1))
    # Both send first (opening their filters), then both must hear.
    ca.sendto(b"a->b", mb)
    cb.sendto(b"b->a", ma)
    time.sleep(0.1)
    ca.sendto(b"a->b", mb)
    cb.sendto(b"b->a", ma)
    ga, gb = recv(ca, 0.5), recv(cb, 0.5)
    check(ga is not None and gb is not None and ga[1] == mb and gb[1] == ma,
          "a1 and b1 behind two port-restricted NATs punch a direct path (%s <-> %s)" % (ma, mb))
    ca.close()
    cb.close()


def check_judge():
    """coturn's RFC 5780 client against coturn's STUN server, per preset."""
    tool, server = shutil.which("turnutils_natdiscovery"), shutil.which("turnserver")
    if not tool or not server:
        print("  skip  the RFC 5780 judge: coturn is not installed (apt-get install coturn)")
        return
    log = open(os.path.join(RUN, "turnserver.log"), "w")
    ts = subprocess.Popen(["ip", "netns", "exec", "rvl-srv", server, "-n",
                           "-L", S1, "-L", S2, "--listening-port", str(P1),
                           "--alt-listening-port", str(P2), "--no-tcp", "--no-tls", "--no-dtls",
                           "--no-tcp-relay", "--stun-only", "--no-cli", "--log-file", "stdout",
                           "--simple-log", "-b", os.path.join(RUN, "turndb")],
                          stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        time.sleep(0.7)
        judge_rfc5780(C, S1, label="vs turnserver")
    finally:
        ts.terminate()
        ts.wait(5)
        log.close()


def main():
    only = set(sys.argv[1:])
    srv = Server()
    sections = [
        ("presets", "mapping and filtering, per preset (site a, host a1)",
         lambda: check_presets(srv)),
        ("alloc", "port allocation", lambda: check_alloc(srv)),
        ("lifetime", "mapping lifetime", lambda: check_lifetime(srv)),
        ("ttl", "TTL", lambda: check_ttl(srv)),
        ("echo", "ICMP echo and hairpinning", lambda: check_echo_and_hairpin(srv)),
        ("sites", "two sites", lambda: check_two_sites(srv)),
    ]
    try:
        for name, title, fn in sections:
            if not only or name in only:
                C.section(title, fn)
    finally:
        srv.close()
    if not only or "judge" in only:
        C.section("independent judge (coturn, RFC 5780)", check_judge)
    return C.finish()


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
