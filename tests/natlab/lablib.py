"""lablib — plain-socket helpers for the NAT lab's checks and demo.

One root Python process opens UDP sockets inside the lab's namespaces
(setns(2) around socket creation: a socket stays in the namespace it was
created in), so the "echo host" in rvl-srv and the clients in the site
hosts are all ordinary sockets of one program. No project code is used
besides natbox itself, driven through scripts/natlab.sh.
"""

import ctypes
import json
import os
import select
import socket
import struct
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NATLAB = os.path.join(ROOT, "scripts", "natlab.sh")
RUN = os.environ.get("RVLAB_RUN", "/run/rvlab")

S1, S2 = "192.0.2.1", "192.0.2.2"  # the server's two public addresses
P1, P2 = 3478, 3479  # its two ports
ROUTER = {"a": "198.51.100.1", "b": "203.0.113.1"}
WAN = {"a": "198.51.100.2", "b": "203.0.113.2"}
GATEWAY = {"a": "10.0.1.1", "b": "10.0.2.1"}
HOST = {"a1": "10.0.1.2", "a2": "10.0.1.3", "b1": "10.0.2.2", "b2": "10.0.2.3"}

_libc = ctypes.CDLL(None, use_errno=True)
_CLONE_NEWNET = 0x40000000
_home = os.open("/proc/self/ns/net", os.O_RDONLY)

# IP_RECVERR delivers ICMP errors to the socket's error queue (ip(7)).
IP_RECVERR = 11
SO_EE_ORIGIN_ICMP = 2


def _setns(fd):
    if _libc.setns(fd, _CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, "setns: " + os.strerror(err))


def ns_socket(ns, family=socket.AF_INET, kind=socket.SOCK_DGRAM, proto=0):
    """A socket created inside namespace rvl-<ns> (it stays there)."""
    fd = os.open("/run/netns/rvl-" + ns, os.O_RDONLY)
    try:
        _setns(fd)
        try:
            return socket.socket(family, kind, proto)
        finally:
            _setns(_home)
    finally:
        os.close(fd)


def sock(ns, ip="0.0.0.0", port=0, recverr=False):
    """A UDP socket created inside namespace rvl-<ns>, bound to ip:port."""
    s = ns_socket(ns)
    s.bind((ip, port))
    if recverr:
        s.setsockopt(socket.IPPROTO_IP, IP_RECVERR, 1)
    return s


def recv(s, timeout=0.5):
    """(data, (ip, port)) or None after timeout seconds."""
    r, _, _ = select.select([s], [], [], timeout)
    if not r:
        return None
    return s.recvfrom(2048)


def drain(socks, timeout):
    """Everything that arrives on any of socks within timeout seconds:
    a list of (sock, data, src)."""
    got, end = [], time.monotonic() + timeout
    while True:
        left = end - time.monotonic()
        if left <= 0:
            return got
        r, _, _ = select.select(socks, [], [], left)
        for s in r:
            data, src = s.recvfrom(2048)
            got.append((s, data, src))


def icmp_error(s, timeout=1.0):
    """The next ICMP error queued on an IP_RECVERR socket, as
    (type, code, offender_ip), or None."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        # Errors raise POLLERR, which select reports as readable.
        select.select([s], [], [], max(0.0, end - time.monotonic()))
        try:
            _, anc, _, _ = s.recvmsg(512, 512, socket.MSG_ERRQUEUE | socket.MSG_DONTWAIT)
        except BlockingIOError:
            continue
        for level, typ, data in anc:
            if level == socket.IPPROTO_IP and typ == IP_RECVERR:
                # struct sock_extended_err + the offender's sockaddr_in.
                _, origin, etype, ecode = struct.unpack_from("=IBBB", data)
                if origin != SO_EE_ORIGIN_ICMP:
                    continue
                offender = socket.inet_ntoa(data[16 + 4 : 16 + 8])
                return etype, ecode, offender
    return None


class Server:
    """The public echo host: sockets on 192.0.2.1/.2 x 3478/3479 in rvl-srv.
    It reports the source it observes and can send from any of its four
    endpoints (the RFC 5780 "other address / other port")."""

    def __init__(self):
        self.socks = {}
        for ip in (S1, S2):
            for port in (P1, P2):
                self.socks[(ip, port)] = sock("srv", ip, port)

    def observe(self, timeout=1.0):
        """(server endpoint, observed source, data) of the next datagram."""
        got = drain_one(list(self.socks.values()), timeout)
        if not got:
            return None
        s, data, src = got
        return s.getsockname(), src, data

    def send(self, frm, to, data=b"unsolicited"):
        self.socks[frm].sendto(data, to)

    def close(self):
        for s in self.socks.values():
            s.close()


def drain_one(socks, timeout):
    r, _, _ = select.select(socks, [], [], timeout)
    if not r:
        return None
    data, src = r[0].recvfrom(2048)
    return r[0], data, src


def mapped(server, client, dst, data=b"probe", timeout=1.0):
    """Send from client to dst; the source the server observed (ip, port)."""
    client.sendto(data, dst)
    while True:
        got = server.observe(timeout)
        if got is None:
            return None
        local, src, payload = got
        if payload == data and local == dst:
            return src


def nat(site, *opts):
    """(Re)start the site's natbox with these options; wait until ready."""
    subprocess.run([NATLAB, "nat", site, *opts], check=True)


def events(site, ev=None):
    """The natbox log of a site as a list of dicts (only type ev if given)."""
    out = []
    with open(os.path.join(RUN, "nat-%s.jsonl" % site)) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            e = json.loads(line)
            if ev is None or e["ev"] == ev:
                out.append(e)
    return out


def wait_events(site, pred, timeout=2.0):
    """Poll the log until pred(events) is true; the events, or None."""
    end = time.monotonic() + timeout
    while True:
        evs = events(site)
        if pred(evs):
            return evs
        if time.monotonic() > end:
            return None
        time.sleep(0.05)


def port_of(addr):
    """The port of an "ip:port" string from the log."""
    return int(addr.rsplit(":", 1)[1])


class Checks:
    """One line per check, sections, and a summary: every lab check script
    reports the same way."""

    def __init__(self, name):
        self.name, self.passed, self.failures = name, 0, []
        self.t0 = time.monotonic()

    def check(self, cond, what, detail=""):
        if cond:
            self.passed += 1
            print("  ok    %s" % what)
        else:
            self.failures.append(what)
            print("  FAIL  %s%s" % (what, ": " + detail if detail else ""))
        sys.stdout.flush()

    def section(self, title, fn, *args):
        """Run one section; an exception (a daemon failing to start, a
        socket error) fails it instead of ending the run."""
        print("\n-- %s" % title)
        sys.stdout.flush()
        try:
            fn(*args)
        except Exception as e:  # noqa: BLE001 - report and continue
            self.check(False, "%s: stopped by %s: %s" % (title, type(e).__name__, e))

    def finish(self):
        """Print the summary; the exit status."""
        print("\n%s: %d checks passed, %d failed (%.1f s)"
              % (self.name, self.passed, len(self.failures), time.monotonic() - self.t0))
        for f in self.failures:
            print("  failed: %s" % f)
        return 1 if self.failures else 0


# What each preset is, in the words of the standard discovery tools.
PRESET_VERDICTS = {
    # preset: (RFC 5780 mapping, RFC 5780 filtering, RFC 3489 `stun` summary)
    "full-cone": ("Endpoint Independent", "Endpoint Independent",
                  "Independent Mapping, Independent Filter"),
    "restricted": ("Endpoint Independent", "Address Dependent",
                   "Independent Mapping, Address Dependent Filter"),
    "port-restricted": ("Endpoint Independent", "Address and Port Dependent",
                        "Independent Mapping, Port Dependent Filter"),
    "addr-symmetric": ("Address Dependent", "Address Dependent", "Dependent Mapping"),
    "port-symmetric": ("Address and Port Dependent", "Address and Port Dependent",
                       "Dependent Mapping"),
}


def _tool(ns, argv):
    r = subprocess.run(["ip", "netns", "exec", "rvl-" + ns, *argv], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, timeout=60)
    return r.stdout


def ip_mib(ns):
    """The IPv4 counters of namespace rvl-<ns> (/proc/net/snmp's "Ip:" rows,
    e.g. FragCreates, ReasmOKs) as a dict."""
    rows = [ln.split() for ln in _tool(ns, ["cat", "/proc/net/snmp"]).splitlines()
            if ln.startswith("Ip:")]
    return {k: int(v) for k, v in zip(rows[0][1:], rows[1][1:])} if len(rows) >= 2 else {}


def judge_rfc5780(checks, server, presets=PRESET_VERDICTS, extra=(), label=""):
    """coturn's turnutils_natdiscovery (an RFC 5780 client, as it is)
    classifies site a's NAT through `server`, for each preset."""
    for preset, (m, f, _) in presets.items():
        nat("a", "--preset", preset)
        out = _tool("a1", ["turnutils_natdiscovery", "-m", "-f", *extra, server])
        verdicts = [ln.strip() for ln in out.splitlines() if ln.startswith("NAT with")]
        checks.check(verdicts == ["NAT with %s Mapping!" % m, "NAT with %s Filtering!" % f],
                     "turnutils_natdiscovery %s: %s is %s mapping, %s filtering"
                     % (label, preset, m, f), "it said %s" % verdicts)


def judge_padded(checks, server, label):
    """judge_rfc5780 again with -P (RFC 5780 §7.6 PADDING: 1500-byte requests
    and answers, which cross the lab's 1500-byte links as IPv4 fragments,
    through natbox both ways); a1's own counters prove they were fragments."""
    before = ip_mib("a1")
    judge_rfc5780(checks, server, extra=("-P",), label="-P " + label)
    after = ip_mib("a1")
    made = after.get("FragCreates", 0) - before.get("FragCreates", 0)
    back = after.get("ReasmOKs", 0) - before.get("ReasmOKs", 0)
    checks.check(made > 0 and back > 0,
                 "turnutils_natdiscovery -P %s: a1 sent its requests as %d fragments and "
                 "reassembled %d fragmented answers" % (label, made, back))


def judge_rfc3489(checks, server, presets=PRESET_VERDICTS):
    """The classic RFC 3489 `stun` client (Debian's stun-client) does the
    same through CHANGE-REQUEST and CHANGED-ADDRESS."""
    for preset, (_, _, summary) in presets.items():
        nat("a", "--preset", preset)
        out = _tool("a1", ["stun", server])
        line = next((ln.strip() for ln in out.splitlines() if ln.startswith("Primary:")), "")
        checks.check(line.startswith("Primary: " + summary + ","),
                     "stun (RFC 3489): %s is '%s'" % (preset, summary), "it said '%s'" % line)


def story(site, evs=None, skip=("config", "ready")):
    """A site's natbox log as short human lines (what a failing check shows):
    '+ms event int -> ext (dst)' for mappings, the port for background ones."""
    out = []
    for e in events(site) if evs is None else evs:
        ev = e.get("ev")
        if ev in skip:
            continue
        if ev in ("map_create", "map_expire"):
            line = "%s %s -> %s (%s)" % (ev, e.get("int"), e.get("ext"), e.get("dst"))
        elif ev == "bg_alloc":
            line = "bg_alloc %s" % e.get("ext")
        elif ev == "filtered":
            line = "filtered %s: %s -> %s" % (e.get("rule"), e.get("src"), e.get("ext"))
        else:
            line = " ".join("%s=%s" % (k, v) for k, v in e.items() if k != "ms")
        out.append("+%5s ms  %s" % (e.get("ms"), line))
    return out
