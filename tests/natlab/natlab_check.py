#!/usr/bin/python3
"""natlab_check — proves natbox right inside the lab, with plain UDP sockets.

For each preset and allocation mode it checks what the public echo host
observes (mapped ports: mapping behaviour, delta, negative delta, wrap,
preserving, random, background hosts), what reaches the host unsolicited
(filtering) and what natbox logged about it, mapping expiry, TTL expiry
(ICMP time-exceeded; TTL 2 maps, TTL 1 does not), ICMP echo,
hairpinning, and IPv4 fragments (3000-byte datagrams both ways through every
preset; hand-made hostile trains from a raw socket dropped with their logged
reason). Optionally coturn's turnutils_natdiscovery (RFC 5780) judges mapping
and filtering independently.

Run as root with the lab up (tests/natlab/run-natlab.sh does it all).
Prints one line per check and exits 1 if any failed.
"""

import os
import select
import shutil
import socket
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lablib import (  # noqa: E402
    GATEWAY, HOST, P1, P2, ROUTER, RUN, S1, S2, WAN, Checks, Server, drain, events,
    icmp_error, judge_padded, judge_rfc5780, mapped, nat, ns_socket, port_of, recv, sock,
    wait_events)

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


# --- IPv4 fragments -------------------------------------------------------------------

BIG = 3000  # UDP payload: three fragments on the lab's 1500-byte links


def recv_big(s, timeout=1.0):
    """(data, src) of the next datagram of any size on s, or None."""
    r, _, _ = select.select([s], [], [], timeout)
    return s.recvfrom(65535) if r else None


def frag_drops(site="a"):
    return [e for e in events(site, "drop") if e["reason"].startswith("frag")]


def check_fragments_presets(srv):
    """A 3000-byte datagram from a1 reaches the echo host whole through every
    preset, and the echo host's 3000-byte answer reaches a1 whole: natbox
    reassembles both ways and cuts the translated datagram to the MTU."""
    for preset in list(PRESETS) + ["none"]:
        nat("a", "--preset", preset)
        if preset == "full-cone":
            cfg = events("a", "config")[0]
            check(cfg.get("lan_mtu") == cfg.get("wan_mtu") == 1500,
                  "natbox takes its links' MTU (1500): %d bytes cross as fragments" % BIG,
                  str(cfg))
        c = fresh()
        data = os.urandom(BIG)
        c.sendto(data, (S1, P1))
        got = recv_big(srv.socks[(S1, P1)])
        src = WAN["a"] if preset != "none" else HOST["a1"]
        check(got is not None and got[0] == data and got[1][0] == src,
              "%s: a %d-byte datagram from a1 reaches the echo host intact, from %s"
              % (preset, BIG, got[1] if got else None),
              "got %s" % ("%d bytes" % len(got[0]) if got else "nothing"))
        if got is None:
            c.close()
            continue
        answer = os.urandom(BIG)
        srv.socks[(S1, P1)].sendto(answer, got[1])
        back = recv_big(c)
        check(back is not None and back[0] == answer and back[1] == (S1, P1),
              "%s: its %d-byte answer comes back to a1 intact" % (preset, BIG),
              "got %s" % ("%d bytes from %s" % (len(back[0]), back[1]) if back else "nothing"))
        drops = frag_drops()
        check(not drops, "%s: natbox dropped no fragment" % preset, str(drops))
        c.close()


class Raw:
    """Hand-made IPv4 fragments from a1 (a raw socket: the kernel fills in
    the header checksum, nothing else)."""

    def __init__(self, ns="a1", src=HOST["a1"]):
        self.s = ns_socket(ns, socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
        self.src = socket.inet_aton(src)

    def piece(self, ident, off, payload, more, dst=S1, proto=17):
        """Payload bytes at byte offset off (a multiple of 8) of train ident."""
        hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident,
                          (0x2000 if more else 0) | off // 8, 64, proto, 0, self.src,
                          socket.inet_aton(dst))
        self.s.sendto(hdr + payload, (dst, 0))

    def close(self):
        self.s.close()


def udp_head(sport, dport=P1, total=BIG + 8):
    """The first 8 bytes of a UDP datagram of `total` bytes (checksum 0)."""
    return struct.pack("!HHHH", sport, dport, total, 0)


def check_fragments_hostile(srv):
    """Trains that never complete, overflow, overlap or flood the table are
    dropped with their logged reason, create no mapping and reach nobody;
    natbox still passes a real datagram afterwards."""
    nat("a", "--preset", "PR", "--frag-timeout", "1")
    raw = Raw()
    a1 = HOST["a1"]
    try:
        # A first piece alone (ports known), and the rest of another train
        # without its first piece.
        raw.piece(0x1001, 0, udp_head(45001) + b"x" * 1472, True)
        raw.piece(0x1002, 1480, b"y" * 1480, True)
        raw.piece(0x1002, 2960, b"y" * 48, False)
        evs = wait_events("a", lambda evs: len([e for e in evs if e["ev"] == "drop" and
                                                e["reason"] == "frag_timeout"]) >= 2, 3.0)
        to = sorted(e["src"] for e in (evs or []) if e.get("reason") == "frag_timeout")
        check(to == sorted(["%s:45001" % a1, "%s:0" % a1]),
              "incomplete trains time out after --frag-timeout 1 s, logged frag_timeout "
              "(with the ports when the first piece came)", str(to))
        check(not events("a", "map_create"), "pieces alone create no mapping")
        check(recv_big(srv.socks[(S1, P1)], 0.2) is None, "and reach nobody")

        # A duplicate, an overlap, a train past 65000 bytes, a train of 65
        # pieces (the 65th is one too many).
        raw.piece(0x2001, 0, udp_head(45002) + b"d" * 1472, True)
        raw.piece(0x2001, 0, udp_head(45002) + b"d" * 1472, True)
        raw.piece(0x2002, 0, udp_head(45003) + b"o" * 1472, True)
        raw.piece(0x2002, 1472, b"o" * 1000, False)
        raw.piece(0x2003, 64800, b"b" * 1480, True)
        for k in range(70):
            raw.piece(0x2004, 8 * k, udp_head(45004) if k == 0 else b"m" * 8, True)
        want = {"frag_dup", "frag_overlap", "frag_too_big", "frag_too_many"}
        evs = wait_events("a", lambda evs: want <= {e.get("reason") for e in evs}, 2.0)
        seen = {e["reason"] for e in (evs or events("a")) if e.get("reason", "").startswith("frag")}
        check(want <= seen, "a duplicate, an overlap, a train past 65000 bytes and a 65th piece "
              "are dropped and logged (%s)" % ", ".join(sorted(want & seen)),
              "logged %s" % sorted(seen))
        check(all(e["side"] == "lan" and e["src"].startswith(a1 + ":") for e in frag_drops()),
              "each logged on the LAN side with its source")

        # A flood of first pieces: the table holds 64 trains, the rest evict.
        for ident in range(0x3000, 0x3000 + 300):
            raw.piece(ident, 0, udp_head(46000) + b"f" * 1472, True)
        evs = wait_events("a", lambda evs: sum(e.get("reason") == "frag_evicted"
                                               for e in evs) >= 300 - 64, 2.0)
        n = sum(e.get("reason") == "frag_evicted" for e in (evs or events("a")))
        check(n >= 300 - 64, "300 trains at once: %d evicted from the 64-slot table, each "
              "logged frag_evicted" % n)
        check(not events("a", "map_create"), "none of it created a mapping")
    finally:
        raw.close()
    c = fresh()
    data = os.urandom(BIG)
    c.sendto(data, (S1, P1))
    got = recv_big(srv.socks[(S1, P1)])
    check(got is not None and got[0] == data,
          "after all that, a real %d-byte datagram still goes through" % BIG)
    c.close()


def check_fragments(srv):
    check_fragments_presets(srv)
    check_fragments_hostile(srv)


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
        judge_padded(C, S1, "vs turnserver")
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
        ("frag", "IPv4 fragments", lambda: check_fragments(srv)),
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
