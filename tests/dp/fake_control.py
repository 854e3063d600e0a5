#!/usr/bin/python3
"""fake_control.py — a stand-in for rvcontrol that also feeds rvdp's input.

    fake_control.py --fifo IN.fifo --pcap in.pcap --socket CTL.sock
                    --expect expect.json --report ctl.json [--pid RVDP_PID]

net_pcap starts reading rx_pcap as soon as the port starts, before any
control client could push sessions. So rx_pcap is a named FIFO, and this
program:
  1. opens the FIFO for writing and writes only the 24-byte pcap header
     (libpcap's pcap_open_offline, inside rvdp's EAL init, waits for it);
  2. connects to rvdp's --control socket (SOCK_SEQPACKET, proto/dpctl.h),
     reads HELLO and checks the two public addresses;
  3. applies the session operations (SESSION_SET / SESSION_DEL) and the
     relay grants (RELAY_SET), then sends an OBS_QUERY and waits for its
     reply: messages are handled in order, so sessions and relays are in
     the tables before any packet arrives;
  4. runs gen_pcap.py's steps in order:
       frames      write one phase's frames (it ends on a full rx burst with
                   a punted sentinel) and collect PUNTs until the
                   sentinel's: every frame of the phase has been handled,
                   and the relay binds its lcore handed over before it have
                   been applied (they share the lcore -> control ring)
       relay_query RELAY_QUERY, the RELAY_REPLY checked field by field
                   (bound endpoints, packets, bytes, dropped, flags, a
                   plausible seen_ms; status -ENOENT for a relay not there)
       relay_del   RELAY_DEL (the next query fences it)
       obs         every session's observations (valid probes only, in
                   order, with plausible timestamps)
       flush       FLUSH (the next queries fence it)
       close       close the FIFO (EOF ends net_pcap's rx; rvdp's
                   --max-idle-ms then stops it)
       sends       the SENDs (one good, some refused: check_pcap.py looks
                   for the frame in the output), fenced by an OBS_QUERY
  5. checks every PUNT (observed source, public address hit, MAC, payload
     bytes, in order) and disconnects.
Everything it saw goes to --report (JSON). Exit 0 when every check passed.
"""
import argparse
import errno
import json
import os
import select
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dplib as d  # noqa: E402

PHASE_TIMEOUT = 10.0


class Fail(Exception):
    pass


def now_ms():
    return int(time.time() * 1000)


def alive(pid):
    if not pid:
        return True
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def open_fifo(path, pid, deadline):
    """Open the FIFO for writing once rvdp opened it for reading."""
    while True:
        try:
            fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
            os.set_blocking(fd, True)
            return fd
        except OSError as e:
            if e.errno != errno.ENXIO:
                raise
        if not alive(pid):
            raise Fail("rvdp exited before opening its rx_pcap FIFO (see its log)")
        if time.monotonic() > deadline:
            raise Fail("rvdp did not open its rx_pcap FIFO within %.0fs" % PHASE_TIMEOUT)
        time.sleep(0.005)


def connect(path, pid, deadline):
    while True:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            s.connect(path)
            return s
        except (FileNotFoundError, ConnectionRefusedError):
            s.close()
        if not alive(pid):
            raise Fail("rvdp exited before its control socket accepted us (see its log)")
        if time.monotonic() > deadline:
            raise Fail("rvdp's control socket %s did not accept within %.0fs"
                       % (path, PHASE_TIMEOUT))
        time.sleep(0.002)


class Ctl:
    def __init__(self, sock):
        self.s = sock
        self.seq = 1000
        self.log = []  # every message received, decoded

    def send(self, t, body=b""):
        self.seq += 1
        self.s.send(d.dpc_hdr(t, self.seq) + body)
        return self.seq

    def recv(self, timeout, what):
        r, _, _ = select.select([self.s], [], [], timeout)
        if not r:
            raise Fail("no message from rvdp within %.1fs while waiting for %s" % (timeout, what))
        b = self.s.recv(65536)
        if not b:
            raise Fail("rvdp closed the control socket while we waited for %s "
                       "(did --max-idle-ms expire? the machine may be too slow for it)" % what)
        m = d.dpc_decode(b)
        self.log.append(m)
        return m


def pcap_records(pcap):
    """Each frame's whole record (16-byte header + data), in file order, so
    a phase is written as the bytes gen_pcap.py wrote."""
    out, off = [], 24
    while off < len(pcap):
        n = struct.unpack_from("<I", pcap, off + 8)[0]
        out.append(pcap[off:off + 16 + n])
        off += 16 + n
    return out


def collect_punts(ctl, report, ph):
    """PUNTs until the phase's sentinel's."""
    while True:
        m = ctl.recv(PHASE_TIMEOUT, "the PUNT of %s's sentinel" % ph["name"])
        if m["type"] != d.DPC_PUNT:
            raise Fail("unexpected %s from rvdp while collecting PUNTs" % m["name"])
        report["punts"].append(m)
        if m["payload"] == ph["sentinel"]:
            return


def check_punts(exp, report, errors):
    want = [c["punt"] for c in exp["cases"] if c["punt"]]
    names = [c["name"] for c in exp["cases"] if c["punt"]]
    got = report["punts"]
    if len(got) != len(want):
        errors.append("%d PUNTs received, want %d" % (len(got), len(want)))
    for i, (g, w) in enumerate(zip(got, want)):
        what = "PUNT #%d (%s)" % (i, names[i])
        if g["payload"] != w["payload"]:
            errors.append("%s: payload differs: %s..., want %s..."
                          % (what, g["payload"][:48], w["payload"][:48]))
        if g["src"] != w["src"]:
            errors.append("%s: observed source %s:%d, want %s:%d" % (what, *g["src"], *w["src"]))
        if g["dst"] != w["dst"]:
            errors.append("%s: public address %s:%d, want %s:%d" % (what, *g["dst"], *w["dst"]))
        if g["path"]["mac"] != w["mac"]:
            errors.append("%s: path MAC %s, want the sender's %s"
                          % (what, g["path"]["mac"], w["mac"]))
        if g["path"]["port"] != 0 or g["path"]["reserved"] != "0000":
            errors.append("%s: path port %d reserved %s, want port 0 (the only ethdev) and 0"
                          % (what, g["path"]["port"], g["path"]["reserved"]))


def reply_to(ctl, seq, want_type, what, errors):
    """The reply carrying seq (anything else from rvdp now is an error)."""
    while True:
        m = ctl.recv(PHASE_TIMEOUT, what)
        if m["type"] == want_type and m["seq"] == seq:
            return m
        errors.append("unexpected %s (seq %d) from rvdp while waiting for %s"
                      % (m["name"], m["seq"], what))


def relay_query(ctl, q, errors, t_set, report):
    what = "RELAY_REPLY for %s (%016x)" % (q["name"], q["relay"])
    m = reply_to(ctl, ctl.send(d.DPC_RELAY_QUERY, struct.pack(">Q", q["relay"])),
                 d.DPC_RELAY_REPLY, what, errors)
    report["relays"].append(dict(m, name=q["name"]))
    if m["relay"] != q["relay"]:
        errors.append("%s: carries relay %016x" % (what, m["relay"]))
    if m["status"] != q["status"]:
        errors.append("%s: status %d, want %d" % (what, m["status"], q["status"]))
        return
    if q["status"]:
        return
    if m["flags"] != q["flags"]:
        errors.append("%s: flags %#x, want %#x" % (what, m["flags"], q["flags"]))
    now = now_ms()
    for s, (g, w) in enumerate(zip(m["sides"], q["sides"])):
        for k in ("bound", "packets", "bytes", "dropped"):
            if g[k] != w[k]:
                errors.append("%s side %d: %s %s, want %s" % (what, s, k, g[k], w[k]))
        if not t_set - 1000 <= g["seen_ms"] <= now + 1000:
            errors.append("%s side %d: seen_ms %d outside [%d, %d] (+-1s)"
                          % (what, s, g["seen_ms"], t_set, now))


def check_obs(ctl, ctl_exp, errors, report, t_write):
    t_done = now_ms()
    queries = {}
    for q in ctl_exp["obs"]:
        queries[ctl.send(d.DPC_OBS_QUERY, struct.pack(">Q", q["session"]))] = q
    while queries:
        m = ctl.recv(PHASE_TIMEOUT, "OBS_REPLYs")
        if m["type"] != d.DPC_OBS_REPLY:
            errors.append("unexpected %s from rvdp after the sentinel" % m["name"])
            if m["type"] == d.DPC_PUNT:
                report["punts"].append(m)
            continue
        q = queries.pop(m["seq"], None)
        if q is None:
            errors.append("OBS_REPLY with seq %d answers no query" % m["seq"])
            continue
        report["obs"].append(dict(m, name=q["name"]))
        what = "OBS_REPLY for %s (%016x)" % (q["name"], q["session"])
        if m["session"] != q["session"]:
            errors.append("%s: carries session %016x" % (what, m["session"]))
        if m["status"] not in q["status"]:
            errors.append("%s: status %d, want %s" % (what, m["status"],
                                                      " or ".join(map(str, q["status"]))))
        seen = [{k: o[k] for k in ("ip", "port", "seq", "kind")} for o in m["obs"]]
        if seen != q["obs"]:
            errors.append("%s: observations %s, want %s" % (what, seen, q["obs"]))
        for o in m["obs"]:
            if not t_write - 1000 <= o["t_ms"] <= t_done + 1000:
                errors.append("%s: observation seq %d at t_ms %d, outside [%d, %d] (+-1s)"
                              % (what, o["seq"], o["t_ms"], t_write, t_done))
        ts = [o["t_ms"] for o in m["obs"]]
        if ts != sorted(ts):
            errors.append("%s: observations not oldest first: %s" % (what, ts))


def sends(ctl, ctl_exp, errors, report):
    for s in ctl_exp["sends"]:
        p = s["path"]
        body = d.dpc_path(p["port"], p["queue"], p["mac"]) + d.dpc_addr(*s["src"]) + \
            d.dpc_addr(*s["dst"]) + bytes.fromhex(s["payload"])
        ctl.send(d.DPC_SEND, body)
        report["sends"].append(s)
    reply_to(ctl, ctl.send(d.DPC_OBS_QUERY, struct.pack(">Q", ctl_exp["obs"][0]["session"])),
             d.DPC_OBS_REPLY, "the OBS_REPLY fencing the SENDs", errors)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--fifo", required=True)
    ap.add_argument("--pcap", required=True)
    ap.add_argument("--socket", required=True)
    ap.add_argument("--expect", required=True)
    ap.add_argument("--report", required=True)
    ap.add_argument("--pid", type=int, default=0, help="rvdp's pid, to notice it dying")
    a = ap.parse_args()

    with open(a.expect) as f:
        exp = json.load(f)
    ctl_exp = exp["control"]
    with open(a.pcap, "rb") as f:
        pcap = f.read()
    frames = pcap_records(pcap)
    report = {"punts": [], "obs": [], "sends": [], "relays": [], "errors": [], "hello": None}
    errors = report["errors"]
    fifo = None
    ctl = None
    try:
        fifo = open_fifo(a.fifo, a.pid, time.monotonic() + PHASE_TIMEOUT)
        os.write(fifo, pcap[:24])
        sock = connect(a.socket, a.pid, time.monotonic() + PHASE_TIMEOUT)
        ctl = Ctl(sock)

        # 2. HELLO
        m = ctl.recv(PHASE_TIMEOUT, "HELLO")
        if m["type"] != d.DPC_HELLO:
            raise Fail("first message from rvdp is %s, want HELLO" % m["name"])
        report["hello"] = m
        for k in ("primary", "alternate"):
            if m[k] != ctl_exp["hello"][k]:
                errors.append("HELLO %s address is %s:%d, want %s:%d"
                              % (k, *m[k], *ctl_exp["hello"][k]))

        # 3. sessions and relays, then a fence
        t_set = now_ms()
        for op in ctl_exp["ops"]:
            if op["op"] == "set":
                body = struct.pack(">Q", op["session"]) + bytes.fromhex(op["key"]) + \
                    struct.pack(">QII", t_set + op["expires_in_ms"], op["rate_pps"], op["burst"])
                ctl.send(d.DPC_SESSION_SET, body)
            else:
                ctl.send(d.DPC_SESSION_DEL, struct.pack(">Q", op["session"]))
        for r in ctl_exp["relays"]:
            ctl.send(d.DPC_RELAY_SET, d.dpc_relay_set(
                r["relay"], bytes.fromhex(r["key"]), r["channel"], t_set + r["expires_in_ms"],
                r["quota_bytes"], r["rate_pps"], r["burst"]))
        fence = ctl.send(d.DPC_OBS_QUERY, struct.pack(">Q", ctl_exp["obs"][0]["session"]))
        m = ctl.recv(PHASE_TIMEOUT, "the OBS_REPLY fencing the session updates")
        if m["type"] != d.DPC_OBS_REPLY or m["seq"] != fence:
            raise Fail("fence: got %s seq %d, want OBS_REPLY seq %d" % (m["name"], m["seq"], fence))
        if m["status"] != 0 or m["obs"]:
            raise Fail("fence: session %016x has status %d and %d observations before any probe"
                       " (want 0 and none: SESSION_SET not applied?)"
                       % (m["session"], m["status"], len(m["obs"])))

        # 4. the steps
        t_write = None
        for step in ctl_exp["steps"]:
            op = step["op"]
            if op == "frames":
                ph = ctl_exp["phases"][step["phase"]]
                if t_write is None:
                    t_write = now_ms()
                os.write(fifo, b"".join(frames[ph["from"]:ph["to"]]))
                collect_punts(ctl, report, ph)
            elif op == "relay_query":
                relay_query(ctl, step, errors, t_set, report)
            elif op == "relay_del":
                ctl.send(d.DPC_RELAY_DEL, struct.pack(">Q", step["relay"]))
            elif op == "flush":
                ctl.send(d.DPC_FLUSH)
            elif op == "obs":
                check_obs(ctl, ctl_exp, errors, report, t_write)
            elif op == "close":
                os.close(fifo)
                fifo = None
            elif op == "sends":
                sends(ctl, ctl_exp, errors, report)
            else:
                raise Fail("expect.json: unknown step %s" % op)
        check_punts(exp, report, errors)
        report["timing_ms"] = {"sessions_to_frames": (t_write or t_set) - t_set,
                               "frames_to_end": now_ms() - (t_write or t_set)}
    except (Fail, ValueError, OSError) as e:
        errors.append("fatal: %s" % e)
    finally:
        if fifo is not None:
            os.close(fifo)  # EOF: rvdp's rx ends, --max-idle-ms stops it
        if ctl is not None:
            ctl.s.close()
    report["log"] = ctl.log if ctl else []
    with open(a.report, "w") as f:
        json.dump(report, f, indent=1)
    for e in errors:
        print("fake_control: FAIL: %s" % e)
    nobs = sum(len(o["obs"]) for o in report["obs"])
    print("fake_control: HELLO checked; %d sessions set/deleted, %d relays granted; %d phases "
          "of frames; %d PUNTs checked; %d OBS_REPLYs (%d observations) and %d RELAY_REPLYs "
          "checked; %d SENDs issued%s"
          % (len(ctl_exp["ops"]), len(ctl_exp["relays"]), len(ctl_exp["phases"]),
             len(report["punts"]), len(report["obs"]), nobs, len(report["relays"]),
             len(report["sends"]), "" if not errors else "; %d FAILURES" % len(errors)))
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()
