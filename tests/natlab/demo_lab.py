#!/usr/bin/python3
"""demo_lab — the lab stage of `make demo`: two sites behind two different
NATs, a host in each talking to the server's two addresses, and what each
NAT did, told in plain words from natbox's own logs.

Run by scripts/demo.sh (root, lab up)."""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lablib import HOST, P1, P2, S1, S2, WAN, Server, drain, events, mapped, nat, port_of, sock  # noqa

DESTS = [(S1, P1), (S1, P2), (S2, P1), (S2, P2)]
SITES = {
    "a": ("port-restricted cone", ["--preset", "port-restricted", "--alloc", "preserving"],
          "a1"),
    "b": ("port-sensitive symmetric, delta 2, other hosts at 3 ports/s",
          ["--preset", "port-symmetric", "--alloc", "sequential", "--delta", "2",
           "--port-start", "40000", "--lambda", "3", "--seed", "7"], "b1"),
}
RULE_WORDS = {
    "APDF": "the host never sent to that address and port",
    "ADF": "the host never sent to that address",
    "no_mapping": "no mapping owns that port",
    "background": "that port belongs to another (invisible) host",
}


def ep(t):
    return "%s:%d" % t


def say(text=""):
    print(text)
    sys.stdout.flush()


def run_site(srv, site):
    title, opts, host = SITES[site]
    nat(site, *opts)
    c = sock(host)
    local = (HOST[host], c.getsockname()[1])
    say("Site %s — NAT type: %s" % (site, title))
    first = mapped(srv, c, DESTS[0])
    seen = [first]
    say("  host %s sends from %s to %s; the server sees it come from %s"
        % (host, ep(local), ep(DESTS[0]), ep(first)))
    say("  the server sends, unasked, from each of its four endpoints to %s:" % ep(first))
    for frm in DESTS:
        srv.send(frm, first, ("from " + ep(frm)).encode())
    got = {d.decode()[5:] for _, d, _ in drain([c], 0.4)}
    for frm in DESTS:
        say("    from %-16s %s" % (ep(frm), "reached the host" if ep(frm) in got
                                    else "was dropped by the NAT"))
    say("  then the host sends to the server's three other endpoints:")
    for d in DESTS[1:]:
        time.sleep(0.4)  # time for site b's invisible hosts to take ports
        m = mapped(srv, c, d)
        seen.append(m)
        say("    to %-16s the server sees it come from %s" % (ep(d), ep(m) if m else "(lost)"))
    c.close()
    return local, seen


def narrate(site, local, seen):
    evs = events(site)
    cfg = evs[0]
    creates = [e for e in evs if e["ev"] == "map_create" and e["proto"] == "udp"]
    bg = [e for e in evs if e["ev"] == "bg_alloc"]
    filt = [e for e in evs if e["ev"] == "filtered"]
    say("  What NAT %s did (from its log, /run/rvlab/nat-%s.jsonl):" % (site, site))
    say("    it is %s: mapping %s, filtering %s, %s ports%s"
        % (cfg["type"], cfg["mapping"], cfg["filtering"], cfg["alloc"],
           ", step %d" % cfg["delta"] if cfg["alloc"] == "sequential" else ""))
    say("    it created %d mapping%s for %s:" % (len(creates), "" if len(creates) == 1 else "s",
                                                 ep(local)))
    for e in creates:
        say("      %s -> %s, opened by a packet to %s" % (e["int"], e["ext"], e["dst"]))
    if bg:
        say("    invisible hosts behind it took %d port%s meanwhile: %s"
            % (len(bg), "" if len(bg) == 1 else "s", ", ".join(str(port_of(e["ext"])) for e in bg)))
    for e in filt:
        say("    it dropped a packet from %s to %s: %s (%s)"
            % (e["src"], e["ext"], RULE_WORDS.get(e["rule"], e["rule"]), e["rule"]))
    ports = [m[1] for m in seen if m]
    if cfg["mapping"] == "EIM":
        say("    => one external port (%d) for every destination: a peer that learns it from"
            " the server can use it." % ports[0])
    else:
        gaps = [b - a for a, b in zip(ports, ports[1:])]
        say("    => a new external port per destination (%s; gaps %s): the port a peer would"
            % (", ".join(map(str, ports)), gaps))
        say("       need must be predicted from the step (delta %d) and a range, because other"
            % cfg["delta"])
        say("       hosts take ports in between — the traversal document's case.")


def main():
    say("The NAT lab: two sites behind two userspace NATs (natbox), a router, and a public")
    say("server with two addresses (%s, %s) and two ports (%d, %d) — all inside network"
        % (S1, S2, P1, P2))
    say("namespaces on this machine. Site a's NAT is %s, site b's %s." % (WAN["a"], WAN["b"]))
    say()
    srv = Server()
    try:
        for site in ("a", "b"):
            local, seen = run_site(srv, site)
            time.sleep(0.1)
            narrate(site, local, seen)
            say()
    finally:
        srv.close()
    say("This is the lab stage of the demo: the NATs every later test and the end-to-end demo")
    say("(two devices finding each other and punching a direct path) run behind.")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)  # Ctrl-C: demo.sh tears the lab down
