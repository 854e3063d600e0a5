#!/usr/bin/python3
"""dp_lab_check — rvdp on a real link (net_af_packet on the lab's server
veth), judged by the standard tools as they are.

- ARP and ICMP echo: the lab router pings both public addresses.
- coturn's turnutils_natdiscovery (RFC 5780) and Debian's `stun` (RFC 3489)
  classify site a's NAT through rvdp, for every natbox preset, and must say
  what the preset is; turnutils_natdiscovery again with -P (RFC 5780 PADDING:
  1500-byte requests and answers cross natbox as IPv4 fragments both ways;
  the kernel defragments requests for net_af_packet, rvdp cuts its answers).
- Never a weapon: a burst of Binding requests from one source gets no more
  answer bytes beyond the request bytes than the per-source budget allows,
  and requests as large as their answers are limited by the packet budget.
- rvdp's exit report (--json) counts what the checks sent.

Run as root with the lab up in dpdk mode (tests/dp/run-lab.sh does it all).
"""

import json
import os
import signal
import socket
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "natlab"))
from lablib import (  # noqa: E402
    P1, PRESET_VERDICTS, RUN, S1, S2, Checks, judge_padded, judge_rfc3489, judge_rfc5780,
    sock)

BUILD = os.environ.get("BUILD", "build")
RVDP = os.path.join(BUILD, "rvdp")
# Per-source budgets small enough to see within a second.
RL = {"--rl-src-bytes": 1024, "--rl-src-bytes-rate": 256,
      "--rl-src-pkts": 64, "--rl-src-pkts-rate": 16}
C = Checks("dp-lab")


def start_rvdp(queues=1):
    """rvdp on the server's veth; with queues > 1, one datapath lcore per
    RX/TX queue pair (RSS spreads the flows), all lcores on the machine's
    two cores."""
    lcores = ["-l", "0-1"] if queues == 1 else \
        ["--lcores", ",".join(["0@0"] + ["%d@1" % (i + 1) for i in range(queues)])]
    vdev = "net_af_packet0,iface=eth0" + (",qpairs=%d" % queues if queues > 1 else "")
    argv = ["ip", "netns", "exec", "rvl-srv", RVDP, *lcores, "--no-huge", "-m", "256",
            "--no-pci", "--file-prefix", "rvdplab%d" % os.getpid(),
            "--vdev", vdev, "--", "--addr", S1, "--alt-addr", S2,
            "--control", os.path.join(RUN, "rvdp.sock"), "--idle-sleep-us", "100", "--json"]
    for k, v in RL.items():
        argv += [k, str(v)]
    out = open(os.path.join(RUN, "rvdp.out"), "w")
    err = open(os.path.join(RUN, "rvdp.log"), "w")
    p = subprocess.Popen(argv, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
    # Ready when it answers a Binding.
    s = sock("inet")
    try:
        for _ in range(100):
            if p.poll() is not None:
                raise RuntimeError("rvdp exited %d (see %s/rvdp.log)" % (p.returncode, RUN))
            s.sendto(binding(os.urandom(12)), (S1, P1))
            s.settimeout(0.1)
            try:
                s.recvfrom(2048)
                return p
            except socket.timeout:
                pass
        raise RuntimeError("rvdp did not answer within 10 s")
    finally:
        s.close()


def stop_rvdp(p):
    """SIGTERM; its exit report's counters."""
    p.send_signal(signal.SIGTERM)
    rc = p.wait(10)
    C.check(rc == 0, "rvdp exits cleanly on SIGTERM", "exit status %d" % rc)
    with open(os.path.join(RUN, "rvdp.out")) as f:
        text = f.read()
    start = text.rfind('{"counters"')
    return json.loads(text[start:])["counters"] if start >= 0 else {}


def binding(tid, software=b""):
    """A Binding request, optionally padded with a SOFTWARE attribute."""
    attrs = b""
    if software:
        attrs = struct.pack("!HH", 0x8022, len(software)) + software
        attrs += b"\0" * (-len(software) % 4)
    return struct.pack("!HHI", 0x0001, len(attrs), 0x2112A442) + tid + attrs


def check_ping():
    for ip in (S1, S2):
        r = subprocess.run(["ip", "netns", "exec", "rvl-inet", "ping", "-c", "2", "-i", "0.2",
                            "-W", "1", "-q", ip], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True)
        C.check(r.returncode == 0, "the router resolves %s (ARP) and rvdp answers its pings" % ip,
                r.stdout.strip().splitlines()[-1] if r.stdout else "")


def burst(ns, size, n=400):
    """n Binding requests of `size` bytes from host ns, sent at once;
    (answers, answer bytes, request bytes of the answered, seconds)."""
    s = sock(ns)
    pad = b"x" * max(0, size - 24)
    t0 = time.monotonic()
    for i in range(n):
        s.sendto(binding(struct.pack("!I", i) + os.urandom(8), pad), (S1, P1))
    got, got_bytes = 0, 0
    s.settimeout(0.5)
    while True:
        try:
            data, _ = s.recvfrom(2048)
        except socket.timeout:
            break
        got += 1
        got_bytes += len(data)
    s.close()
    return got, got_bytes, got * len(binding(b"\0" * 12, pad)), time.monotonic() - t0


def check_budget():
    got, out, inb, secs = burst("inet", 20)
    allowed = RL["--rl-src-bytes"] + RL["--rl-src-bytes-rate"] * secs
    C.check(0 < got < 400 and out - inb <= allowed,
            "400 plain Bindings from one source: %d answered, %d answer bytes for %d request "
            "bytes (excess %d <= budget %d)" % (got, out, inb, out - inb, allowed),
            "answered %d, excess %d" % (got, out - inb))
    print("        amplification of the answered: %.2fx; of the whole burst: %.2fx"
          % (out / max(inb, 1), out / (400 * 20)))
    # From another source (site b's NAT), with a full budget.
    got, out, inb, secs = burst("b1", 64)
    allowed = RL["--rl-src-pkts"] + RL["--rl-src-pkts-rate"] * secs + 1
    C.check(RL["--rl-src-pkts"] <= got <= allowed and out <= inb,
            "400 Bindings as large as their answers: %d answered (packet budget %d), "
            "no excess bytes" % (got, RL["--rl-src-pkts"]),
            "answered %d, %d answer bytes for %d request bytes" % (got, out, inb))


def main():
    if not os.access(RVDP, os.X_OK):
        print("dp-lab: %s is not built" % RVDP)
        return 1
    p = start_rvdp()
    ctr = {}
    try:
        C.section("ARP and ICMP echo", check_ping)
        C.section("RFC 5780 judge: coturn's turnutils_natdiscovery through rvdp",
                  lambda: judge_rfc5780(C, S1, label="vs rvdp"))
        C.section("RFC 5780 judge with PADDING (-P): fragments through natbox and rvdp",
                  lambda: judge_padded(C, S1, "vs rvdp"))
        C.section("RFC 3489 judge: the classic stun client through rvdp",
                  lambda: judge_rfc3489(C, S1))
        C.section("per-source budgets (never a weapon)", check_budget)
    finally:
        ctr = stop_rvdp(p)

    def counted():
        for name in ("tx_arp", "tx_icmp_echo", "tx_binding", "tx_binding_changed",
                     "tx_binding_classic", "tx_fragmented", "drop_rl_src_bytes",
                     "drop_rl_src_pkts"):
            C.check(ctr.get(name, 0) > 0, "rvdp's exit report counts %s (%d)"
                    % (name, ctr.get(name, 0)))
    C.section("rvdp's own account", counted)

    def two_queues():
        p = start_rvdp(queues=2)
        try:
            line = ""
            for _ in range(20):  # the lcores may answer before main logs it
                with open(os.path.join(RUN, "rvdp.log")) as f:
                    line = next((ln for ln in f if "serving" in ln), "")
                if line:
                    break
                time.sleep(0.1)
            C.check("2 queue(s), 2 datapath lcore(s)" in line,
                    "rvdp serves two RX/TX queues with one lcore each", line.strip())
            judge_rfc3489(C, S1, presets={k: PRESET_VERDICTS[k]
                                          for k in ("restricted", "port-symmetric")})
        finally:
            ctr2 = stop_rvdp(p)
        C.check(ctr2.get("tx_binding_classic", 0) > 0, "and answered on them (%d)"
                % ctr2.get("tx_binding_classic", 0))
    C.section("two queues (RSS), two datapath lcores", two_queues)
    return C.finish()


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
