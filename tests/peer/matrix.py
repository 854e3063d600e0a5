#!/usr/bin/python3
"""matrix — issue 6's proof in the NAT lab: rvpeer through every NAT pair.

rvdp on net_af_packet in rvl-srv, rvcontrol behind it (root namespace, over
rvdp's control socket), rvpeer in the site hosts, natbox between them:

1. Classification: for every natbox preset x allocation mode, `rvpeer
   classify --json` from rvl-a1 against rvdp reports the configured mapping,
   filtering, type, allocation and delta.
2. The connectivity matrix: for each allocation mode, every ordered pair of
   the six types (caller in site a, callee in site b): `rvpeer connect`
   against `rvpeer listen --echo`; the strategy must be the one EXPECTED
   names (the path direct, or through rvdp's relay where no direct one can
   exist), a message must arrive at the callee and its echo come back. Both peers declare (--nat/--alloc/--delta/--hops) what
   section 1 measured for their NAT, so the matrix uses the measurement
   without paying for it in every cell. Printed as one table per mode.
   A few cells run again with peers that classify themselves.
3. Hostile cases: partner offline, partner never answers, partner gone
   without a bye, server unreachable, the callee's NAT mapping expired or
   lost mid-way, the server (rvcontrol, then rvdp) SIGKILLed and restarted
   mid-connect, before and after its INSTRUCTs reached the peers: each ends
   in bounded time with a clear error (or recovers), and after a restart
   the same peers connect again at once.
4. Relay first, then a direct path: the connection moves over.
5. Relay quotas (issue 8's "Quotas" proof): rvcontrol restarted with
   --relay-seconds 10, then --relay-mb 1, two random-allocation
   port-symmetric NATs (relayed, nothing to upgrade to): a chat past the
   time quota and a 1.5 MiB file past the byte quota are cut off, both
   peers print why ("the server ended the relay: relay-time|relay-bytes")
   and end, the byte count rvdp relayed stops within a datagram of the
   quota, and rvcontrol's log and stats account it. Then its normal flags.

Run as root with the lab up in dpdk mode and the lab lock held
(tests/peer/run-matrix.sh does it all). For development:
  matrix.py [--only classify,matrix,self,hostile,upgrade,quota]
            [--alloc seq1,seq2,random]
            [--types PR,PS]     (the matrix's rows and columns)
"""

import argparse
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "natlab"))
from lablib import P1, RUN, S1, S2, Checks, events, nat, sock, story  # noqa: E402

BUILD = os.environ.get("BUILD", "build")
RVDP = os.path.join(BUILD, "rvdp")
RVCONTROL = os.path.join(BUILD, "rvcontrol")
RVPEER = os.path.join(BUILD, "rvpeer")
PIDFILE = os.environ.get("MATRIX_PIDS")  # for run-matrix.sh's cleanup
C = Checks("peer-matrix")

# --- what the lab is configured as, and what must happen ---------------------

TYPES = ["none", "full-cone", "restricted", "port-restricted", "addr-symmetric",
         "port-symmetric"]
SHORT = {"none": "none", "full-cone": "FC", "restricted": "R", "port-restricted": "PR",
         "addr-symmetric": "AS", "port-symmetric": "PS"}
LONG = {v: k for k, v in SHORT.items()}
# natbox presets as RFC 4787 behaviours (what classify must report).
BEHAVIOUR = {"none": ("EIM", "EIF"), "full-cone": ("EIM", "EIF"), "restricted": ("EIM", "ADF"),
             "port-restricted": ("EIM", "APDF"), "addr-symmetric": ("ADM", "ADF"),
             "port-symmetric": ("APDM", "APDF")}

LAMBDA = 5  # background allocations per second in the Δ=2 mode
# name: (title, natbox allocation options, expected allocation, expected Δ)
ALLOCS = {
    "seq1": ("sequential, delta 1", ["--alloc", "sequential", "--delta", "1"], "sequential", 1),
    "seq2": ("sequential, delta 2, %d background allocations/s" % LAMBDA,
             ["--alloc", "sequential", "--delta", "2", "--lambda", str(LAMBDA)], "sequential", 2),
    "random": ("random", ["--alloc", "random"], "random", 0),
}

# The expected strategy of every ordered pair (row: caller in site a, column:
# callee in site b), per allocation mode, in the order of TYPES:
#   direct    one side is not filtered at all (none, full cone): just send;
#   e1        the document's embodiment 1 (the sender's bubble port is
#             predictable: cone mapping, or sequential allocation);
#   predict   both port-sensitive symmetric, sequential: predict both NATs;
#   birthday  a random-allocation symmetric NAT against a port-restricted
#             cone (against a restricted cone e1 works: the cone side sends
#             the bubbles and its address filter admits any port of the
#             symmetric side);
#   relay     genuinely impossible without a relay, so the server grants one
#             on rvdp at once and both peers bind to it and talk through it
#             (proto/WIRE.md "Relaying"): two symmetric NATs with random
#             allocation — neither side's mapping toward the other can be
#             predicted; AS<->AS would take a scan of up to 64512 ports, any
#             pair with a PS side a birthday coincidence of two random
#             allocators (or such a scan): no bounded budget reaches it. Same
#             checks as any cell: the message and its echo, both sides and
#             rvcontrol agreeing ("relayed").
#   NO        (no cell now) the server must refuse at once with "No Direct
#             Path" (rvpeer exit 1): what these cells expected before relays.
_SEQ = [
    # none      FC        R         PR        AS        PS          <- callee
    ["direct", "direct", "direct", "direct", "direct", "direct"],  # none
    ["direct", "direct", "direct", "direct", "direct", "direct"],  # FC
    ["direct", "direct", "e1", "e1", "e1", "e1"],  # R
    ["direct", "direct", "e1", "e1", "e1", "e1"],  # PR
    ["direct", "direct", "e1", "e1", "e1", "e1"],  # AS
    ["direct", "direct", "e1", "e1", "e1", "predict"],  # PS
]
_RANDOM = [
    ["direct", "direct", "direct", "direct", "direct", "direct"],  # none
    ["direct", "direct", "direct", "direct", "direct", "direct"],  # FC
    ["direct", "direct", "e1", "e1", "e1", "e1"],  # R
    ["direct", "direct", "e1", "e1", "birthday", "birthday"],  # PR
    ["direct", "direct", "e1", "birthday", "relay", "relay"],  # AS
    ["direct", "direct", "e1", "birthday", "relay", "relay"],  # PS
]
EXPECTED = {"seq1": _SEQ, "seq2": _SEQ, "random": _RANDOM}
LEGEND = """\
  cell: strategy, time to connect (as the caller's rvpeer reports it) / packets sprayed
        (both sides); every connected cell also carried a message and its echo.
        '!': connected, but not by the expected strategy; FAIL: no working path (the
        check above says why). Any cell unlike EXPECTED in matrix.py is a failed check.
  relay: both NATs symmetric with random allocation — no direct path can exist (no port
        of either side's mapping toward the other can be predicted, no bounded probing
        finds one), so rvcontrol grants a relay on rvdp and the peers connect through it
        (packets: what the peers sent to reach each other through it), with the same
        message-and-echo check as every other cell
  NO-DIRECT: the server refused at once with "No Direct Path" (expected nowhere now)"""

CONNECT_WALL_S = 30  # a cell's connect is killed after this long
NO_DIRECT_WALL_S = 3.0  # "No Direct Path" must come this fast
HOSTILE_BOUND_S = 25.0  # every hostile case ends within this (broker deadline 15 s + margin)
# A partner that never answers the server's INSTRUCTs: the broker ends the
# attempt after its retries (4.5 s) and says so.
GONE_BOUND_S = 8.0
GONE_TEXT = "partner did not answer the server"

# --- processes ---------------------------------------------------------------


class Procs:
    """Every process this script starts in the background; their pids are
    kept in $MATRIX_PIDS so the shell's cleanup can end them by id even if
    this script dies."""

    def __init__(self):
        self.live = []

    def _save(self):
        if PIDFILE:
            with open(PIDFILE, "w") as f:
                f.write(" ".join(str(p.pid) for p in self.live if p.poll() is None) + "\n")

    def start(self, argv, out, err, ns=None, mode="w", stdin=subprocess.DEVNULL):
        if ns:
            argv = ["ip", "netns", "exec", "rvl-" + ns] + argv
        with open(out, mode) as fo, open(err, mode) as fe:
            p = subprocess.Popen(argv, stdout=fo, stderr=fe, stdin=stdin, text=True)
        self.live.append(p)
        self._save()
        return p

    def stop(self, p, sig=signal.SIGTERM, timeout=5.0):
        """Signal p (continuing it if stopped), wait; its exit status, or
        None when it had to be killed."""
        rc = p.poll()
        if rc is None:
            try:
                p.send_signal(signal.SIGCONT)
                p.send_signal(sig)
                rc = p.wait(timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
                rc = None
        if p in self.live:
            self.live.remove(p)
        self._save()
        return rc

    def reap(self, p):
        if p in self.live and p.poll() is not None:
            self.live.remove(p)
            self._save()

    def stop_all(self):
        for p in list(self.live):
            self.stop(p, timeout=3.0)


PROCS = Procs()


def read(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return ""


def json_lines(text):
    out = []
    for ln in text.splitlines():
        ln = ln.strip()
        if ln.startswith("{"):
            try:
                out.append(json.loads(ln))
            except ValueError:
                pass
    return out


def tail(text, n=30, indent="        | "):
    lines = text.rstrip("\n").splitlines()
    if len(lines) > n:
        lines = ["... (%d lines before)" % (len(lines) - n)] + lines[-n:]
    return "\n".join(indent + ln for ln in lines)


def run(argv, ns=None, timeout=60):
    """Run to completion: (exit status or None on timeout, stdout, stderr, seconds)."""
    if ns:
        argv = ["ip", "netns", "exec", "rvl-" + ns] + argv
    t0 = time.monotonic()
    try:
        r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           timeout=timeout, stdin=subprocess.DEVNULL)
        return r.returncode, r.stdout, r.stderr, time.monotonic() - t0
    except subprocess.TimeoutExpired as e:
        out = e.stdout.decode(errors="replace") if isinstance(e.stdout, bytes) else (e.stdout or "")
        err = e.stderr.decode(errors="replace") if isinstance(e.stderr, bytes) else (e.stderr or "")
        return None, out, err, time.monotonic() - t0


# --- the server side ---------------------------------------------------------


class Rig:
    """rvdp + rvcontrol, three devices and their keys."""

    def __init__(self, work):
        self.work = work
        self.keys = os.path.join(work, "keys")
        self.db = os.path.join(work, "rv.db")
        self.ctl_sock = os.path.join(RUN, "rvdp.sock")
        self.ctl_log = os.path.join(RUN, "rvcontrol.log")
        self.rvdp = self.ctl = None
        self.ctl_flags = []  # rvcontrol's extra flags (section 5: small relay quotas)
        self.dev = {}  # name -> key file
        self.loc = {}  # name -> locator

    def setup(self):
        reg = []
        for d in ("a", "b"):
            key = os.path.join(self.work, "%s.key" % d)
            rc, out, err, _ = run([RVPEER, "device-keygen", "--device-id", "matrix-" + d,
                                   "--out", key])
            if rc != 0:
                raise RuntimeError("device-keygen: %s" % err.strip())
            reg.append(out.strip())
            self.dev[d] = key
        with open(os.path.join(self.work, "registry.txt"), "w") as f:
            f.write("\n".join(reg) + "\n")
        os.makedirs(self.keys, exist_ok=True)
        for argv in ([RVCONTROL, "--keys", self.keys, "keygen"],
                     [RVCONTROL, "--db", self.db, "import-devices",
                      os.path.join(self.work, "registry.txt")]):
            rc, out, err, _ = run(argv)
            if rc != 0:
                raise RuntimeError("%s: %s" % (" ".join(argv[1:]), (out + err).strip()))
        self.start_rvdp()
        self.start_rvcontrol()

    def start_rvdp(self):
        argv = [RVDP, "-l", "0-1", "--no-huge", "-m", "256", "--no-pci", "--file-prefix",
                "rvmatrix%d" % os.getpid(), "--vdev", "net_af_packet0,iface=eth0", "--",
                "--addr", S1, "--alt-addr", S2, "--control", self.ctl_sock,
                "--idle-sleep-us", "100", "--json"]
        # Appended to: a restarted rvdp (section 3) keeps the first one's log.
        self.rvdp = PROCS.start(argv, os.path.join(RUN, "rvdp.out"),
                                os.path.join(RUN, "rvdp.log"), ns="srv", mode="a")
        s = sock("inet")  # ready when it answers a Binding
        try:
            for _ in range(100):
                if self.rvdp.poll() is not None:
                    raise RuntimeError("rvdp exited %d (see %s/rvdp.log)"
                                       % (self.rvdp.returncode, RUN))
                s.sendto(struct.pack("!HHI", 1, 0, 0x2112A442) + os.urandom(12), (S1, P1))
                s.settimeout(0.1)
                try:
                    s.recvfrom(2048)
                    return
                except socket.timeout:
                    pass
            raise RuntimeError("rvdp did not answer within 10 s")
        finally:
            s.close()

    def start_rvcontrol(self, since=0):
        """Started (again: its log is appended to, and 'connected' must come
        after offset since)."""
        # --connect-rate: the matrix connects device a ~110 times in two
        # minutes; the default 60/min per locator is an anti-abuse limit.
        argv = [RVCONTROL, "--db", self.db, "--keys", self.keys, "--dataplane", self.ctl_sock,
                "--connect-rate", "100000", "-v", *self.ctl_flags]
        self.ctl = PROCS.start(argv, os.path.join(RUN, "rvcontrol.out"), self.ctl_log, mode="a")
        end = time.monotonic() + 10
        while time.monotonic() < end:
            if self.ctl.poll() is not None:
                raise RuntimeError("rvcontrol exited %d: %s"
                                   % (self.ctl.returncode, read(self.ctl_log).strip()))
            if "connected to rvdp" in read(self.ctl_log)[since:]:
                return
            time.sleep(0.05)
        raise RuntimeError("rvcontrol did not connect to rvdp within 10 s: %s"
                           % read(self.ctl_log).strip())

    def alive(self):
        """Both daemons still running, or an exception that stops the section."""
        for name, p in (("rvdp", self.rvdp), ("rvcontrol", self.ctl)):
            if p is None or p.poll() is not None:
                raise RuntimeError("%s is not running (exit %s; see %s)" % (
                    name, p.returncode if p else None, self.ctl_log if name == "rvcontrol"
                    else os.path.join(RUN, "rvdp.log")))

    def restart_rvcontrol(self, flags):
        """rvcontrol stopped cleanly and started again with these extra flags
        (kept for later restarts; [] restores the normal ones)."""
        mark = self.log_mark()
        rc = PROCS.stop(self.ctl)
        C.check(rc == 0, "rvcontrol stops cleanly to take %s" % (" ".join(flags) or
                                                                "its normal flags"),
                "exit status %s" % rc)
        self.ctl_flags = list(flags)
        self.start_rvcontrol(since=mark)

    def log_mark(self):
        return len(read(self.ctl_log))

    def log_since(self, mark):
        return read(self.ctl_log)[mark:]

    def stop(self):
        """Both daemons down; rvdp's counters."""
        if self.ctl:
            rc = PROCS.stop(self.ctl)
            C.check(rc == 0, "rvcontrol exits cleanly on SIGTERM", "exit status %s" % rc)
        ctr = {}
        if self.rvdp:
            rc = PROCS.stop(self.rvdp, timeout=10)
            C.check(rc == 0, "rvdp exits cleanly on SIGTERM", "exit status %s" % rc)
            text = read(os.path.join(RUN, "rvdp.out"))
            start = text.rfind('{"counters"')
            if start >= 0:
                try:
                    ctr = json.loads(text[start:])["counters"]
                except ValueError:
                    pass
        return ctr


# --- peers -------------------------------------------------------------------


def peer_argv(rig, dev, nat_args=(), server=S1, extra=()):
    return [RVPEER, "-s", server, "-k", rig.dev[dev], "--json", "-T", *nat_args, *extra]


def declared(cls):
    """--nat/--alloc/--delta/--hops from a classification result."""
    argv = ["--nat", cls["type"]]
    if cls.get("allocation") not in (None, "unknown"):
        argv += ["--alloc", cls["allocation"]]
    if cls.get("delta"):
        argv += ["--delta", str(cls["delta"])]
    if cls.get("hops"):
        argv += ["--hops", str(cls["hops"])]
    return argv


class Listener:
    """`rvpeer listen --echo` in rvl-b1 (or another host)."""

    def __init__(self, rig, tag, nat_args, dev="b", ns="b1", count=1, extra=()):
        self.out = os.path.join(rig.work, "%s.listen.out" % tag)
        self.err = os.path.join(rig.work, "%s.listen.err" % tag)
        argv = peer_argv(rig, dev, nat_args, extra=["listen", "--echo", *extra])
        if count:
            argv += ["--count", str(count)]
        self.p = PROCS.start(argv, self.out, self.err, ns=ns)

    def events(self):
        return json_lines(read(self.out))

    def wait(self, pred, timeout):
        end = time.monotonic() + timeout
        while True:
            evs = self.events()
            if pred(evs):
                return evs
            if time.monotonic() > end or self.p.poll() is not None:
                return None
            time.sleep(0.02)

    def registered(self, timeout=15.0):
        evs = self.wait(lambda e: any(x.get("event") == "registered" for x in e), timeout)
        return next(x for x in evs if x.get("event") == "registered") if evs else None

    def exit(self, timeout):
        """Wait for it to end by itself; else SIGTERM. (status, ended by itself)."""
        try:
            rc = self.p.wait(timeout)
            PROCS.reap(self.p)
            return rc, True
        except subprocess.TimeoutExpired:
            return PROCS.stop(self.p), False

    def text(self):
        return read(self.out) + read(self.err)


def connect(rig, tag, nat_args, locator, message, dev="a", ns="a1", server=S1,
            wall=CONNECT_WALL_S):
    """`rvpeer connect LOCATOR --message M` from rvl-a1: a dict of its result
    (its output also kept in the work directory as TAG.connect.*)."""
    argv = peer_argv(rig, dev, nat_args, server=server,
                     extra=["connect", locator, "--message", message])
    rc, out, err, secs = run(argv, ns=ns, timeout=wall)
    for ext, text in (("out", out), ("err", err)):
        with open(os.path.join(rig.work, "%s.connect.%s" % (tag, ext)), "w") as f:
            f.write(text)
    objs = json_lines(out)
    return {"rc": rc, "out": out, "err": err, "secs": secs, "res": objs[-1] if objs else {},
            "error": next((ln for ln in err.splitlines() if ln.startswith("rvpeer ")), "")}


# --- 1. classification -------------------------------------------------------


def classify_all(rig, modes, measured, times):
    for mode in modes:
        title, opts, alloc, delta = ALLOCS[mode]
        print("   allocation: %s" % title)
        for t in TYPES:
            nat("a", "--preset", t, *([] if t == "none" else opts))
            rc, out, err, secs = run([RVPEER, "-s", S1, "--json", "-T", "classify"], ns="a1",
                                     timeout=60)
            times.append(secs)
            objs = json_lines(out)
            got = objs[-1] if objs else {}
            if got:
                measured[(mode, t)] = got
            m, f = BEHAVIOUR[t]
            want = {"mapping": m, "filtering": f, "type": t}
            if t != "none":  # no NAT: the host's own ports, nothing to allocate
                want.update({"allocation": alloc, "delta": delta})
            wrong = {k: got.get(k) for k in want if got.get(k) != want[k]}
            C.check(rc == 0 and not wrong,
                    "classify %-15s %-6s -> %s %s %s, %s delta %s, bg %s/s, %s hop(s) (%.1f s)"
                    % (t, mode, got.get("type"), got.get("mapping"), got.get("filtering"),
                       got.get("allocation"), got.get("delta"), got.get("background_rate"),
                       got.get("hops"), secs),
                    "exit %s; wrong: %s (wanted %s)\n%s\n      natbox a meanwhile:\n%s"
                    % (rc, wrong, {k: want[k] for k in wrong}, tail(err, 12),
                       tail("\n".join(story("a")), 60)))


# --- 2. the matrix ------------------------------------------------------------


def nat_opts(mode, t):
    return ["--preset", t] + ([] if t == "none" else ALLOCS[mode][1])


def nat_args_for(measured, mode, t):
    """What the peers declare: the classification of this very configuration,
    or (when it failed) the configuration itself."""
    got = measured.get((mode, t))
    if got and got.get("type") in TYPES:
        return declared(got)
    _, _, alloc, delta = ALLOCS[mode]
    return declared({"type": t, "allocation": None if t == "none" else alloc, "delta": delta,
                     "hops": 1})


def cell_text(r):
    if r["outcome"] == "connected":
        return "%s %dms/%dp%s" % (r["strategy"], r["elapsed_ms"],
                                  r["packets"] + (r.get("callee_packets") or 0),
                                  "" if r["strategy"] == r["expected"] else "!")
    if r["outcome"] == "nodirect":
        return "NO-DIRECT"
    return "FAIL"


def print_table(mode, results, types):
    print("\n   %s: caller (site a, rows) -> callee (site b, columns)" % ALLOCS[mode][0])
    w = 20
    print("   %-6s" % "" + "".join("%-*s" % (w, SHORT[t]) for t in types))
    for ta in types:
        row = "".join("%-*s" % (w, cell_text(results[(mode, ta, tb)])
                                 if (mode, ta, tb) in results else "-") for tb in types)
        print("   %-6s%s" % (SHORT[ta], row))


CLASSIFIED_RE = re.compile(r"classify: ([a-z-]+) \([A-Z]+, [A-Z]+\), ([a-z]+) allocation, "
                           r"delta (-?\d+)")
ATTEMPT_RE = re.compile(r"server: attempt ([0-9a-f]{16}), strategy")


def server_outcome(rig, attempt, timeout=2.0):
    """rvcontrol's own line on how an attempt ended, e.g. 'ok in 3 ms'."""
    pat = re.compile(r"attempt %s \(([^)]*)\) ended: (.*)" % attempt)
    end = time.monotonic() + timeout
    while True:
        m = pat.search(read(rig.ctl_log))
        if m or time.monotonic() > end:
            return m.group(2).strip() if m else None
        time.sleep(0.05)


def server_view(rig, locator):
    """The server's record of a registration (rvcontrol lookup)."""
    rc, out, err, _ = run([RVCONTROL, "--db", rig.db, "lookup", locator])
    return (out + err).strip()


def run_cell(rig, mode, ta, tb, args_a, args_b, results, self_classify=False):
    """One ordered pair: callee listens in rvl-b1, caller connects from
    rvl-a1 with a message the callee echoes. self_classify: no --nat, each
    peer measures its NAT; its registration must say what it is."""
    exp = EXPECTED[mode][TYPES.index(ta)][TYPES.index(tb)]
    tag = "%s%s-%s-%s" % ("self-" if self_classify else "", mode, SHORT[ta], SHORT[tb])
    name = "%-6s %-4s -> %-4s%s" % (mode, SHORT[ta], SHORT[tb],
                                    " (both classify)" if self_classify else "")
    rig.alive()
    t0 = time.monotonic()
    mark = rig.log_mark()
    r = {"expected": exp, "outcome": "fail", "strategy": None, "elapsed_ms": 0, "packets": 0}
    results[(mode, ta, tb)] = r
    lst = Listener(rig, tag, args_b)
    reg = lst.registered()
    if not reg:
        rc, _ = lst.exit(0.1)
        C.check(False, "%s: the callee registers" % name,
                "listener exit %s\n%s" % (rc, tail(lst.text(), 15)))
        return
    if self_classify:
        _, _, alloc, delta = ALLOCS[mode]
        want = {"nat": tb, "alloc": alloc, "delta": delta, "nat_source": "classified"}
        wrong = {k: reg.get(k) for k in want if reg.get(k) != want[k]}
        C.check(not wrong, "%s: the callee classified itself: %s %s delta %s"
                % (name, reg.get("nat"), reg.get("alloc"), reg.get("delta")),
                "wrong: %s, wanted %s\n%s" % (wrong, want, tail(read(lst.err), 15)))
    msg = "matrix %s %s" % (tag, os.urandom(4).hex())
    res = connect(rig, tag, args_a, rig.loc["b"], msg)
    j = res["res"]
    if self_classify:
        m = CLASSIFIED_RE.search(res["err"])
        got = (m.group(1), m.group(2), int(m.group(3))) if m else None
        C.check(got == (ta, alloc, delta), "%s: the caller classified itself: %s"
                % (name, m.group(0) if m else None),
                "wanted %s %s delta %s\n%s" % (ta, alloc, delta, tail(res["err"], 15)))
    echoed = res["rc"] == 0 and j.get("echo") == msg
    view = "" if echoed or (exp == "NO" and res["rc"] == 1) else server_view(rig, rig.loc["b"])
    # The callee got the message (a -> b), the caller its echo (b -> a).
    evs = lst.wait(lambda e: any(x.get("event") == "closed" for x in e),
                   3.0 if res["rc"] == 0 else 0.2) or lst.events()
    got_msg = any(x.get("event") == "message" and x.get("text") == msg for x in evs)
    callee = next((x for x in evs if x.get("event") == "connected"), {})
    lrc, by_itself = lst.exit(2.0 if res["rc"] == 0 else 0.1)
    m = ATTEMPT_RE.search(res["err"])
    outcome = server_outcome(rig, m.group(1), 2.0 if res["rc"] == 0 else 0.2) if m else None
    secs = time.monotonic() - t0
    r.update({"rc": res["rc"], "secs": round(res["secs"], 2), "error": res["error"],
              "strategy": j.get("strategy"), "elapsed_ms": j.get("elapsed_ms") or 0,
              "packets": j.get("packets") or 0, "callee_packets": callee.get("packets"),
              "callee_strategy": callee.get("strategy"), "rtt_ms": j.get("rtt_ms"),
              "server": outcome, "message_at_callee": got_msg})
    ev = evidence(rig, mark, res, lst, view)
    if exp == "NO":
        bound = NO_DIRECT_WALL_S + (3.0 if self_classify else 0.0)  # + classifying
        ok = res["rc"] == 1 and "No Direct Path" in res["err"] and res["secs"] < bound
        if ok:
            r["outcome"] = "nodirect"
        elif echoed and got_msg:
            r["outcome"] = "connected"  # a path the design says cannot exist: look at it
        C.check(ok, "%s: refused at once (%.2f s): %s" % (name, res["secs"], res["error"]),
                "expected exit 1 with 'No Direct Path' within %.0f s; got exit %s in %.2f s, "
                "%s\n%s" % (bound, res["rc"], res["secs"],
                            res["error"] or "strategy %s" % j.get("strategy"), ev))
        return
    direct = echoed and got_msg
    if direct:
        r["outcome"] = "connected"
    elif res["rc"] == 1 and "No Direct Path" in res["err"]:
        r["outcome"] = "nodirect"
    problems = []
    if not direct:
        problems.append("no working path: connect exit %s in %.1f s: %s; echo %s; message at "
                        "the callee: %s" % (res["rc"], res["secs"], res["error"] or "-",
                                            "ok" if echoed else repr(j.get("echo")), got_msg))
    else:
        if j.get("strategy") != exp:
            problems.append("strategy %s, expected %s" % (j.get("strategy"), exp))
        if callee.get("strategy") != j.get("strategy") or callee.get("caller") is not False:
            problems.append("the callee reports %s" % callee)
        if not (outcome or "").startswith("relayed" if exp == "relay" else "ok"):
            problems.append("rvcontrol's account of the attempt: %s" % outcome)
    notes = "" if by_itself or not direct else "; the callee did not see the close"
    if problems:
        C.check(False, "%s: expected %s" % (name, exp), "; ".join(problems) + "\n" + ev)
    else:
        C.check(True, "%s: %s in %s ms, %s+%s packets, echo %s ms, message at the callee, "
                "server: %s (%.1f s)%s" % (name, j["strategy"], j.get("elapsed_ms"),
                                          j.get("packets"), callee.get("packets"),
                                          j.get("rtt_ms"), outcome, secs, notes))


def evidence(rig, mark, res, lst=None, view=""):
    parts = ["      caller (rvl-a1) stderr:", tail(res["err"], 40)]
    if lst:
        parts += ["      callee (rvl-b1) stderr:", tail(read(lst.err), 30)]
    parts += ["      rvcontrol log during the cell:", tail(rig.log_since(mark), 25)]
    if view:
        parts += ["      rvcontrol lookup of the callee meanwhile:", tail(view, 10)]
    return "\n".join(parts)


def matrix(rig, modes, types, measured, results, times):
    for mode in modes:
        print("   allocation: %s" % ALLOCS[mode][0])
        t0 = time.monotonic()
        for tb in types:
            nat("b", *nat_opts(mode, tb))
            args_b = nat_args_for(measured, mode, tb)
            for ta in types:
                nat("a", *nat_opts(mode, ta))
                args_a = nat_args_for(measured, mode, ta)
                run_cell(rig, mode, ta, tb, args_a, args_b, results)
        times[mode] = time.monotonic() - t0
        print_table(mode, results, types)
        print(LEGEND)


# Cells run again with peers that classify themselves (no --nat): the
# whole path classify -> register -> connect, where the NAT is hardest to
# measure (background allocations) or the strategy depends on it most.
SELF_CELLS = [("seq2", "port-symmetric", "port-symmetric"),
              ("random", "port-restricted", "port-symmetric"),
              ("random", "port-symmetric", "addr-symmetric")]


def self_classified(rig, modes, types, results):
    for mode, ta, tb in SELF_CELLS:
        if mode not in modes or ta not in types or tb not in types:
            continue
        nat("b", *nat_opts(mode, tb))
        nat("a", *nat_opts(mode, ta))
        run_cell(rig, mode, ta, tb, [], [], results, self_classify=True)


# --- 3. hostile cases ----------------------------------------------------------

HOSTILE_NAT = "port-restricted"  # both sites, sequential Δ=1, for every case


def hostile_args(measured):
    return nat_args_for(measured, "seq1", HOSTILE_NAT)


def bounded(name, res, want_rc, want_text, bound, extra_ok=True, detail=""):
    C.check(res["rc"] == want_rc and want_text in res["err"] and res["secs"] < bound and extra_ok,
            "%s: exit %s in %.1f s: %s" % (name, res["rc"], res["secs"], res["error"] or "?"),
            "wanted exit %s with '%s' within %.0f s%s\n      caller stderr:\n%s"
            % (want_rc, want_text, bound, detail, tail(res["err"], 30)))


def hostile_offline(rig, args):
    """Registered, said bye, gone: the server answers Offline at once."""
    lst = Listener(rig, "h-offline", args, count=0)
    reg = lst.registered()
    rc = PROCS.stop(lst.p)
    C.check(reg is not None and rc == 0, "partner offline: the callee registered and left "
            "with a bye (exit %s)" % rc, tail(lst.text(), 15))
    res = connect(rig, "h-offline", args, rig.loc["b"], "anyone there?")
    bounded("partner offline (registered, then bye)", res, 1, "Offline", 3.0)


def hostile_gone(rig, args, how):
    """The callee registered, then froze (SIGSTOP) or died without a bye
    (SIGKILL): the server still lists it; the attempt must end in bounded
    time with an error."""
    mark = rig.log_mark()
    lst = Listener(rig, "h-" + how, args, count=0)
    reg = lst.registered()
    lst.p.send_signal(signal.SIGSTOP if how == "stopped" else signal.SIGKILL)
    time.sleep(0.2)
    res = connect(rig, "h-" + how, args, rig.loc["b"], "are you there?")
    what = ("partner never answers (callee SIGSTOPped after registering)" if how == "stopped"
            else "partner gone without a bye (callee SIGKILLed after registering)")
    bounded(what, res, 1, GONE_TEXT, GONE_BOUND_S, reg is not None,
            "\n      rvcontrol log:\n%s" % tail(rig.log_since(mark), 15))
    rc = PROCS.stop(lst.p)  # SIGCONT + SIGTERM
    if how == "stopped":
        C.check(rc == 0, "the continued callee still stops cleanly on SIGTERM (exit %s)" % rc,
                tail(read(lst.err), 15))


def hostile_unreachable(rig, args):
    res = connect(rig, "h-unreachable", args, rig.loc["b"], "hello?", server="192.0.2.9")
    bounded("server unreachable (-s 192.0.2.9, default timeouts)", res, 1, "no answer in time",
            15.0)


def hostile_mapping(rig, args, how):
    """The callee's mapping with the server is lost after it registered:
    its natbox restarted (every mapping dropped), or idle past a 2 s
    lifetime. The server's INSTRUCT goes to a dead mapping; connect must end
    in bounded time: an error, or a path if the product recovers."""
    lifetime = ["--lifetime", "2"] if how == "expired" else []
    nat("b", *nat_opts("seq1", HOSTILE_NAT), *lifetime)
    mark = rig.log_mark()
    lst = Listener(rig, "h-map-" + how, args, count=1)
    reg = lst.registered()
    if how == "restart":
        nat("b", *nat_opts("seq1", HOSTILE_NAT))
        gone = True
    else:
        mapped = reg.get("mapped") if reg else None
        gone = bool(mapped) and any(
            e.get("ext") == mapped for e in _wait_expire("b", mapped, 6.0))
    res = connect(rig, "h-map-" + how, args, rig.loc["b"], "still there?")
    j = res["res"]
    recovered = res["rc"] == 0 and j.get("echo") == "still there?"
    filtered = [e for e in events("b", "filtered") if e.get("rule") == "no_mapping"]
    what = ("callee's NAT restarted after it registered" if how == "restart"
            else "callee's mapping expired (natbox --lifetime 2) after it registered")
    C.check(reg is not None and gone and res["secs"] < HOSTILE_BOUND_S and
            (recovered or (res["rc"] == 1 and res["error"])),
            "mapping lost mid-way, %s: %s in %.1f s: %s (natbox b dropped %d packets for "
            "no mapping)" % (what, "recovered, echo ok" if recovered else "exit %s" % res["rc"],
                             res["secs"], res["error"] or "-", len(filtered)),
            "registered %s, mapping gone %s; wanted an error or a path within %.0f s\n"
            "      caller stderr:\n%s\n      callee stderr:\n%s\n      rvcontrol log:\n%s"
            % (reg is not None, gone, HOSTILE_BOUND_S, tail(res["err"], 30),
               tail(read(lst.err), 15), tail(rig.log_since(mark), 15)))
    rc, _ = lst.exit(0.1 if not recovered else 2.0)
    C.check(rc == 0, "the callee stops cleanly afterwards (exit %s)" % rc, tail(read(lst.err), 15))
    nat("b", *nat_opts("seq1", HOSTILE_NAT))


def _wait_expire(site, ext, timeout):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        got = [e for e in events(site, "map_expire") if e.get("ext") == ext]
        if got:
            return got
        time.sleep(0.1)
    return []


# Server restarts mid-connect: rvcontrol or rvdp killed with SIGKILL and
# started again while a connect is in progress. Attempts live in rvcontrol's
# memory (registrations are durable: SQLite); a restarted rvdp is refilled
# by rvcontrol. Whatever happens must end in bounded time: the connect
# completes (the peers recover) or fails with a clear error; afterwards a
# fresh connect between the same two peers works (nothing stale left).
RESTART_BOUND_S = 25.0
# How a connect that did not complete may end: each names what happened.
LOST_TEXT = "the server dropped the attempt"
RESTART_ERRORS = ("no answer in time", "no direct path was found in time",
                  "the partner did not answer the server", LOST_TEXT)


def connect_bg(rig, tag, nat_args, locator, message, dev="a", ns="a1"):
    """`rvpeer connect` in the background: (process, start time)."""
    argv = peer_argv(rig, dev, nat_args, extra=["connect", locator, "--message", message])
    out = os.path.join(rig.work, "%s.connect.out" % tag)
    err = os.path.join(rig.work, "%s.connect.err" % tag)
    return PROCS.start(argv, out, err, ns=ns), time.monotonic()


def connect_wait(rig, tag, p, t0, wall=CONNECT_WALL_S):
    """The result of connect_bg, in connect()'s form (killed after wall s)."""
    try:
        rc = p.wait(max(0.1, wall - (time.monotonic() - t0)))
        PROCS.reap(p)
    except subprocess.TimeoutExpired:
        PROCS.stop(p, signal.SIGKILL)
        rc = None
    secs = time.monotonic() - t0
    out = read(os.path.join(rig.work, "%s.connect.out" % tag))
    err = read(os.path.join(rig.work, "%s.connect.err" % tag))
    objs = json_lines(out)
    return {"rc": rc, "out": out, "err": err, "secs": secs, "res": objs[-1] if objs else {},
            "error": next((ln for ln in err.splitlines() if ln.startswith("rvpeer ")), "")}


def wait_text(path, text, timeout, since=0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if text in read(path)[since:]:
            return True
        time.sleep(0.01)
    return False


def restart_daemon(rig, daemon):
    """SIGKILL rvcontrol or rvdp (continued first: it may be frozen) and
    start it again: seconds from the kill until it serves again (rvcontrol
    connected to rvdp; rvdp answering and refilled by rvcontrol)."""
    mark = rig.log_mark()
    t0 = time.monotonic()
    # SIGKILL before anything else: a frozen daemon continued first could
    # still handle what waits in its sockets.
    (rig.ctl if daemon == "rvcontrol" else rig.rvdp).send_signal(signal.SIGKILL)
    if daemon == "rvcontrol":
        PROCS.stop(rig.ctl, signal.SIGKILL)
        rig.start_rvcontrol(since=mark)
    else:
        PROCS.stop(rig.rvdp, signal.SIGKILL)
        rig.start_rvdp()
        up = time.monotonic() - t0
        if not wait_text(rig.ctl_log, "rvdp repopulated", 10.0, mark):
            raise RuntimeError("rvcontrol did not refill the restarted rvdp within 10 s")
        return time.monotonic() - t0, " (answering after %.2f s)" % up
    return time.monotonic() - t0, ""


def hostile_restart(rig, measured, daemon, when, times):
    """daemon (rvcontrol or rvdp) killed and restarted mid-connect.
    before: the daemon is frozen (SIGSTOP) when the caller sends CONNECT, so
            no INSTRUCT can go out; killed 0.5 s later, restarted; the
            caller's retransmitted CONNECT meets the new daemon.
    after:  the callee sits behind an address-symmetric NAT, so it is E1's
            sender (the caller, port-restricted, cannot be: its filter drops
            the callee's replies from a new port). The callee is frozen and
            the caller connects; once the caller has its INSTRUCT #1 (and
            waits for #2, which needs the callee's REPORT, while the callee's
            #1 waits unread in its socket) the daemon is killed, restarted,
            and the callee continued: its REPORT meets the new daemon."""
    tag = "h-restart-%s-%s" % (daemon, when)
    args = hostile_args(measured)
    args_b = args
    if when == "after":
        nat("b", *nat_opts("seq1", "addr-symmetric"))
        args_b = nat_args_for(measured, "seq1", "addr-symmetric")
    try:
        _restart_case(rig, args, args_b, daemon, when, tag, times)
    finally:
        if when == "after":
            nat("b", *nat_opts("seq1", HOSTILE_NAT))


def _restart_case(rig, args, args_b, daemon, when, tag, times):
    mark = rig.log_mark()
    lst = Listener(rig, tag, args_b, count=1)
    reg = lst.registered()
    if not reg:
        C.check(False, "%s: the callee registers" % tag, tail(lst.text(), 15))
        PROCS.stop(lst.p)
        return
    msg = "%s %s" % (tag, os.urandom(4).hex())
    instructed = None
    if when == "before":
        (rig.ctl if daemon == "rvcontrol" else rig.rvdp).send_signal(signal.SIGSTOP)
        p, t0 = connect_bg(rig, tag, args, rig.loc["b"], msg)
        time.sleep(0.5)
    else:
        lst.p.send_signal(signal.SIGSTOP)
        p, t0 = connect_bg(rig, tag, args, rig.loc["b"], msg)
        err = os.path.join(rig.work, "%s.connect.err" % tag)
        instructed = wait_text(err, "we spray the replies", 5.0)
    restart_s, restart_how = restart_daemon(rig, daemon)
    if when == "after":
        lst.p.send_signal(signal.SIGCONT)
    res = connect_wait(rig, tag, p, t0)
    j = res["res"]
    recovered = res["rc"] == 0 and j.get("echo") == msg
    clear = res["rc"] == 1 and any(e in res["error"] for e in RESTART_ERRORS)
    if daemon == "rvcontrol" and when == "after":
        # The new rvcontrol knows nothing of the attempt: the callee's REPORT
        # is answered 472, so the callee ends it at once, and the caller,
        # still waiting for its next INSTRUCT at the deadline, says what
        # happened rather than "no direct path".
        clear = (clear and LOST_TEXT in res["error"]
                 and "unknown to the server" in read(lst.err))
    times["%s-%s restart" % (daemon, when)] = restart_s
    what = "%s SIGKILLed and restarted %s" % (
        daemon, "before the INSTRUCTs went out (it was frozen when CONNECT came)"
        if when == "before" else "after the INSTRUCTs reached both peers (callee frozen)")
    C.check((when == "before" or instructed) and res["secs"] < RESTART_BOUND_S and
            (recovered or clear),
            "server restarts mid-connect, %s: restart %.2f s%s; connect %s in %.1f s%s" % (
                what, restart_s, restart_how, "completed, echo ok" if recovered else "exit %s" % res["rc"],
                res["secs"], "" if recovered else ": " + (res["error"] or "-")),
            "INSTRUCT #1 reached the caller (the replier): %s; wanted a path or one of %s within %.0f s\n"
            "%s" % (instructed, RESTART_ERRORS, RESTART_BOUND_S,
                    evidence(rig, mark, res, lst)))
    rc, _ = lst.exit(2.0 if recovered else 0.1)
    C.check(rc == 0 or not recovered, "the callee stops cleanly afterwards (exit %s)" % rc,
            tail(read(lst.err), 15))
    if not recovered:
        PROCS.stop(lst.p)
    # Nothing stale: the same two peers connect at once afterwards.
    lst = Listener(rig, tag + "-next", args_b, count=1)
    reg = lst.registered()
    res = connect(rig, tag + "-next", args, rig.loc["b"], msg + " again")
    C.check(reg is not None and res["rc"] == 0 and res["res"].get("echo") == msg + " again",
            "then a fresh connect between the same peers works (%.1f s)" % res["secs"],
            evidence(rig, mark, res, lst))
    lst.exit(2.0)


def hostile(rig, measured, times):
    args = hostile_args(measured)
    nat("a", *nat_opts("seq1", HOSTILE_NAT))
    nat("b", *nat_opts("seq1", HOSTILE_NAT))
    for title, fn in (("offline", lambda: hostile_offline(rig, args)),
                      ("stopped", lambda: hostile_gone(rig, args, "stopped")),
                      ("killed", lambda: hostile_gone(rig, args, "killed")),
                      ("unreachable", lambda: hostile_unreachable(rig, args)),
                      ("nat-restart", lambda: hostile_mapping(rig, args, "restart")),
                      ("expired", lambda: hostile_mapping(rig, args, "expired")),
                      ("ctl-before", lambda: hostile_restart(rig, measured, "rvcontrol", "before",
                                                             times)),
                      ("ctl-after", lambda: hostile_restart(rig, measured, "rvcontrol", "after",
                                                            times)),
                      ("dp-before", lambda: hostile_restart(rig, measured, "rvdp", "before", times)),
                      ("dp-after", lambda: hostile_restart(rig, measured, "rvdp", "after", times))):
        t0 = time.monotonic()
        try:
            rig.alive()
            fn()
        except Exception as e:  # noqa: BLE001 - one case failing stops only itself
            C.check(False, "hostile %s: stopped by %s: %s" % (title, type(e).__name__, e))
        times[title] = time.monotonic() - t0


# --- 4. relay first, then a direct path ------------------------------------------


def upgrade(rig, measured, times):
    """`connect --relay-first --upgrade-every 1 --chat` between two port-
    restricted NATs: the first line crosses the relay, the connection then
    finds a direct path and moves onto it, the relay is released, and the
    second line crosses the direct path — both echoed."""
    t0 = time.monotonic()
    args = hostile_args(measured)
    nat("a", *nat_opts("seq1", HOSTILE_NAT))
    nat("b", *nat_opts("seq1", HOSTILE_NAT))
    mark = rig.log_mark()
    lst = Listener(rig, "upgrade", args)
    reg = lst.registered()
    C.check(reg is not None, "the callee registered", tail(lst.text(), 15))
    argv = ["ip", "netns", "exec", "rvl-a1"] + peer_argv(
        rig, "a", args, extra=["connect", rig.loc["b"], "--relay-first", "--upgrade-every", "1",
                               "--chat"])
    p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    try:
        p.stdin.write("first, through the relay\n")
        p.stdin.flush()
        time.sleep(4.0)
        p.stdin.write("second, after the upgrade\n")
        p.stdin.flush()
        time.sleep(1.0)
        out, err = p.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
    echoed = [o.get("text") for o in json_lines(out) if o.get("event") == "message"]
    steps = ("relayed path through", "upgraded: a direct path", "relay released")
    where = [err.find(s) for s in steps]
    C.check(p.returncode == 0 and all(w >= 0 for w in where) and where == sorted(where),
            "relay first, then upgraded to a direct path and the relay released, in order",
            "exit %s\n%s" % (p.returncode, tail(err, 30)))
    C.check(echoed == ["first, through the relay", "second, after the upgrade"],
            "a line before and a line after the move both came back",
            "echoed %s\n%s" % (echoed, tail(out, 20)))
    log = rig.log_since(mark)
    C.check("ended (closed)" in log and "relayed in" in log,
            "rvcontrol saw the relayed attempt and then the relay closed by its peer",
            tail(log, 15))
    lst.exit(2.0)
    times["upgrade"] = time.monotonic() - t0


# --- 5. relay quotas -------------------------------------------------------------

# Both sides port-symmetric with random allocation: no direct path can exist,
# so the connection is relayed at once and stays relayed (nothing to upgrade
# to); the quotas are made small by restarting rvcontrol with these flags.
QUOTA_NAT = "port-symmetric"
QUOTA_SECONDS = 10  # rvcontrol's shortest --relay-seconds
QUOTA_MB = 1
QUOTA_FILE = 3 << 19  # 1.5 MiB: half as much again as the byte quota
# From the quota running out to both peers knowing: rvcontrol checks a
# relay's time at every tick and reads rvdp's byte counters every 2 s
# (CTL_RELAY_POLL_MS), then INSTRUCTs both peers.
QUOTA_SLACK_S = 3.5
# What libpeer says (its timeline, rvpeer -T) when the server ends a relay
# (peer_on_instruct; the code's name is rv_result_str's).
RELAY_ENDED = "server: the relay ended: %s"
RELAY_ENDED_RE = re.compile(r"relay ([0-9a-f]{16}) ended \(([a-z-]+)\) after (\d+) s: "
                            r"(\d+) bytes in (\d+) packets")


def relay_stats(rig):
    """rvcontrol stats --json: relayed bytes of the QUOTA_NAT pair."""
    rc, out, err, _ = run([RVCONTROL, "--db", rig.db, "--json", "stats"])
    return sum(o.get("relay_bytes", 0) for o in json_lines(out)
               if o.get("caller") == QUOTA_NAT and o.get("callee") == QUOTA_NAT)


def relay_end_line(rig, mark, timeout=2.0):
    """rvcontrol's 'relay X ended (why) after S s: B bytes in P packets'."""
    end = time.monotonic() + timeout
    while True:
        m = RELAY_ENDED_RE.search(rig.log_since(mark))
        if m or time.monotonic() > end:
            return m
        time.sleep(0.05)


def quota_listener(rig, tag, args, extra=()):
    lst = Listener(rig, tag, args, extra=extra)
    reg = lst.registered()
    C.check(reg is not None, "%s: the callee registered" % tag, tail(lst.text(), 15))
    return lst if reg else None


def quota_listener_end(lst, why, tag):
    """The callee is told too: the timeline line, its connection closed with
    the reason, and (--count 1) it ends by itself."""
    rc, by_itself = lst.exit(QUOTA_SLACK_S)
    closed = [e for e in lst.events() if e.get("event") == "closed"]
    C.check(by_itself and RELAY_ENDED % why in read(lst.err) and closed and
            closed[-1].get("reason") == why,
            "%s: the callee heard '%s' too, closed the connection (reason %s) and ended "
            "(exit %s)" % (tag, why, closed[-1].get("reason") if closed else None, rc),
            "ended by itself: %s; closed events %s\n%s" % (by_itself, closed,
                                                          tail(lst.text(), 20)))


def quota_time(rig, args, times):
    """--relay-seconds 10: a chat through the relay, a line every 0.3 s; the
    relay is cut at 10 s and both peers hear 'relay-time'."""
    tag = "quota-time"
    mark = rig.log_mark()
    lst = quota_listener(rig, tag, args)
    if not lst:
        return
    out = os.path.join(rig.work, "%s.connect.out" % tag)
    err = os.path.join(rig.work, "%s.connect.err" % tag)
    p = PROCS.start(peer_argv(rig, "a", args, extra=["connect", rig.loc["b"], "--chat"]),
                    out, err, ns="a1", stdin=subprocess.PIPE)
    t0 = time.monotonic()
    t_conn, sent, wall = None, 0, CONNECT_WALL_S + QUOTA_SECONDS + QUOTA_SLACK_S
    while p.poll() is None and time.monotonic() - t0 < wall:
        if t_conn is None and any(e.get("event") == "connected" for e in json_lines(read(out))):
            t_conn = time.monotonic()
        if t_conn is not None:
            try:
                sent += 1
                p.stdin.write("line %d through the relay\n" % sent)
                p.stdin.flush()
            except (BrokenPipeError, OSError):
                break
        time.sleep(0.3)
    try:
        rc = p.wait(max(0.1, wall - (time.monotonic() - t0)))
    except subprocess.TimeoutExpired:
        rc = None
    t_end = time.monotonic()
    PROCS.stop(p)
    evs = json_lines(read(out))
    conn = next((e for e in evs if e.get("event") == "connected"), {})
    echoed = [e.get("text") for e in evs if e.get("event") == "message"]
    life = t_end - t_conn if t_conn else None
    cerr = read(err)
    C.check(conn.get("strategy") == "relay" and echoed[:1] == ["line 1 through the relay"],
            "%s: the chat is relayed (%s) and its lines come back (%d of %d echoed)"
            % (tag, conn.get("strategy"), len(echoed), sent),
            "connected: %s\n%s" % (conn, tail(cerr, 20)))
    C.check(rc == 1 and RELAY_ENDED % "relay-time" in cerr and life is not None and
            QUOTA_SECONDS - 0.5 < life < QUOTA_SECONDS + QUOTA_SLACK_S,
            "%s: the caller is cut off %.1f s after connecting (quota %d s): '%s', exit %s"
            % (tag, life or -1, QUOTA_SECONDS, RELAY_ENDED % "relay-time", rc),
            "wanted exit 1 within %.1f s of connecting\n%s"
            % (QUOTA_SECONDS + QUOTA_SLACK_S, tail(cerr, 25)))
    err_line = next((ln for ln in cerr.splitlines() if ln.startswith("rvpeer ")), "")
    C.check("relay-time" in err_line, "%s: the caller's error says why: %s" % (tag, err_line),
            tail(cerr, 15))
    quota_listener_end(lst, "relay-time", tag)
    m = relay_end_line(rig, mark)
    C.check(m is not None and m.group(2) == "relay-time",
            "%s: rvcontrol logs the end: %s" % (tag, m.group(0) if m else None),
            tail(rig.log_since(mark), 20))
    times["quota-time"] = time.monotonic() - t0


def quota_bytes(rig, args, times):
    """--relay-mb 1: a 1.5 MiB file through the relay; the relay carries
    1 MiB at most, then both peers hear 'relay-bytes' and the partial file
    is discarded; rvcontrol's log and stats account exactly what crossed."""
    tag = "quota-bytes"
    t0 = time.monotonic()
    mark = rig.log_mark()
    quota = QUOTA_MB << 20
    path = os.path.join(rig.work, "quota.bin")
    with open(path, "wb") as f:
        f.write(os.urandom(QUOTA_FILE))
    inbox = os.path.join(rig.work, "inbox")
    os.makedirs(inbox, exist_ok=True)
    before = relay_stats(rig)
    lst = quota_listener(rig, tag, args, extra=["--save", inbox])
    if not lst:
        return
    argv = peer_argv(rig, "a", args, extra=["connect", rig.loc["b"], "--send", path])
    rc, out, err, secs = run(argv, ns="a1", timeout=CONNECT_WALL_S + 30)
    for ext, text in (("out", out), ("err", err)):
        with open(os.path.join(rig.work, "%s.connect.%s" % (tag, ext)), "w") as f:
            f.write(text)
    err_line = next((ln for ln in err.splitlines() if ln.startswith("rvpeer ")), "")
    C.check(rc == 1 and RELAY_ENDED % "relay-bytes" in err and "relay-bytes" in err_line,
            "%s: the sender is cut off after %.1f s: '%s', exit %s: %s"
            % (tag, secs, RELAY_ENDED % "relay-bytes", rc, err_line), tail(err, 25))
    quota_listener_end(lst, "relay-bytes", tag)
    C.check(not os.listdir(inbox), "%s: the cut-off file is discarded at the callee (%s)"
            % (tag, os.listdir(inbox) or "inbox empty"), tail(lst.text(), 10))
    m = relay_end_line(rig, mark)
    got = int(m.group(4)) if m else -1
    # Nothing beyond the quota: rvdp refuses a datagram that does not fit
    # (proto/relay.c), so the relay stops within one datagram of it.
    C.check(m is not None and m.group(2) == "relay-bytes" and quota - 1500 <= got <= quota,
            "%s: rvcontrol logs the end with rvdp's count: %s (quota %d bytes)"
            % (tag, m.group(0) if m else None, quota), tail(rig.log_since(mark), 20))
    after = relay_stats(rig)
    C.check(after - before == got,
            "%s: rvcontrol stats: %s <-> %s relayed %d bytes more (the log's %d)"
            % (tag, QUOTA_NAT, QUOTA_NAT, after - before, got),
            "before %d, after %d" % (before, after))
    times["quota-bytes"] = time.monotonic() - t0


def quotas(rig, measured, times):
    """rvcontrol restarted with small quotas, a relayed connection run past
    each; afterwards its normal flags again."""
    args = nat_args_for(measured, "random", QUOTA_NAT)
    nat("a", *nat_opts("random", QUOTA_NAT))
    nat("b", *nat_opts("random", QUOTA_NAT))
    try:
        for flags, fn in ((["--relay-seconds", str(QUOTA_SECONDS)], quota_time),
                          (["--relay-mb", str(QUOTA_MB)], quota_bytes)):
            try:
                rig.restart_rvcontrol(flags)
                rig.alive()
                fn(rig, args, times)
            except Exception as e:  # noqa: BLE001 - one case failing stops only itself
                C.check(False, "quota %s: stopped by %s: %s" % (fn.__name__, type(e).__name__, e))
    finally:
        rig.restart_rvcontrol([])


# --- main ------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", default="classify,matrix,self,hostile,upgrade,quota")
    ap.add_argument("--alloc", default=",".join(ALLOCS))
    ap.add_argument("--types", default=",".join(SHORT[t] for t in TYPES))
    o = ap.parse_args()
    only = o.only.split(",")
    modes = o.alloc.split(",")
    types = [LONG[t] for t in o.types.split(",")]
    for b in (RVDP, RVCONTROL, RVPEER):
        if not os.access(b, os.X_OK):
            print("peer-matrix: %s is not built" % b)
            return 1

    # run-matrix.sh makes the work directory (and removes it whatever happens).
    work = os.environ.get("MATRIX_WORK") or tempfile.mkdtemp(prefix="rvmatrix.")
    rig = Rig(work)
    measured, results, sect, ctimes, mtimes, htimes, qtimes = {}, {}, {}, [], {}, {}, {}
    ctr = {}

    def timed(name, title, fn, *a):
        t0 = time.monotonic()
        C.section(title, fn, *a)
        sect[name] = time.monotonic() - t0

    try:
        timed("setup", "setup: keys, rvdp on net_af_packet, rvcontrol behind it, locators",
              setup, rig)
        if "classify" in only:
            timed("classify", "1. classification: rvpeer classify from rvl-a1, every preset x "
                  "allocation", classify_all, rig, modes, measured, ctimes)
            if ctimes:
                print("   classify took %.1f-%.1f s (mean %.2f s): classifying both peers in "
                      "every cell would add ~%.0f s to the matrix, so its peers declare what "
                      "was measured here" % (min(ctimes), max(ctimes), sum(ctimes) / len(ctimes),
                                             2 * 108 * sum(ctimes) / len(ctimes)))
        if "matrix" in only and rig.loc:
            timed("matrix", "2. the connectivity matrix: every ordered pair x allocation mode",
                  matrix, rig, modes, types, measured, results, mtimes)
        if "self" in only and rig.loc:
            timed("self", "2b. spot checks: matrix cells with peers that classify themselves",
                  self_classified, rig, modes, types, {})
        if "hostile" in only and rig.loc:
            timed("hostile", "3. hostile cases: each ends in bounded time with a clear error",
                  hostile, rig, measured, htimes)
        if "upgrade" in only and rig.loc:
            timed("upgrade", "4. relay first, then a direct path: the connection moves over",
                  upgrade, rig, measured, htimes)
        if "quota" in only and rig.loc:
            timed("quota", "5. relay quotas: a relay past its time or byte quota is cut off "
                  "and both peers are told why", quotas, rig, measured, qtimes)
    finally:
        t0 = time.monotonic()
        print("\n-- teardown")
        ctr = rig.stop()
        PROCS.stop_all()
        sect["teardown"] = time.monotonic() - t0

    if results:
        print("\n== the matrices")
        for mode in modes:
            print_table(mode, results, types)
        print(LEGEND)
        with open(os.path.join(BUILD, "peer-matrix.json"), "w") as f:
            json.dump([{"alloc": k[0], "caller": k[1], "callee": k[2], **v}
                       for k, v in results.items()], f, indent=1)
    rc_stats = run([RVCONTROL, "--db", rig.db, "stats"])
    if rc_stats[0] == 0:
        print("\n== rvcontrol stats (the server's own account of every attempt)")
        print(tail(rc_stats[1], 60, "   "))
    print("\n== rvdp counters: %s" % ", ".join(
        "%s %d" % (k, v) for k, v in sorted(ctr.items()) if v and not k.startswith("rx_bytes")))
    print("\n== times")
    for k, v in sect.items():
        print("   %-10s %6.1f s" % (k, v))
    for k, v in mtimes.items():
        print("     matrix %-8s %6.1f s" % (k, v))
    for k, v in htimes.items():
        print("     hostile %-12s %5.1f s" % (k, v))
    for k, v in qtimes.items():
        print("     %-20s %5.1f s" % (k, v))
    if C.failures:  # every cell's peer output, for the owner
        keep = os.path.join(BUILD, "peer-matrix-logs", "peers")
        shutil.rmtree(keep, ignore_errors=True)
        shutil.copytree(work, keep, ignore=shutil.ignore_patterns("*.key", "keys", "rv.db*"))
        print("\npeer-matrix: every peer's output kept in %s" % keep)
    shutil.rmtree(work, ignore_errors=True)
    return C.finish()


def setup(rig):
    rig.setup()
    C.check(True, "rvdp answers on %s/%s, rvcontrol is connected to it" % (S1, S2))
    for d, ns in (("a", "a1"), ("b", "b1")):
        rc, out, err, _ = run(peer_argv(rig, d, extra=["auth"]), ns=ns, timeout=30)
        objs = json_lines(out)
        loc = objs[-1].get("locator") if objs else None
        C.check(rc == 0 and bool(loc and re.fullmatch(r"[0-9a-f]{32}", loc)),
                "device %s authenticates from rvl-%s: locator %s" % (d, ns, loc),
                "exit %s: %s" % (rc, err.strip()))
        if loc:
            rig.loc[d] = loc


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        PROCS.stop_all()
        sys.exit(130)
