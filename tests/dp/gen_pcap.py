#!/usr/bin/python3
"""gen_pcap.py — the input of rvdp's pcap suite and what rvdp must do with it.

    /usr/bin/python3 tests/dp/gen_pcap.py --out DIR [--seed N]

writes DIR/in.pcap (every test frame, in order) and DIR/expect.json:
  cases     one per frame: name, group, the outcome counter rvdp must bump
            (and `also`, counters it bumps besides: the last piece of a
            fragment train counts the datagram's outcome too), the exact
            answer expected (or none; `frags` > 1: as IPv4 fragments), the
            relayed ChannelData expected, or the punt expected
  control   what the stand-in rvcontrol (fake_control.py) does over the
            control socket: session operations and relay grants before the
            packets, then its steps: the phases of frames, relay queries
            (what each must answer then), RELAY_DEL, FLUSH, the
            observations each session must hold, the SENDs
  counters  every counter of rvdp's --json exit report, exactly
Each phase ends on a full rx burst with a punted control message, its
sentinel: when its PUNT reaches the control socket every frame before it
has been handled, and every relay bind before it applied.

Addresses are documentation ranges (RFC 5737) and locally administered
MACs; nothing leaves the pcap files. Deterministic for a given --seed.
Needs Debian's python3-scapy (run with /usr/bin/python3).
"""
import argparse
import json
import os
import random
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dplib as d  # noqa: E402

from scapy.layers.inet import ICMP, IP, TCP, UDP, IPOption_NOP, fragment  # noqa: E402
from scapy.layers.inet6 import IPv6  # noqa: E402
from scapy.layers.l2 import ARP, Dot1Q, Ether  # noqa: E402
from scapy.packet import Raw  # noqa: E402

A, B = 0, 1  # address index: primary / alternate
MTU = 1500   # rvdp's --mtu (default): answers above it leave as fragments
P, Q = 0, 1  # port index: primary / alternate
COMBOS = [(A, P), (A, Q), (B, P), (B, Q)]
VERSION = (d.A_RV_VERSION, b"\x01\x00\x00\x00")
HOUR_MS = 3600 * 1000
BURST = 32   # rvdp's --burst here: a phase ends on a full rx burst


def pad4(n):
    return (n + 3) & ~3


def stun_len(attrs):
    """Length of a STUN message with these [type, value length] attributes."""
    return 20 + sum(4 + pad4(ln) for _, ln in attrs)


def frags_of(frame_len):
    """Frames an answer of frame_len bytes leaves rvdp in: 1, or its IPv4
    fragments of (MTU - 20) & ~7 payload bytes each."""
    ip = frame_len - 14
    chunk = (MTU - 20) & ~7
    return 1 if ip <= MTU else -(-(ip - 20) // chunk)


def wire_len(answer):
    """Bytes an answer takes on the wire: each extra fragment repeats the
    Ethernet and IP headers."""
    return answer["len"] + (answer.get("frags", 1) - 1) * 34


class Gen:
    def __init__(self, seed):
        self.rng = random.Random(seed)
        self.cases = []
        self.ips = ([f"198.51.100.{i}" for i in range(3, 255)] +
                    [f"203.0.113.{i}" for i in range(1, 240)] +
                    [f"192.0.2.{i}" for i in range(3, 255)])
        self.rng.shuffle(self.ips)
        self.tids = set()
        self.sessions = {}
        self.relays = []
        self.phases = []

    # --- sources, IDs ---------------------------------------------------------

    def new_ip(self):
        return self.ips.pop()

    def new_mac(self):
        return "02:%02x:%02x:%02x:%02x:%02x" % tuple(self.rng.randrange(256) for _ in range(5))

    def new_port(self):
        return self.rng.randrange(1024, 65536)

    def client(self, ip=None, port=None):
        return {"ip": ip or self.new_ip(), "port": port or self.new_port(), "mac": self.new_mac()}

    def tid(self, n=12):
        while True:
            t = bytes(self.rng.randrange(256) for _ in range(n))
            if n == 16 and t[:4] == struct.pack(">I", d.STUN_MAGIC):
                continue
            if t not in self.tids:
                self.tids.add(t)
                return t

    # --- frames -----------------------------------------------------------------

    @staticmethod
    def srv(ip_idx, port_idx):
        return [d.SRV_IP[ip_idx], d.SRV_PORT[port_idx]]

    def udp_frame(self, c, dst, payload, dst_mac=d.SRV_MAC, ip_kw=None, udp_kw=None,
                  trailer=b""):
        pkt = (Ether(src=c["mac"], dst=dst_mac) /
               IP(src=c["ip"], dst=dst[0], **(ip_kw or {})) /
               UDP(sport=c["port"], dport=dst[1], **(udp_kw or {})) / Raw(payload))
        return bytes(pkt) + trailer

    def add(self, name, group, frame, outcome, answer=None, punt=None, note=None, also=()):
        """One input frame: the per-frame counter it bumps (outcome), what
        comes out, and `also`: counters it bumps besides (for the last piece
        of a fragment train: rx_reassembled and the datagram's outcome)."""
        also = list(also)
        if answer and answer.get("frags", 1) > 1:
            also.append("tx_fragmented")
        case = {"name": name, "group": group, "len": len(frame), "frame": frame.hex(),
                "outcome": outcome, "answer": answer, "punt": punt}
        if also:
            case["also"] = also
        if note:
            case["note"] = note
        self.cases.append(case)
        return case

    # --- expected answers -----------------------------------------------------------

    def stun_answer(self, c, origin, dport, attrs, checks):
        """An answer carrying a STUN message from origin to c's IP:dport."""
        n = 42 + stun_len(attrs)
        return {"kind": "stun", "eth_dst": c["mac"], "eth_src": d.SRV_MAC,
                "ip_src": origin[0], "ip_dst": c["ip"], "sport": origin[1], "dport": dport,
                "len": n, "frags": frags_of(n),
                "stun": dict(checks, attrs=[[t, ln] for t, ln in attrs])}

    def binding(self, name, group, c, at, tid, extra=(), fp=False, change=(False, False),
                rport=None, padding=0, ip_kw=None, udp_kw=None, dst_mac=d.SRV_MAC,
                trailer=b"", note=None):
        """A Binding request and its RFC 8489/5780 success answer."""
        payload, ans, outcome = self.binding_expect(c, at, tid, extra, fp, change, rport,
                                                    padding)
        frame = self.udp_frame(c, self.srv(*at), payload, dst_mac, ip_kw, udp_kw, trailer)
        return self.add(name, group, frame, outcome, ans, note=note)

    def binding_expect(self, c, at, tid, extra=(), fp=False, change=(False, False), rport=None,
                       padding=0):
        """A Binding request's STUN payload, its answer and outcome counter."""
        attrs = list(extra)
        payload = d.stun(1, d.REQUEST, tid, attrs, fingerprint=fp)
        ci, cp = change
        origin = self.srv(at[0] ^ ci, at[1] ^ cp)
        other = self.srv(1, at[1] ^ 1)  # coturn-compatible, see dp_pkt.c
        exp = [(d.A_XOR_MAPPED, 8), (d.A_RESPONSE_ORIGIN, 8), (d.A_OTHER_ADDRESS, 8)]
        if padding:
            exp.append((d.A_PADDING, padding))
        if fp:
            exp.append((d.A_FINGERPRINT, 4))
        checks = {"type": d.stun_type(1, d.SUCCESS),
                  "id": (struct.pack(">I", d.STUN_MAGIC) + tid).hex(),
                  "fingerprint": fp,
                  "addrs": {str(d.A_XOR_MAPPED): [c["ip"], c["port"]],
                            str(d.A_RESPONSE_ORIGIN): origin,
                            str(d.A_OTHER_ADDRESS): other}}
        if padding:
            checks["padding"] = padding
        ans = self.stun_answer(c, origin, rport or c["port"], exp, checks)
        return payload, ans, "tx_binding_changed" if (ci or cp) else "tx_binding"

    # --- IPv4 fragment trains ------------------------------------------------------

    def pieces(self, c, dst, payload, size=1480, cuts=None, l4=None):
        """The frames of a UDP datagram from c to dst (or of IP / l4 when
        given) cut into IPv4 fragments: every `size` bytes, or at `cuts`
        (dplib.ip_fragment). A fresh IP ID per train."""
        ident = self.rng.randrange(1, 65536)
        if l4 is None:
            l4 = UDP(sport=c["port"], dport=dst[1]) / Raw(payload)
        ip = bytes(IP(src=c["ip"], dst=dst[0], id=ident) / l4)
        eth = bytes(Ether(src=c["mac"], dst=d.SRV_MAC, type=0x0800))
        return [eth + f for f in d.ip_fragment(ip, size=None if cuts else size, cuts=cuts)]

    def train(self, name, group, frames, outcomes, answer=None, punt=None, also=(), note=None):
        """A fragment train, one case per frame (outcomes[k] for frame k);
        the last frame completes the datagram and carries its answer or
        punt and the `also` counters."""
        n = len(frames)
        for k, (fr, oc) in enumerate(zip(frames, outcomes)):
            last = k == n - 1
            self.add("%s [%d/%d]" % (name, k + 1, n), group, fr, oc,
                     answer if last else None, punt if last else None,
                     note if last else None, also if last else ())

    def error(self, name, group, c, at, payload, idb, method, code, unknown=(), fp=False,
              outcome=None, note=None):
        """A request answered with 400/420 from the address it arrived on."""
        reason = "Unknown Attribute" if code == 420 else "Bad Request"
        exp = [(d.A_ERROR_CODE, 4 + len(reason))]
        if unknown:
            exp.append((d.A_UNKNOWN_ATTRIBUTES, 2 * len(unknown)))
        if fp:
            exp.append((d.A_FINGERPRINT, 4))
        checks = {"type": d.stun_type(method, d.ERROR), "id": idb.hex(), "fingerprint": fp,
                  "error": code, "unknown": list(unknown), "addrs": {}}
        origin = self.srv(*at)
        ans = self.stun_answer(c, origin, c["port"], exp, checks)
        frame = self.udp_frame(c, origin, payload)
        return self.add(name, group, frame, outcome or "tx_error_%d" % code, ans, note=note)

    def dropped(self, name, group, frame, outcome, note=None):
        return self.add(name, group, frame, outcome, None, note=note)

    # --- sessions -----------------------------------------------------------------------

    def session(self, name, sid, expires, rate_pps=0, burst=0):
        key = bytes(self.rng.randrange(256) for _ in range(16))
        self.sessions[name] = {"id": sid, "key": key, "expires": expires,
                               "rate_pps": rate_pps, "burst": burst, "obs": []}
        return self.sessions[name]

    def probe(self, name, c, at, s, kind, seq, answered, outcome=None, fp=True, key=None,
              mac_tid=None, flags=0, plen=20, change=None, before=(), classic=False,
              note=None):
        """An authenticated probe (Binding whose first attribute is RV-PROBE)."""
        tid = self.tid(16 if classic else 12)
        key = key if key is not None else s["key"]
        mac = d.probe_mac(key, (mac_tid or tid)[-12:], s["id"], kind, flags, seq)
        value = struct.pack(">QBBH", s["id"], kind, flags, seq) + mac
        if plen != 20:
            value = value[:plen]
        attrs = list(before) + [(d.A_RV_PROBE, value)]
        if change:
            attrs.append(d.change_request(*change))
        payload = d.stun(1, d.REQUEST, tid, attrs, fingerprint=fp, classic=classic)
        frame = self.udp_frame(c, self.srv(*at), payload)
        if not answered:
            return self.add(name, "probe", frame, outcome, None, note=note)
        ci, cp = change or (False, False)
        origin = self.srv(at[0] ^ ci, at[1] ^ cp)
        exp = [(d.A_XOR_MAPPED, 8), (d.A_RV_PROBE, 20), (d.A_FINGERPRINT, 4)]
        checks = {"type": d.stun_type(1, d.SUCCESS),
                  "id": (struct.pack(">I", d.STUN_MAGIC) + tid).hex(), "fingerprint": True,
                  "addrs": {str(d.A_XOR_MAPPED): [c["ip"], c["port"]]},
                  "probe": {"session": s["id"], "kind": kind, "seq": seq,
                            "key": s["key"].hex()}}
        ans = self.stun_answer(c, origin, c["port"], exp, checks)
        s["obs"].append({"ip": c["ip"], "port": c["port"], "seq": seq, "kind": kind})
        return self.add(name, "probe", frame, "tx_probe", ans, note=note)

    def punted(self, name, c, at, payload, note=None):
        dst = self.srv(*at)
        frame = self.udp_frame(c, dst, payload)
        punt = {"src": [c["ip"], c["port"]], "dst": dst, "mac": c["mac"],
                "payload": payload.hex()}
        return self.add(name, "punt", frame, "punt", None, punt, note=note)

    # --- phases ----------------------------------------------------------------------

    def end_phase(self, name, sentinel_payload):
        """Close a phase: frames that only count (another host's MAC) until
        the sentinel, a punted HELLO, ends a full rx burst (net_pcap's
        rx_burst waits for a full one), then the sentinel. fake_control.py
        writes a phase, waits for its sentinel's PUNT, acts, and goes on."""
        start = self.phases[-1]["to"] if self.phases else 0
        while (len(self.cases) + 1 - start) % BURST:
            c = self.client()
            self.dropped("%s: filler to a full burst" % name, "filler",
                         self.udp_frame(c, self.srv(A, P), d.stun(1, d.REQUEST, self.tid()),
                                        dst_mac="02:00:00:00:00:09"), "drop_not_ours_mac")
        case = self.punted("%s: sentinel" % name, self.client(), (B, Q), sentinel_payload)
        self.phases.append({"name": name, "from": start, "to": len(self.cases),
                            "sentinel": case["punt"]["payload"]})

    # --- relays (proto/WIRE.md "Relaying") ---------------------------------------------

    def relay(self, name, rid, channel, expires_in_ms=HOUR_MS, quota_bytes=0, rate_pps=0,
              burst=0):
        key = bytes(self.rng.randrange(256) for _ in range(16))
        r = {"name": name, "id": rid, "key": key, "channel": channel,
             "expires_in_ms": expires_in_ms, "quota_bytes": quota_bytes, "rate_pps": rate_pps,
             "burst": burst, "flags": 0,
             "sides": [{"bound": None, "packets": 0, "bytes": 0, "dropped": 0}
                       for _ in range(2)]}
        self.relays.append(r)
        return r

    def relay_bind(self, name, c, r, side, outcome="tx_relay_bind", at=(A, P), key=None,
                   flags=None, note=None):
        """A binding probe for side `side` of relay r from c; answered like
        an authenticated probe (reply MAC under the relay key), or dropped."""
        tid, seq = self.tid(), self.rng.randrange(65536)
        flags = (d.PROBE_SIDE if side else 0) if flags is None else flags
        mac = d.probe_mac(key or r["key"], tid, r["id"], d.PROBE_RELAY, flags, seq)
        payload = d.stun(1, d.REQUEST, tid, [d.probe_attr(r["id"], d.PROBE_RELAY, flags, seq,
                                                          mac)], fingerprint=True)
        frame = self.udp_frame(c, self.srv(*at), payload)
        if outcome != "tx_relay_bind":
            return self.add(name, "relay-bind", frame, outcome, None, note=note)
        exp = [(d.A_XOR_MAPPED, 8), (d.A_RV_PROBE, 20), (d.A_FINGERPRINT, 4)]
        checks = {"type": d.stun_type(1, d.SUCCESS),
                  "id": (struct.pack(">I", d.STUN_MAGIC) + tid).hex(), "fingerprint": True,
                  "addrs": {str(d.A_XOR_MAPPED): [c["ip"], c["port"]]},
                  "probe": {"session": r["id"], "kind": d.PROBE_RELAY, "seq": seq,
                            "key": r["key"].hex()}}
        ans = self.stun_answer(c, self.srv(A, P), c["port"], exp, checks)
        r["sides"][side]["bound"] = [c["ip"], c["port"]]
        return self.add(name, "relay-bind", frame, outcome, ans, note=note)

    def chdata(self, name, c, channel, size, to=None, r=None, side=None, outcome=None,
               at=(A, P), length=None, udp_kw=None, note=None):
        """ChannelData from c: forwarded to `to` (a client: the other side
        of relay r, c being its side `side`) field by field, or dropped
        with `outcome`. The data is unique, so the output says which one."""
        data = b"%s #%d " % (name.encode()[:40], len(self.cases))
        data = (data * (size // max(len(data), 1) + 1))[:size]
        payload = struct.pack(">HH", channel, size if length is None else length) + data
        frame = self.udp_frame(c, self.srv(*at), payload, udp_kw=udp_kw)
        if to is None:
            if r is not None and outcome in ("drop_relay_over_bytes", "drop_relay_over_rate",
                                             "drop_relay_expired"):
                r["sides"][side]["dropped"] += 1
                r["flags"] |= {"drop_relay_over_bytes": d.DPC_RELAY_OVER_BYTES,
                               "drop_relay_over_rate": d.DPC_RELAY_RATE_DROPS,
                               "drop_relay_expired": d.DPC_RELAY_EXPIRED}[outcome]
            return self.add(name, "relay", frame, outcome, None, note=note)
        r["sides"][side]["packets"] += 1
        r["sides"][side]["bytes"] += size
        ans = {"kind": "relay", "eth_dst": c["mac"], "eth_src": d.SRV_MAC,
               "ip_src": d.SRV_IP[A], "ip_dst": to["ip"], "sport": d.SRV_PORT[P],
               "dport": to["port"], "payload": payload.hex(), "len": 42 + len(payload)}
        case = self.add(name, "relay", frame, "tx_relay", ans, note=note)
        case["relay_bytes"] = size
        return case

    def relay_query(self, r, status=0):
        """What RELAY_QUERY must answer for r now (a snapshot)."""
        if status:
            return {"op": "relay_query", "name": r["name"], "relay": r["id"], "status": status}
        return {"op": "relay_query", "name": r["name"], "relay": r["id"], "status": 0,
                "flags": r["flags"], "sides": json.loads(json.dumps(r["sides"]))}


def build(seed):
    g = Gen(seed)
    T = g.tid

    # --- 1. Binding requests from many sources, to all four address/port pairs.
    for i in range(24):
        c = g.client()
        g.binding(f"binding from a new source #{i}{' +FP' if i % 2 else ''}", "binding", c,
                  COMBOS[i % 4], T(), fp=bool(i % 2))
    for j in range(6):  # one NAT, several mappings: same IP, four ports
        ip = g.new_ip()
        for k in range(4):
            c = g.client(ip=ip)
            g.binding(f"binding, NAT {j} mapping {k}", "binding", c, COMBOS[(j + k) % 4], T(),
                      fp=bool(k % 2))
    g.binding("binding from source port 1", "binding", g.client(port=1), (A, P), T(), fp=True)
    g.binding("binding from source port 65535", "binding", g.client(port=65535), (B, Q), T())
    g.binding("binding without UDP checksum (0)", "binding", g.client(), (A, P), T(),
              udp_kw={"chksum": 0})
    g.binding("binding with DF set", "binding", g.client(), (B, P), T(), fp=True,
              ip_kw={"flags": "DF"})
    g.binding("binding to the broadcast MAC", "binding", g.client(), (A, Q), T(),
              dst_mac="ff:ff:ff:ff:ff:ff")
    g.binding("binding with SOFTWARE", "binding", g.client(), (A, P), T(), fp=True,
              extra=[(d.A_SOFTWARE, b"gen_pcap.py test client")])
    g.binding("binding with an unknown comprehension-optional attribute", "binding",
              g.client(), (B, Q), T(), extra=[(0x8055, b"ignored!")])
    g.binding("binding in a frame with an Ethernet trailer", "binding", g.client(), (A, P), T(),
              trailer=b"\0" * 10)
    g.binding("CHANGE-REQUEST after MESSAGE-INTEGRITY is ignored (RFC 8489 14.5)", "binding",
              g.client(), (A, P), T(),
              extra=[(d.A_MESSAGE_INTEGRITY, bytes(range(20))), d.change_request(True, True)])

    # --- 2. every CHANGE-REQUEST at every address/port pair.
    for n, at in enumerate(COMBOS):
        for flags in [(False, False), (True, False), (False, True), (True, True)]:
            label = {(0, 0): "none", (1, 0): "ip", (0, 1): "port", (1, 1): "ip+port"}[
                (int(flags[0]), int(flags[1]))]
            g.binding(f"CHANGE-REQUEST {label} at {d.SRV_IP[at[0]]}:{d.SRV_PORT[at[1]]}",
                      "change", g.client(), at, T(), extra=[d.change_request(*flags)],
                      fp=bool(n % 2), change=flags)

    # --- 3. RESPONSE-PORT, PADDING, both.
    g.binding("RESPONSE-PORT 8080", "rfc5780", g.client(), (A, P), T(),
              extra=[d.response_port(8080)], rport=8080)
    g.binding("RESPONSE-PORT 9 +FP", "rfc5780", g.client(), (B, Q), T(),
              extra=[d.response_port(9)], rport=9, fp=True)
    g.binding("RESPONSE-PORT with CHANGE-REQUEST ip+port", "rfc5780", g.client(), (A, Q), T(),
              extra=[d.change_request(True, True), d.response_port(40000)], rport=40000,
              change=(True, True))
    c = g.client()
    tid = T()
    p = d.stun(1, d.REQUEST, tid, [d.response_port(0)])
    g.error("RESPONSE-PORT 0 is refused", "rfc5780", c, (A, P), p,
            struct.pack(">I", d.STUN_MAGIC) + tid, 1, 400)
    g.binding("PADDING 100 +FP", "rfc5780", g.client(), (A, P), T(),
              extra=[(d.A_PADDING, bytes(100))], padding=100, fp=True)
    g.binding("PADDING of odd length 1", "rfc5780", g.client(), (B, Q), T(),
              extra=[(d.A_PADDING, b"\0")], padding=1)
    g.binding("PADDING 1400 (1502-byte answer)", "rfc5780", g.client(), (B, P), T(),
              extra=[(d.A_PADDING, bytes(1400))], padding=1400)
    g.binding("PADDING with CHANGE-REQUEST ip", "rfc5780", g.client(), (A, Q), T(),
              extra=[d.change_request(True, False), (d.A_PADDING, bytes(64))], padding=64,
              change=(True, False), fp=True)
    g.binding("PADDING 1460 in one frame: its 1556-byte answer leaves in 2 fragments",
              "rfc5780", g.client(), (A, P), T(), extra=[(d.A_PADDING, bytes(1460))],
              padding=1460, fp=True)
    for n, (at, extra, fp) in enumerate([
            ((A, P), [], False),
            ((B, P), [d.change_request(True, True)], True),
            ((A, Q), [d.change_request(False, True)], False)]):
        c, tid = g.client(), T()
        p = d.stun(1, d.REQUEST, tid, extra + [d.response_port(7000), (d.A_PADDING, bytes(32))],
                   fingerprint=fp)
        g.error(f"RESPONSE-PORT + PADDING is refused #{n}{' +CHANGE-REQUEST' if extra else ''}",
                "rfc5780", c, at, p, struct.pack(">I", d.STUN_MAGIC) + tid, 1, 400, fp=fp)

    # --- 4. RFC 3489 clients: no cookie, 128-bit ID.
    classic_cases = [(at, (False, False)) for at in COMBOS] + \
                    [(at, (True, True)) for at in COMBOS] + \
                    [((A, P), (True, False)), ((B, Q), (False, True))]
    for at, flags in classic_cases:
        c, idb = g.client(), g.tid(16)
        extra = [d.change_request(*flags)] if any(flags) else []
        p = d.stun(1, d.REQUEST, idb, extra, classic=True)
        origin = g.srv(at[0] ^ flags[0], at[1] ^ flags[1])
        other = g.srv(at[0] ^ 1, at[1] ^ 1)
        exp = [(d.A_MAPPED, 8), (d.A_SOURCE_ADDRESS, 8), (d.A_CHANGED_ADDRESS, 8)]
        checks = {"type": d.stun_type(1, d.SUCCESS), "id": idb.hex(), "fingerprint": False,
                  "classic": True,
                  "addrs": {str(d.A_MAPPED): [c["ip"], c["port"]],
                            str(d.A_SOURCE_ADDRESS): origin, str(d.A_CHANGED_ADDRESS): other}}
        ans = g.stun_answer(c, origin, c["port"], exp, checks)
        label = "+".join(n for n, f in zip(("ip", "port"), flags) if f) or "none"
        g.add(f"RFC 3489 request at {d.SRV_IP[at[0]]}:{d.SRV_PORT[at[1]]}, change {label}",
              "classic", g.udp_frame(c, g.srv(*at), p), "tx_binding_classic", ans)

    # --- 5. unknown comprehension-required attributes: 420.
    for n, (unk, fp, extra, at) in enumerate([
            ([0x0024, 0x7777], True, [], (A, P)),
            ([0x0024, 0x7777], False, [], (B, Q)),
            ([0x0030 + i for i in range(10)], True, [], (A, Q)),
            ([0x7001], False, [d.change_request(True, True), d.response_port(5000)], (B, P))]):
        c, tid = g.client(), T()
        attrs = [(t, b"\x6e\x00\x01\xff") for t in unk] + extra
        p = d.stun(1, d.REQUEST, tid, attrs, fingerprint=fp)
        g.error(f"unknown comprehension-required attributes #{n}: "
                f"{', '.join('0x%04x' % t for t in unk[:3])}{'...' if len(unk) > 3 else ''}"
                f"{' +CHANGE-REQUEST +RESPONSE-PORT (neither applied)' if extra else ''}",
                "unknown-attr", c, at, p, struct.pack(">I", d.STUN_MAGIC) + tid, 1, 420,
                unknown=unk[:8], fp=fp)
    c, tid = g.client(), T()
    p = bytearray(d.stun(1, d.REQUEST, tid, [(0x0024, b"\x6e\x00\x01\xff")], fingerprint=True))
    p[-1] ^= 0x01
    g.dropped("unknown comprehension-required attribute with a wrong FINGERPRINT", "unknown-attr",
              g.udp_frame(c, g.srv(A, P), bytes(p)), "drop_stun_malformed",
              note="RFC 8489 7.3: a wrong FINGERPRINT is checked before 420 (silently discarded)")

    # --- 6. unknown methods: 400.
    for n, (method, fp, classic) in enumerate([(0x003, False, False), (0x003, True, False),
                                               (0xE0D, True, False), (0x002, False, True)]):
        c = g.client()
        tid = g.tid(16 if classic else 12)
        p = d.stun(method, d.REQUEST, tid, [], fingerprint=fp, classic=classic)
        idb = tid if classic else struct.pack(">I", d.STUN_MAGIC) + tid
        g.error(f"unknown method 0x{method:03x} request{' +FP' if fp else ''}"
                f"{' (RFC 3489 ID)' if classic else ''}", "unknown-method", c, COMBOS[n], p, idb,
                method, 400, fp=fp)

    # --- 7. authenticated probes.
    # Expiry is relative here: fake_control.py adds the wall clock.
    s1 = g.session("S1", 0x5A17000000000001, HOUR_MS)
    s2 = g.session("S2 (1 probe/s, burst 2)", 0x5A17000000000002, HOUR_MS, rate_pps=1, burst=2)
    s3 = g.session("S3 (expired)", 0x5A17000000000003, -60 * 1000)
    s4 = g.session("S4 (deleted)", 0x5A17000000000004, HOUR_MS)
    s5 = g.session("S5 (re-keyed)", 0x5A17000000000005, HOUR_MS)
    s5_old = bytes(g.rng.randrange(256) for _ in range(16))
    s9 = {"id": 0x5A17000000000009, "key": bytes(range(16)), "obs": []}
    seq = 100
    for kind in range(1, 6):
        seq += 1
        g.probe(f"probe S1 kind {d.PROBE_KINDS[kind]}", g.client(), COMBOS[kind % 4], s1, kind,
                seq, True)
    g.probe("probe S1 without FINGERPRINT (the answer has one)", g.client(), (B, P), s1, 2, 201,
            True, fp=False)
    g.probe("probe S1 with CHANGE-REQUEST port", g.client(), (A, P), s1, 3, 202, True,
            change=(False, True))
    ok_src = g.client()
    g.probe("probe S1: MAC with one bit flipped", ok_src, (A, P), s1, 1, 300, False,
            "drop_probe_bad_mac", key=bytes(b ^ (1 if i == 0 else 0) for i, b in
                                            enumerate(s1["key"])))
    g.probe("probe S1: MAC under another session's key", g.client(), (A, Q), s1, 1, 301, False,
            "drop_probe_bad_mac", key=s2["key"])
    g.probe("probe S1: MAC over another transaction ID", g.client(), (B, Q), s1, 1, 302, False,
            "drop_probe_bad_mac", mac_tid=bytes(12))
    g.probe("probe S1: kind 0", g.client(), (A, P), s1, 0, 303, False, "drop_probe_malformed")
    g.probe("probe S1: kind 6 (relay bind: no relay has S1's ID)", g.client(), (A, P), s1, 6,
            304, False, "drop_bind_no_relay")
    g.probe("probe S1: reply flag set in a request", g.client(), (A, P), s1, 1, 305, False,
            "drop_probe_malformed", flags=0x80)
    g.probe("probe S1: RV-PROBE of 16 bytes", g.client(), (A, P), s1, 1, 306, False,
            "drop_probe_malformed", plen=16)
    for i in range(3):
        g.probe(f"probe S2 #{i} (burst 2)", g.client(), COMBOS[i], s2, 4, 400 + i, i < 2,
                None if i < 2 else "drop_probe_rate")
    g.probe("probe S3: expired session", g.client(), (A, P), s3, 1, 500, False,
            "drop_probe_no_session")
    g.probe("probe S4: deleted session", g.client(), (A, P), s4, 1, 501, False,
            "drop_probe_no_session")
    g.probe("probe S5 under its replaced key", g.client(), (B, Q), s5, 2, 502, False,
            "drop_probe_bad_mac", key=s5_old)
    g.probe("probe S5 under its new key", g.client(), (B, Q), s5, 2, 503, True)
    g.probe("probe for an unknown session", g.client(), (A, P), s9, 1, 504, False,
            "drop_probe_no_session")
    # Not probes: RV-PROBE not first, or in an RFC 3489 message: plain Binding answers.
    c, tid = g.client(), T()
    mac = d.probe_mac(s1["key"], tid, s1["id"], 1, 0, 600)
    g.binding("RV-PROBE not first: a plain Binding, nothing recorded", "probe", c, (A, P), tid,
              extra=[(d.A_SOFTWARE, b"x"), d.probe_attr(s1["id"], 1, 0, 600, mac)], fp=True)

    # --- 8. malformed STUN.
    def raw_req(c, at, payload, name, outcome, group="malformed", note=None):
        g.dropped(name, group, g.udp_frame(c, g.srv(*at), payload), outcome, note=note)

    def bad400(name, payload, tid, at=(A, P)):
        g.error(name, "malformed", g.client(), at, payload,
                struct.pack(">I", d.STUN_MAGIC) + tid, 1, 400)

    tid = T()
    raw_req(g.client(), (A, P), d.stun(1, d.REQUEST, tid)[:19], "STUN header cut at 19 bytes",
            "drop_not_stun")
    tid = T()
    p = bytearray(d.stun(1, d.REQUEST, tid))
    p[3] = 8
    raw_req(g.client(), (A, P), bytes(p), "header length 8, no attributes", "drop_not_stun")
    tid = T()
    p = bytearray(d.stun(1, d.REQUEST, tid)) + b"\0" * 6
    p[3] = 6
    raw_req(g.client(), (B, Q), bytes(p), "header length 6 (not a multiple of 4)",
            "drop_not_stun")
    tid = T()
    p = bytearray(d.stun(1, d.REQUEST, tid))
    p[0] = 0x80
    raw_req(g.client(), (A, P), bytes(p), "top bits set", "drop_not_stun")
    tid = T()
    bad400("attribute running past the end: 400",
           d.stun(1, d.REQUEST, tid, raw_attrs=struct.pack(">HH", d.A_SOFTWARE, 12) + b"abcdefgh"),
           tid)
    tid = T()
    bad400("CHANGE-REQUEST of length 3: 400",
           d.stun(1, d.REQUEST, tid, [(d.A_CHANGE_REQUEST, b"\0\0\x06")]), tid, (B, Q))
    tid = T()
    bad400("two CHANGE-REQUESTs: 400",
           d.stun(1, d.REQUEST, tid, [d.change_request(True), d.change_request(False, True)]),
           tid, (A, Q))
    tid = T()
    p = d.stun(1, d.REQUEST, tid, [], fingerprint=True)
    p = bytearray(p + d.attr(d.A_SOFTWARE, b"late"))
    struct.pack_into(">H", p, 2, len(p) - 20)
    bad400("attribute after FINGERPRINT: 400", bytes(p), tid, (B, P))
    tid = T()
    bad400("FINGERPRINT of length 8: 400",
           d.stun(1, d.REQUEST, tid, [(d.A_FINGERPRINT, bytes(8))]), tid)
    tid = T()
    bad400("49 attributes (more than the decoder indexes): 400",
           d.stun(1, d.REQUEST, tid, [(0x8100 + i, b"") for i in range(49)]), tid)
    tid = T()
    p = bytearray(d.stun(1, d.REQUEST, tid, [], fingerprint=True))
    p[-1] ^= 0xFF
    raw_req(g.client(), (A, P), bytes(p), "wrong FINGERPRINT", "drop_stun_malformed")
    tid = T()
    raw_req(g.client(), (A, P),
            d.stun(1, d.SUCCESS, tid, raw_attrs=struct.pack(">HH", d.A_XOR_MAPPED, 40) + bytes(8)),
            "malformed Binding success response", "drop_stun_malformed")
    tid = T()
    raw_req(g.client(), (A, Q),
            d.stun(1, d.INDICATION, tid, [(d.A_CHANGE_REQUEST, b"\0")]),
            "malformed Binding indication", "drop_stun_malformed")
    for cls, label in [(d.INDICATION, "indication"), (d.SUCCESS, "success response"),
                       (d.ERROR, "error response")]:
        tid = T()
        attrs = [(d.A_ERROR_CODE, b"\0\0\x04\x00Bad Request")] if cls == d.ERROR else \
            [(d.A_XOR_MAPPED, d.addr_value("192.0.2.77", 1, xor=True))] if cls == d.SUCCESS else []
        raw_req(g.client(), (B, Q), d.stun(1, cls, tid, attrs, fingerprint=True),
                f"well-formed Binding {label}", "drop_stun_not_request")

    # --- 9. not STUN, not ours.
    c = g.client()
    raw_req(c, (A, P), b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x07example\x03com\x00"
            b"\x00\x01\x00\x01", "a DNS query to the STUN port", "drop_not_stun", group="not-stun")
    raw_req(g.client(), (B, Q), b"", "empty UDP payload", "drop_not_stun", group="not-stun")
    raw_req(g.client(), (A, Q), bytes([0xFF] + [g.rng.randrange(256) for _ in range(99)]),
            "100 random bytes", "drop_not_stun", group="not-stun")
    c, tid = g.client(), T()
    g.dropped("Binding to UDP port 3480", "not-ours",
              g.udp_frame(c, [d.SRV_IP[A], 3480], d.stun(1, d.REQUEST, tid)), "drop_not_ours_port")
    g.dropped("datagram to UDP port 53", "not-ours",
              g.udp_frame(g.client(), [d.SRV_IP[B], 53], b"\0" * 12), "drop_not_ours_port")
    c, tid = g.client(), T()
    g.dropped("Binding to 192.0.2.3 (not ours)", "not-ours",
              g.udp_frame(c, ["192.0.2.3", 3478], d.stun(1, d.REQUEST, tid)), "drop_not_ours_ip")
    c, tid = g.client(), T()
    g.dropped("Binding to 255.255.255.255", "not-ours",
              g.udp_frame(c, ["255.255.255.255", 3478], d.stun(1, d.REQUEST, tid),
                          dst_mac="ff:ff:ff:ff:ff:ff"), "drop_not_ours_ip")
    c, tid = g.client(), T()
    g.dropped("Binding to another host's MAC", "not-ours",
              g.udp_frame(c, g.srv(A, P), d.stun(1, d.REQUEST, tid), dst_mac="02:00:00:00:00:09"),
              "drop_not_ours_mac")
    c, tid = g.client(), T()
    g.dropped("Binding to a multicast MAC", "not-ours",
              g.udp_frame(c, g.srv(A, P), d.stun(1, d.REQUEST, tid), dst_mac="01:00:5e:00:00:01"),
              "drop_not_ours_mac")

    # --- 10. IP and UDP headers.
    def stun_frame(c=None, at=(A, P), **kw):
        c = c or g.client()
        return g.udp_frame(c, g.srv(*at), d.stun(1, d.REQUEST, T(), [], fingerprint=True), **kw)

    g.dropped("IP options (4 x NOP)", "ip", stun_frame(ip_kw={"options": [IPOption_NOP()] * 4}),
              "drop_ip_options")
    c = g.client()
    big = (Ether(src=c["mac"], dst=d.SRV_MAC) / IP(src=c["ip"], dst=d.SRV_IP[A], id=4321) /
           UDP(sport=c["port"], dport=3478) /
           Raw(d.stun(1, d.REQUEST, T(), [(d.A_PADDING, bytes(200))], fingerprint=True)))
    # scapy's own fragmenter, as a second opinion on dplib.ip_fragment.
    payload = bytes(big[Raw])
    _, ans, oc = g.binding_expect(c, (A, P), payload[8:20], [(d.A_PADDING, bytes(200))],
                                  fp=True, padding=200)
    frames = [bytes(Ether(src=c["mac"], dst=d.SRV_MAC) / fr)
              for fr in fragment(big[IP], fragsize=120)]
    g.train("a padded Binding in scapy's 120-byte fragments (one-frame answer)", "ip", frames,
            ["rx_frag"] * len(frames), answer=ans, also=["rx_reassembled", oc])
    g.dropped("fragment flag MF on a whole 36-byte datagram (not 8 x n)", "ip",
              stun_frame(ip_kw={"flags": "MF"}), "drop_frag_bad")
    g.add("fragment offset 8 bytes, never completed", "ip", stun_frame(ip_kw={"frag": 1}),
          "rx_frag", also=["drop_frag_timeout"],
          note="dropped --frag-timeout-ms after it came (counted then)")
    g.dropped("wrong IP checksum", "ip", stun_frame(ip_kw={"chksum": 0x1234}), "drop_ip_bad")
    g.dropped("wrong UDP checksum", "ip", stun_frame(udp_kw={"chksum": 0x1234}), "drop_udp_bad")
    g.dropped("UDP length past the IP payload", "ip", stun_frame(udp_kw={"len": 200}),
              "drop_udp_bad")
    g.dropped("UDP length 7", "ip", stun_frame(udp_kw={"len": 7}), "drop_udp_bad")
    c = g.client()
    c["port"] = 0
    g.dropped("UDP source port 0", "ip", stun_frame(c=c), "drop_udp_bad")
    g.dropped("IP total length past the frame", "ip", stun_frame(ip_kw={"len": 400}),
              "drop_ip_bad")
    g.dropped("IP total length 19", "ip", stun_frame(ip_kw={"len": 19}), "drop_ip_bad")
    g.dropped("IP version 6 in an IPv4 frame", "ip", stun_frame(ip_kw={"version": 6}),
              "drop_ip_bad")
    g.dropped("IP header length 4", "ip", stun_frame(ip_kw={"ihl": 4}), "drop_ip_bad")
    for src in ["127.0.0.1", "0.0.0.0", "224.0.0.5", "192.0.2.1"]:
        c = g.client(ip=src)
        g.dropped(f"martian source {src}", "ip", stun_frame(c=c), "drop_ip_bad")
    c = g.client()
    g.dropped("TCP SYN to the STUN port", "ip",
              bytes(Ether(src=c["mac"], dst=d.SRV_MAC) / IP(src=c["ip"], dst=d.SRV_IP[A]) /
                    TCP(sport=c["port"], dport=3478, flags="S")), "drop_proto")
    c = g.client()
    g.dropped("GRE (protocol 47)", "ip",
              bytes(Ether(src=c["mac"], dst=d.SRV_MAC) / IP(src=c["ip"], dst=d.SRV_IP[B], proto=47) /
                    Raw(bytes(8))), "drop_proto")
    c = g.client()
    g.dropped("IPv6 UDP to the STUN port", "l2",
              bytes(Ether(src=c["mac"], dst=d.SRV_MAC) / IPv6(src="2001:db8::1", dst="2001:db8::2") /
                    UDP(sport=c["port"], dport=3478) / Raw(d.stun(1, d.REQUEST, T()))),
              "drop_ipv6")
    c = g.client()
    g.dropped("VLAN-tagged Binding", "l2",
              bytes(Ether(src=c["mac"], dst=d.SRV_MAC) / Dot1Q(vlan=7) /
                    IP(src=c["ip"], dst=d.SRV_IP[A]) / UDP(sport=c["port"], dport=3478) /
                    Raw(d.stun(1, d.REQUEST, T()))), "drop_ethertype")
    c = g.client()
    g.dropped("jumbo frame of 2966 bytes (net_pcap hands it over as chained mbufs)", "l2",
              g.udp_frame(c, g.srv(A, P), d.stun(1, d.REQUEST, T(), [(d.A_SOFTWARE, b"j" * 2900)])),
              "drop_too_big", note="rx, drop_too_big and bytes_in all count it")
    g.dropped("runt frame of 10 bytes", "l2", bytes.fromhex("020000000001") + bytes(4),
              "drop_short")
    c = g.client()
    g.dropped("IPv4 header cut at 10 bytes", "l2",
              stun_frame(c=c)[:24], "drop_short")
    g.dropped("ARP cut at 20 bytes", "l2",
              bytes(Ether(src=c["mac"], dst="ff:ff:ff:ff:ff:ff") /
                    ARP(op=1, hwsrc=c["mac"], psrc=c["ip"], pdst=d.SRV_IP[A]))[:34], "drop_short")

    # --- 10b. IPv4 fragments: RFC 5780 PADDING as turnutils_natdiscovery -P sends
    # it (1500 bytes: a request of ~1.5 KB in two pieces on a 1500 MTU, and an
    # answer mirroring it, also in pieces), and hostile trains.
    def padded_train(name, at, change=(False, False), fp=True, padding=1500, size=1480,
                     shuffle=False, reverse=False, dup=None):
        c, tid = g.client(), T()
        extra = [d.change_request(*change)] if any(change) else []
        extra.append((d.A_PADDING, bytes(padding)))
        payload, ans, oc = g.binding_expect(c, at, tid, extra, fp=fp, change=change,
                                            padding=padding)
        frames = g.pieces(c, g.srv(*at), payload, size=size)
        if reverse:
            frames.reverse()
        if shuffle:
            g.rng.shuffle(frames)
        outs = ["rx_frag"] * len(frames)
        if dup is not None:
            frames.insert(dup + 1, frames[dup])
            outs.insert(dup + 1, "drop_frag_dup")
        g.train(name, "frag", frames, outs, answer=ans, also=["rx_reassembled", oc])

    padded_train("PADDING 1500 +FP in 2 fragments, in order", (A, P))
    padded_train("PADDING 1500 +FP in 2 fragments, reversed", (A, P), reverse=True)
    padded_train("PADDING 1500 +FP with CHANGE-REQUEST ip+port, reversed", (A, Q),
                 change=(True, True), reverse=True)
    padded_train("PADDING 1500 with CHANGE-REQUEST port (no FP), in order", (B, P),
                 change=(False, True), fp=False)
    padded_train("PADDING 1500 +FP with CHANGE-REQUEST ip, in order", (B, Q), change=(True, False))
    padded_train("PADDING 2900 in 576-byte fragments, shuffled", (B, Q), padding=2900, size=576,
                 shuffle=True)
    padded_train("PADDING 1500 with its first piece duplicated", (A, P), dup=0)

    def binding_payload(c, padding, fp=True):
        return d.stun(1, d.REQUEST, T(), [(d.A_PADDING, bytes(padding))], fingerprint=fp)

    c = g.client()
    p = binding_payload(c, 1500)
    g.train("overlapping fragments (the second starts 8 bytes inside the first)", "frag",
            g.pieces(c, g.srv(A, P), p, cuts=[(0, 1480, True), (1472, len(p) + 8 - 1472, False)]),
            ["rx_frag", "drop_frag_overlap"], note="the whole train is dropped (RFC 5722's rule)")
    c = g.client()
    g.train("incomplete train: the first of 2 fragments only", "frag",
            g.pieces(c, g.srv(B, P), binding_payload(c, 1500))[:1], ["rx_frag"],
            also=["drop_frag_timeout"], note="dropped --frag-timeout-ms after it came")
    c = g.client()
    g.train("a middle fragment of 100 bytes (not 8 x n)", "frag",
            g.pieces(c, g.srv(A, P), binding_payload(c, 1500), cuts=[(0, 100, True)]),
            ["drop_frag_bad"])
    c = g.client()
    g.train("a 10008-byte datagram: the 7th fragment passes --frag-max-size 9000", "frag",
            g.pieces(c, g.srv(A, P), bytes(range(256)) * 39 + bytes(16)),
            ["rx_frag"] * 6 + ["drop_frag_too_big"], note="the whole train is dropped")
    c = g.client()
    g.train("PADDING 8940: an 8992-byte request, its answer past 9000", "frag",
            g.pieces(c, g.srv(A, Q), binding_payload(c, 8940, fp=False)), ["rx_frag"] * 7,
            also=["rx_reassembled", "drop_too_big"])
    c = g.client()
    g.train("16-byte fragments: the 9th passes --frag-max-frags 8", "frag",
            g.pieces(c, g.srv(A, P), d.stun(1, d.REQUEST, T(), [(d.A_SOFTWARE, b"s" * 200)]),
                     size=16)[:9],
            ["rx_frag"] * 8 + ["drop_frag_too_many"], note="the whole train is dropped")
    c = g.client()
    g.train("a fragmented ICMP echo", "frag",
            g.pieces(c, g.srv(B, Q), None, l4=ICMP(type=8, id=0x4242, seq=1) / Raw(bytes(2000))),
            ["drop_frag_proto"] * 2)
    c = g.client()
    g.train("3000 random bytes to the STUN port in 3 fragments (not STUN)", "frag",
            g.pieces(c, g.srv(A, P), bytes(g.rng.randrange(256) for _ in range(3000))),
            ["rx_frag"] * 3, also=["rx_reassembled", "drop_not_stun"])
    c = g.client()
    g.train("a fragmented datagram to UDP port 53", "frag",
            g.pieces(c, [d.SRV_IP[B], 53], bytes(2000)), ["rx_frag"] * 2,
            also=["rx_reassembled", "drop_not_ours_port"])
    c = g.client()
    fr = g.pieces(c, g.srv(A, P), binding_payload(c, 1500))
    fr[1] = fr[1][:24] + bytes([fr[1][24] ^ 0x5A]) + fr[1][25:]
    g.train("a fragment with a wrong IP checksum", "frag", fr, ["rx_frag", "drop_ip_bad"],
            also=["drop_frag_timeout"], note="its first piece then times out")
    c = g.client()
    reg = d.stun(0xE03, d.REQUEST, T(), [VERSION, (d.A_RV_TICKET, bytes(range(256)) * 6),
                                         (d.A_RV_TIME, struct.pack(">Q", 1795000000000))],
                 fingerprint=True)
    g.train("a 1.6 KB REGISTER in 2 fragments: punted whole", "frag",
            g.pieces(c, g.srv(B, Q), reg), ["rx_frag"] * 2,
            punt={"src": [c["ip"], c["port"]], "dst": g.srv(B, Q), "mac": c["mac"],
                  "payload": reg.hex()},
            also=["rx_reassembled", "punt"])

    # --- 11. ARP and ICMP: a normal host on its segment.
    def arp_req(c, target, op=1, dst="ff:ff:ff:ff:ff:ff", pad=0):
        return bytes(Ether(src=c["mac"], dst=dst) /
                     ARP(op=op, hwsrc=c["mac"], psrc=c["ip"], hwdst="00:00:00:00:00:00",
                         pdst=target)) + bytes(pad)

    for n, (target, pad, dst) in enumerate([(d.SRV_IP[A], 0, "ff:ff:ff:ff:ff:ff"),
                                            (d.SRV_IP[B], 0, "ff:ff:ff:ff:ff:ff"),
                                            (d.SRV_IP[A], 18, "ff:ff:ff:ff:ff:ff"),
                                            (d.SRV_IP[B], 0, d.SRV_MAC)]):
        c = g.client()
        fr = arp_req(c, target, dst=dst, pad=pad)
        g.add(f"ARP who-has {target}{' (padded to 60)' if pad else ''}"
              f"{' (unicast)' if dst == d.SRV_MAC else ''}", "arp", fr, "tx_arp",
              {"kind": "arp", "eth_dst": c["mac"], "eth_src": d.SRV_MAC, "len": len(fr),
               "arp": {"sha": d.SRV_MAC, "spa": target, "tha": c["mac"], "tpa": c["ip"]}})
    g.dropped("ARP who-has 192.0.2.99 (not ours)", "arp", arp_req(g.client(), "192.0.2.99"),
              "drop_arp_other")
    g.dropped("ARP reply about our address", "arp",
              arp_req(g.client(), d.SRV_IP[A], op=2, dst=d.SRV_MAC), "drop_arp_other")

    def icmp_frame(c, dst_ip, itype=8, ident=0, seq=0, payload=b"", chksum=None, pad=0):
        ic = ICMP(type=itype, id=ident, seq=seq)
        if chksum is not None:
            ic.chksum = chksum
        return bytes(Ether(src=c["mac"], dst=d.SRV_MAC) / IP(src=c["ip"], dst=dst_ip) / ic /
                     Raw(payload)) + bytes(pad)

    for n, (ip_idx, payload, pad) in enumerate([(A, b"rvdp ping " * 5, 0), (B, b"", 18),
                                                (B, bytes(range(64)), 0)]):
        c = g.client()
        ident, seq = 0x4000 + n, n + 1
        fr = icmp_frame(c, d.SRV_IP[ip_idx], 8, ident, seq, payload, pad=pad)
        g.add(f"ICMP echo to {d.SRV_IP[ip_idx]} ({len(payload)} bytes{', padded frame' if pad else ''})",
              "icmp", fr, "tx_icmp_echo",
              {"kind": "icmp", "eth_dst": c["mac"], "eth_src": d.SRV_MAC,
               "ip_src": d.SRV_IP[ip_idx], "ip_dst": c["ip"], "len": len(fr) - pad,
               "icmp": {"id": ident, "seq": seq, "payload": payload.hex()}})
    c = g.client()
    g.dropped("ICMP echo with a wrong checksum", "icmp",
              icmp_frame(c, d.SRV_IP[A], 8, 0x4100, 1, b"x", chksum=0x1234), "drop_ip_bad")
    g.dropped("ICMP timestamp request", "icmp", icmp_frame(g.client(), d.SRV_IP[A], 13, 0x4101, 1,
                                                          bytes(12)), "drop_icmp_other")
    g.dropped("ICMP echo reply", "icmp", icmp_frame(g.client(), d.SRV_IP[B], 0, 0x4102, 1, b"y"),
              "drop_icmp_other")
    g.dropped("ICMP echo to a foreign address", "icmp",
              icmp_frame(g.client(), "192.0.2.99", 8, 0x4103, 1, b"z"), "drop_not_ours_ip")

    # --- 12. project control messages: punted to rvcontrol, never answered.
    def project(method, cls, attrs, fp=True):
        return d.stun(method, cls, T(), [VERSION] + attrs, fingerprint=fp)

    rnd = lambda n: bytes(g.rng.randrange(256) for _ in range(n))  # noqa: E731
    g.punted("HELLO request", g.client(), (A, P),
             project(0xE01, d.REQUEST, [(d.A_RV_DEVICE_ID, b"device-0001")]))
    g.punted("REGISTER request", g.client(), (B, Q),
             project(0xE03, d.REQUEST, [(d.A_RV_TICKET, rnd(128)),
                                        (d.A_RV_TIME, struct.pack(">Q", 1795000000000)),
                                        (0x001C, rnd(32))]))
    g.punted("LOOKUP request", g.client(), (A, Q),
             project(0xE06, d.REQUEST, [(d.A_RV_SESSION, rnd(8)), (d.A_RV_LOCATOR, rnd(16)),
                                        (0x001C, rnd(32))]))
    g.punted("INSTRUCT success response", g.client(), (B, P),
             project(0xE0B, d.SUCCESS, [(d.A_RV_ATTEMPT, rnd(8))]))
    g.punted("CONNECT error response", g.client(), (A, P),
             project(0xE0A, d.ERROR, [(d.A_ERROR_CODE, b"\0\0\x04\x00Bad Request")]))
    c = g.client()
    fr = bytearray(g.udp_frame(c, g.srv(A, P), project(0xE01, d.REQUEST,
                                                       [(d.A_RV_DEVICE_ID, b"device-0002")])))
    fr[40] ^= 0x5A
    g.dropped("HELLO with a wrong UDP checksum (not punted)", "punt", bytes(fr), "drop_udp_bad")

    # --- 13. the per-source budget (run with --rl-src-bytes-rate 1: no refill to
    # speak of). Default burst 1024 bytes of excess; a 20-byte request draws a
    # 56-byte answer (36 excess): 28 answers, then only answers no larger than
    # their request.
    ip = g.new_ip()
    for i in range(30):
        c, tid = g.client(ip=ip), T()
        if i < 28:
            g.binding(f"budget: Binding #{i} from {ip}", "budget", c, (A, P), tid)
        else:
            g.dropped(f"budget: Binding #{i} from {ip} (budget spent)", "budget",
                      g.udp_frame(c, g.srv(A, P), d.stun(1, d.REQUEST, tid)), "drop_rl_src_bytes")
    g.binding(f"budget: Binding from {ip} larger than its answer", "budget", g.client(ip=ip),
              (A, P), T(), extra=[(d.A_SOFTWARE, b"s" * 100)])
    c, tid = g.client(ip=ip), T()
    g.dropped(f"budget: padded Binding from {ip} (would amplify)", "budget",
              g.udp_frame(c, g.srv(A, P), d.stun(1, d.REQUEST, tid, [(d.A_PADDING, bytes(8))])),
              "drop_rl_src_bytes")

    # --- 14. relays, phase 0: binds (proto/WIRE.md "Relaying"). R1 is the main
    # one (A caller, B callee), R2 has only its caller bound, R3 a tiny byte
    # quota, R4 one datagram a second, R5 expired before the test.
    r1 = g.relay("R1", 0x7E1A000000000001, 0x4123)
    r2 = g.relay("R2 (callee never binds)", 0x7E1A000000000002, 0x4456)
    r3 = g.relay("R3 (100 bytes)", 0x7E1A000000000003, 0x4789, quota_bytes=100)
    r4 = g.relay("R4 (1 datagram/s, burst 1)", 0x7E1A000000000004, 0x4ABC, rate_pps=1, burst=1)
    r5 = g.relay("R5 (expired 5 s ago)", 0x7E1A000000000005, 0x4DEF, expires_in_ms=-5000)
    r5["flags"] = d.DPC_RELAY_EXPIRED  # still there (it lingers) to say so
    pa, pb, px = g.client(), g.client(), g.client()
    a2, a3, b3, a4, b4, a5 = (g.client() for _ in range(6))
    g.relay_bind("R1 bind: caller A", pa, r1, 0)
    g.relay_bind("R1 bind: callee side from a stranger, MAC under R2's key", px, r1, 1,
                 "drop_bind_bad_mac", key=r2["key"])
    g.relay_bind("R1 bind: callee B", pb, r1, 1)
    g.relay_bind("R1 bind: caller A again (renewal)", pa, r1, 0)
    g.relay_bind("R1 bind: flags 0x02", pa, r1, 0, "drop_bind_flags", flags=0x02)
    g.relay_bind("R1 bind: at the alternate address", pa, r1, 0, "drop_relay_addr", at=(B, P))
    g.relay_bind("R1 bind: at the alternate port", pa, r1, 0, "drop_relay_addr", at=(A, Q))
    g.relay_bind("R2 bind: caller", a2, r2, 0)
    g.relay_bind("R3 bind: caller", a3, r3, 0)
    g.relay_bind("R3 bind: callee", b3, r3, 1)
    g.relay_bind("R4 bind: caller", a4, r4, 0)
    g.relay_bind("R4 bind: callee", b4, r4, 1)
    g.relay_bind("R5 bind: expired relay", a5, r5, 0, "drop_bind_no_relay")
    g.relay_bind("bind for a relay never granted", a5, {"id": 0x7E1A0000000000FF,
                                                        "key": bytes(16)}, 0,
                 "drop_bind_no_relay")
    def sentinel(n):
        return project(0xE01, d.REQUEST, [(d.A_RV_DEVICE_ID, b"sentinel %d" % n)])

    g.end_phase("phase 0", sentinel(0))
    steps = [{"op": "frames", "phase": 0}]
    steps += [g.relay_query(r) for r in (r1, r2, r3, r4)]

    # --- 15. phase 1: ChannelData, both ways and every refusal.
    g.chdata("R1 A -> B, 100 bytes", pa, r1["channel"], 100, to=pb, r=r1, side=0)
    g.chdata("R1 B -> A, 1200 bytes (the largest peer datagram)", pb, r1["channel"], 1200,
             to=pa, r=r1, side=1)
    g.chdata("R1 A -> B, no data", pa, r1["channel"], 0, to=pb, r=r1, side=0)
    g.chdata("R1 A -> B sent without a UDP checksum (leaves with one)", pa, r1["channel"], 33,
             to=pb, r=r1, side=0, udp_kw={"chksum": 0})
    g.chdata("R1's channel from a stranger", px, r1["channel"], 50,
             outcome="drop_relay_no_route")
    g.chdata("A on R2's channel (a third party's)", pa, r2["channel"], 50,
             outcome="drop_relay_no_route")
    g.chdata("R2 caller -> an unbound callee", a2, r2["channel"], 50,
             outcome="drop_relay_unbound")
    g.chdata("R1 A: ChannelData whose length runs past the datagram", pa, r1["channel"], 20,
             length=50, outcome="drop_relay_malformed")
    g.chdata("R1 A -> B at the alternate address", pa, r1["channel"], 20, at=(B, P),
             outcome="drop_relay_addr")
    g.chdata("R3 caller -> callee, 60 of 100 bytes", a3, r3["channel"], 60, to=b3, r=r3, side=0)
    g.chdata("R3 callee -> caller, 60 more: over the quota", b3, r3["channel"], 60, r=r3,
             side=1, outcome="drop_relay_over_bytes")
    g.chdata("R4 caller -> callee, its one datagram", a4, r4["channel"], 10, to=b4, r=r4,
             side=0)
    g.chdata("R4 caller -> callee, at once again: over the rate", a4, r4["channel"], 10, r=r4,
             side=0, outcome="drop_relay_over_rate")
    g.end_phase("phase 1", sentinel(1))
    steps += [{"op": "frames", "phase": 1}]
    steps += [g.relay_query(r) for r in (r1, r2, r3, r4, r5)]
    steps += [g.relay_query({"name": "never granted", "id": 0x7E1A0000000000FF}, status=-2)]

    # --- 16. phase 2: RELAY_DEL R1 (fenced by a query that finds nothing).
    steps += [{"op": "relay_del", "name": r1["name"], "relay": r1["id"]},
              g.relay_query(r1, status=-2)]
    g.chdata("R1 A -> B after RELAY_DEL", pa, r1["channel"], 40, outcome="drop_relay_no_route")
    g.chdata("R1 B -> A after RELAY_DEL", pb, r1["channel"], 40, outcome="drop_relay_no_route")
    g.chdata("R2 caller -> callee, still unbound", a2, r2["channel"], 40,
             outcome="drop_relay_unbound")
    g.end_phase("phase 2", sentinel(2))
    steps += [{"op": "frames", "phase": 2}, {"op": "obs"}]

    # --- 17. phase 3: FLUSH forgets sessions and relays alike.
    steps += [{"op": "flush"}] + [g.relay_query(r, status=-2) for r in (r2, r3, r4, r5)]
    g.chdata("R3 caller -> callee after FLUSH", a3, r3["channel"], 10,
             outcome="drop_relay_no_route")
    g.chdata("R2 caller -> callee after FLUSH", a2, r2["channel"], 10,
             outcome="drop_relay_no_route")
    g.relay_bind("R4 bind after FLUSH", a4, r4, 0, "drop_bind_no_relay")
    g.probe("probe S1 after FLUSH", g.client(), (A, P), s1, 1, 700, False, "drop_probe_no_session")
    g.end_phase("phase 3", sentinel(3))
    steps += [{"op": "frames", "phase": 3}, {"op": "close"}, {"op": "sends"}]

    # --- the control socket's part.
    send_payload = project(0xE01, d.SUCCESS, [(d.A_RV_TIME, struct.pack(">Q", 1795000000000))])
    send_dst = g.client()
    control = {
        "hello": {"primary": g.srv(A, P), "alternate": g.srv(B, Q)},
        "ops": [], "obs": [], "phases": g.phases, "steps": steps,
        "relays": [{"name": r["name"], "relay": r["id"], "key": r["key"].hex(),
                    "channel": r["channel"], "expires_in_ms": r["expires_in_ms"],
                    "quota_bytes": r["quota_bytes"], "rate_pps": r["rate_pps"],
                    "burst": r["burst"]} for r in g.relays],
        "sends": [
            {"name": "SEND from the alternate address", "accepted": True,
             "path": {"port": 0, "queue": 0, "mac": send_dst["mac"]},
             "src": g.srv(B, Q), "dst": [send_dst["ip"], send_dst["port"]],
             "payload": send_payload.hex()},
            {"name": "SEND from an address that is not ours (refused)", "accepted": False,
             "path": {"port": 0, "queue": 0, "mac": send_dst["mac"]},
             "src": ["192.0.2.9", 3478], "dst": [send_dst["ip"], send_dst["port"]],
             "payload": project(0xE01, d.SUCCESS, []).hex()},
            {"name": "SEND from our address but port 3480 (refused)", "accepted": False,
             "path": {"port": 0, "queue": 0, "mac": send_dst["mac"]},
             "src": [d.SRV_IP[A], 3480], "dst": [send_dst["ip"], send_dst["port"]],
             "payload": project(0xE01, d.SUCCESS, []).hex()},
        ]}
    for name, s in g.sessions.items():
        key = s5_old if s is s5 else s["key"]
        control["ops"].append({"op": "set", "name": name, "session": s["id"], "key": key.hex(),
                               "expires_in_ms": s["expires"], "rate_pps": s["rate_pps"],
                               "burst": s["burst"]})
    control["ops"].append({"op": "set", "name": "S5 new key", "session": s5["id"],
                           "key": s5["key"].hex(), "expires_in_ms": HOUR_MS, "rate_pps": 0,
                           "burst": 0})
    control["ops"].append({"op": "del", "name": "S4", "session": s4["id"]})
    for name, s in list(g.sessions.items()) + [("unknown session", s9)]:
        gone = s in (s4, s9)
        control["obs"].append({"name": name, "session": s["id"], "obs": s["obs"],
                               "status": [-2] if gone else ([0, -2] if s is s3 else [0])})

    # --- counters
    counters = {}
    for c in g.cases:
        for name in [c["outcome"]] + c.get("also", []):
            counters[name] = counters.get(name, 0) + 1
    counters["rx"] = len(g.cases)
    counters["bytes_in"] = sum(c["len"] for c in g.cases)
    counters["bytes_out"] = sum(wire_len(c["answer"]) for c in g.cases if c["answer"])
    counters["relay_bytes"] = sum(c.get("relay_bytes", 0) for c in g.cases)
    binds = [c for c in g.cases if c["outcome"] == "tx_relay_bind"]
    renewals = sum(1 for c in binds if "renewal" in c["name"])
    extra = {"punt_sent": counters.get("punt", 0), "punt_no_control": 0,
             "ctl_send_ok": sum(1 for s in control["sends"] if s["accepted"]),
             "ctl_send_bad": sum(1 for s in control["sends"] if not s["accepted"]),
             "relay_bound": len(binds) - renewals, "relay_rebound": renewals,
             "relay_bind_gone": 0}
    return g, {"server": {"mac": d.SRV_MAC, "ip": d.SRV_IP, "port": d.SRV_PORT},
               "rvdp_args": ["--rl-src-bytes-rate", "1", "--frag-timeout-ms", "200",
                             "--frag-max-frags", "8", "--burst", str(BURST)],
               "cases": g.cases, "control": control, "counters": counters, "extra": extra}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True, help="directory for in.pcap and expect.json")
    ap.add_argument("--seed", type=int, default=5780)
    a = ap.parse_args()
    g, exp = build(a.seed)
    frames = [bytes.fromhex(c["frame"]) for c in g.cases]
    d.pcap_write(os.path.join(a.out, "in.pcap"), frames)
    with open(os.path.join(a.out, "expect.json"), "w") as f:
        json.dump(exp, f, indent=1)
    groups = {}
    for c in g.cases:
        groups[c["group"]] = groups.get(c["group"], 0) + 1
    print("gen_pcap: %d frames (%s), %d answers and %d punts expected" % (
        len(g.cases), ", ".join("%s %d" % kv for kv in groups.items()),
        sum(1 for c in g.cases if c["answer"]), sum(1 for c in g.cases if c["punt"])))


if __name__ == "__main__":
    main()
