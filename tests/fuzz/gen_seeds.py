#!/usr/bin/python3
"""gen_seeds.py — the fuzz harnesses' seed corpora (tests/fuzz/corpus/NAME/).

    /usr/bin/python3 tests/fuzz/gen_seeds.py

Rewrites every seed-* file (what the fuzzer and the committed regress-* and
min-* files add is left alone), deterministically, in each harness's input
format (the comment at the top of tests/fuzz/fuzz_NAME.c):
  stun    RFC 5769's four vectors (tests/vectors/rfc5769), the STUN payloads
          of rvdp's pcap suite (tests/dp/gen_pcap.py), RFC 3489 requests
  msg     every project message allowed by proto/msg.c's rules (each field
          with a valid value), the probes and punted messages of the suite
  dp      the suite's frames, one per outcome and group, fragment trains
          whole; frames of the load scenarios (pktgen-scenarios/); relay
          binds and ChannelData for the harness's own relays
  ipfrag  the suite's fragment trains, and trains built from fields
  nat     each natbox preset with outbound, inbound, ICMP, fragmented,
          hairpinned and ARP traffic
  peer    an attempt per strategy and role, probes answered, timers
  conf, dpctl, pdg, relay, ticket: valid messages of every kind
Needs Debian's python3-scapy (tests/dp/gen_pcap.py); run with /usr/bin/python3.
"""
import glob
import json
import os
import re
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "dp"))
import dplib as d  # noqa: E402

CORPUS = os.path.join(HERE, "corpus")
seeds = {}


def seed(harness, name, data):
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-")[:60]
    box = seeds.setdefault(harness, {})
    base, n = name, 1
    while name in box and box[name] != data:
        n += 1
        name = "%s-%d" % (base, n)
    box[name] = bytes(data)


def u8(v):
    return struct.pack(">B", v & 0xFF)


def u16(v):
    return struct.pack(">H", v & 0xFFFF)


def u32(v):
    return struct.pack(">I", v & 0xFFFFFFFF)


def u64(v):
    return struct.pack(">Q", v & (2**64 - 1))


def chunk(b):
    return u16(len(b)) + bytes(b)


def hexfile(path):
    text = open(path).read()
    return bytes.fromhex(" ".join(ln.split("#")[0] for ln in text.splitlines()))


# --- the pcap suite's frames -----------------------------------------------------

def suite():
    out = tempfile.mkdtemp(prefix="rv-seeds-")
    subprocess.run([sys.executable, os.path.join(ROOT, "tests", "dp", "gen_pcap.py"),
                    "--out", out], check=True, stdout=subprocess.DEVNULL)
    cases = json.load(open(os.path.join(out, "expect.json")))["cases"]
    frames = d.pcap_read(os.path.join(out, "in.pcap"))
    return cases, frames, out


def is_frag(f):
    return len(f) >= 34 and f[12:14] == b"\x08\x00" and \
        struct.unpack_from(">H", f, 20)[0] & 0x3FFF != 0


def udp_payload(f):
    if len(f) < 42 or f[12:14] != b"\x08\x00" or f[14] != 0x45 or f[23] != 17 or is_frag(f):
        return None
    return f[42:]


# --- stun ------------------------------------------------------------------------------

def gen_stun(payloads):
    for p in sorted(glob.glob(os.path.join(ROOT, "tests", "vectors", "rfc5769", "*.hex"))):
        v = hexfile(p)
        seed("stun", "rfc5769-" + os.path.basename(p)[:-4], b"\x00" + v)
        seed("stun", "rfc5769-sha256-" + os.path.basename(p)[:-4], b"\x06" + v)
    tid = bytes(range(1, 13))
    seed("stun", "binding", b"\x00" + d.stun(1, d.REQUEST, tid))
    seed("stun", "binding-fp", b"\x00" + d.stun(1, d.REQUEST, tid, fingerprint=True))
    seed("stun", "classic", b"\x01" + d.stun(1, d.REQUEST, bytes(range(16)), classic=True))
    seed("stun", "change-padding", b"\x00" + d.stun(1, d.REQUEST, tid, [
        d.change_request(True, True), d.response_port(9), (d.A_PADDING, bytes(13))],
        fingerprint=True))
    seed("stun", "error-420", b"\x08" + d.stun(1, d.ERROR, tid, [
        (d.A_ERROR_CODE, b"\0\0\x04\x14Unknown Attribute"),
        (d.A_UNKNOWN_ATTRIBUTES, b"\x00\x24\x00\x25")]))
    seed("stun", "success-v6", b"\x00" + d.stun(1, d.SUCCESS, tid, [
        (d.A_XOR_MAPPED, b"\0\x02\x12\x34" + bytes(range(16))),
        (d.A_MAPPED, b"\0\x01\x12\x34\x01\x02\x03\x04"),
        (d.A_OTHER_ADDRESS, b"\0\x01\x0d\x97\xc0\x00\x02\x02"),
        (d.A_SOFTWARE, b"rendezvous")]))
    seen = set()
    for p in payloads:
        if p[:1] in (b"\x00", b"\x01") and len(p) >= 20 and p not in seen and len(seen) < 40:
            seen.add(p)
            seed("stun", "suite-%d" % len(seen), b"\x01" + p)


# --- msg: every (method, class) of proto/msg.c's rules, every field valid -----------

F = ["VERSION", "DEVICE_ID", "NONCE", "SIGNATURE", "PUBKEY", "TICKET", "LOCATOR", "SESSION",
     "LIFETIME", "TIME", "HOST_ADDRS", "NAT", "APP_ID", "COMMUNITY", "NICKNAME", "REQUIRE",
     "COUNT", "OFFSET", "LOCATORS", "PRESENCE", "GROUP_OP", "GROUP_ID", "PEERS", "VIA",
     "ATTEMPT", "ROLE", "PEER_ADDR", "TARGET", "RANGE", "DELTA", "TTL", "PORTS", "RESULT",
     "DEADLINE", "PROBE", "KEY", "RELAY"]
PEER = bytes(range(16)) + b"\x01\x01\x12\x34\xde\xad\xbe\xef" + bytes(12) + b"\x01\x05\0\0" + \
    b"alice".ljust(24, b"\0")
VALUE = {
    "VERSION": b"\x01\0\0\0", "DEVICE_ID": b"SN-0001", "NONCE": bytes(range(32)),
    "SIGNATURE": bytes(range(64)), "PUBKEY": bytes(range(32, 64)), "TICKET": bytes(128),
    "LOCATOR": b"LOCATOR-16-BYTES", "SESSION": u64(0x5A17000000000001), "LIFETIME": u32(600),
    "TIME": u64(1795000000000), "HOST_ADDRS": b"\0\x01\x12\x34" + bytes(range(16)),
    "NAT": bytes([5, 3, 3, 2]) + u16(2) + b"\x01\0" + u16(60) + u16(10), "APP_ID": b"game",
    "COMMUNITY": b"\x01\0\0\0" + u16(1) + u16(0) + u32(5), "NICKNAME": b"alice",
    "REQUIRE": u16(1) + u16(0) + u32(1) + u32(9), "COUNT": u32(4), "OFFSET": u32(0),
    "LOCATORS": bytes(range(16)) * 2, "PRESENCE": u32(1), "GROUP_OP": b"\x02\0\0\0",
    "GROUP_ID": b"g1", "PEERS": PEER, "VIA": bytes(range(16)), "ATTEMPT": u64(0xA77E000000000001),
    "ROLE": b"\x01\x02\0\0", "PEER_ADDR": b"\0\x01\x12\x34\x01\x02\x03\x04",
    "TARGET": u16(1000) + u16(1010) + u16(1) + u16(11),
    "RANGE": u16(2000) + u16(2020) + u16(2) + u16(11), "DELTA": u16(2) + u16(0),
    "TTL": b"\x02\0\0\0", "PORTS": u16(1000) + u16(1002), "RESULT": b"\0\x02\0\0" + u32(40) + u32(9),
    "DEADLINE": u32(15000), "PROBE": u64(0x5A17000000000001) + b"\x01\0" + u16(7) + bytes(8),
    "KEY": bytes(range(16)),
    "RELAY": u64(0x7E1A000000000001) + u16(0x4123) + b"\0\0" + u64(1 << 30) + u32(3600) + u32(2000),
}
B = {f: 1 << i for i, f in enumerate(F)}
MAPPED, ERROR = 1 << 37, 1 << 38


def bits(*names):
    v = 0
    for n in names:
        v |= MAPPED if n == "MAPPED" else B[n]
    return v


PROFILE = ("HOST_ADDRS", "NAT", "APP_ID", "COMMUNITY", "NICKNAME")
RULES = [  # proto/msg.c: method, class, required, optional
    (0x001, 0, ("PROBE",), ()), (0x001, 2, ("PROBE", "MAPPED"), ()),
    (0xE01, 0, ("VERSION", "DEVICE_ID"), ()), (0xE01, 2, ("VERSION", "NONCE", "TIME"), ()),
    (0xE02, 0, ("VERSION", "DEVICE_ID", "NONCE", "PUBKEY", "SIGNATURE"), ()),
    (0xE02, 2, ("VERSION", "LOCATOR", "TICKET", "LIFETIME"), ("PUBKEY", "TIME")),
    (0xE03, 0, ("VERSION", "TICKET", "TIME"), PROFILE + ("GROUP_ID",)),
    (0xE03, 2, ("VERSION", "SESSION", "LIFETIME", "MAPPED"), ("TIME",)),
    (0xE04, 0, ("VERSION", "SESSION", "TIME"), PROFILE),
    (0xE04, 2, ("VERSION", "LIFETIME", "MAPPED"), ("TIME",)),
    (0xE05, 0, ("VERSION", "SESSION"), ()), (0xE05, 2, ("VERSION",), ()),
    (0xE06, 0, ("VERSION", "SESSION", "LOCATOR"), ()), (0xE06, 2, ("VERSION", "PEERS"), ()),
    (0xE07, 0, ("VERSION", "SESSION", "LOCATORS"), ()), (0xE07, 2, ("VERSION", "PRESENCE"), ()),
    (0xE08, 0, ("VERSION", "SESSION", "GROUP_OP", "GROUP_ID"), ("OFFSET",)),
    (0xE08, 2, ("VERSION",), ("GROUP_ID", "PEERS", "COUNT", "OFFSET")),
    (0xE09, 0, ("VERSION", "SESSION"), ("REQUIRE", "APP_ID", "COUNT")),
    (0xE09, 2, ("VERSION", "PEERS"), ("VIA", "COUNT")),
    (0xE0A, 0, ("VERSION", "SESSION", "LOCATOR"), ("ROLE",)),
    (0xE0A, 2, ("VERSION", "ATTEMPT"), ("ROLE",)),
    (0xE0B, 0, ("VERSION", "ATTEMPT", "ROLE"), ("KEY", "LOCATOR", "PEER_ADDR", "NAT", "TARGET",
                                               "RANGE", "DELTA", "TTL", "DEADLINE", "PORTS",
                                               "COUNT", "RELAY", "RESULT")),
    (0xE0B, 2, ("VERSION", "ATTEMPT"), ()),
    (0xE0C, 0, ("VERSION", "SESSION", "ATTEMPT"), ("PORTS", "TARGET", "RANGE", "DELTA", "RESULT",
                                                   "NAT")),
    (0xE0C, 2, ("VERSION", "ATTEMPT"), ()),
]


def message(method, cls, fields, tid=bytes(range(12))):
    attrs = []
    for f in fields:
        if f == "MAPPED":
            attrs.append((d.A_XOR_MAPPED, b"\0\x01\x12\x34\x01\x02\x03\x04"))
        elif f == "ERROR":
            attrs.append((d.A_ERROR_CODE, b"\0\0\x04\x46Bad Ticket"))
        else:
            attrs.append((0xC700 + F.index(f), VALUE[f]))
    return d.stun(method, cls, tid, attrs, fingerprint=True)


def gen_msg(payloads):
    for method, cls, req, opt in RULES:
        name = "m%03x-c%d" % (method, cls)
        seed("msg", name + "-required", b"\x00" + message(method, cls, req))
        if opt:
            seed("msg", name + "-all", b"\x02" + message(method, cls, req + opt))
        # The same from a struct: method, class, present, then zeros.
        seed("msg", name + "-struct", b"\x01" + u16(method) + u8(cls) + u64(bits(*(req + opt))) +
             b"\x01")
    for method in (0xE01, 0xE03, 0xE0B):
        seed("msg", "m%03x-error" % method, b"\x00" + message(method, 3, ("ERROR", "VERSION")))
    n = 0
    for p in payloads:
        if len(p) >= 20 and p[4:8] == u32(d.STUN_MAGIC) and n < 20:
            m, _ = d.stun_method_cls(struct.unpack_from(">H", p, 0)[0])
            if 0xE01 <= m <= 0xE0C or (m == 1 and p[20:22] == u16(d.A_RV_PROBE)):
                n += 1
                seed("msg", "suite-%d" % n, b"\x00" + p)


# --- dp ----------------------------------------------------------------------------------

CLIENTS = [("198.51.100.10", 40000), ("203.0.113.7", 50000), ("198.51.100.11", 40001),
           ("198.51.100.12", 40002), ("203.0.113.8", 50002), ("198.51.100.13", 40003)]
CHANNELS = [0x4123, 0x4123, 0x4456, 0x4789, 0x4789, 0x4ABC]
RELAYS = [1, 1, 2, 3, 3, 4]


def frame(src, dst, payload, mac="02:00:00:00:00:99"):
    sys.path.insert(0, os.path.join(ROOT, "pktgen-scenarios"))
    import scenlib  # noqa: E402
    return scenlib.udp_frame((mac, src[0], src[1]), dst, payload)


def dp_input(frames, ctx=0x11, tail=32):
    """Context byte (reassembly, re-sign probes), max answer 9000, clock."""
    return u8(ctx) + u8(0x80) + u16(600) + b"".join(chunk(f) + u8(tail) for f in frames)


def gen_dp(cases, frames):
    per = {}
    run = []
    for c, f in zip(cases, frames):
        if is_frag(f):
            run.append(f)
            continue
        if run:
            seed("dp", "train-%s" % c["name"], dp_input(run))
            run = []
        key = (c["outcome"], c["group"])
        per[key] = per.get(key, 0) + 1
        if per[key] <= 2:
            seed("dp", "%s-%s" % (c["outcome"], c["group"]), dp_input([f]))
    if run:
        seed("dp", "train-last", dp_input(run))
    # The harness's relays: binds (re-signed) and ChannelData both ways.
    for i, ((ip, port), ch, r) in enumerate(zip(CLIENTS, CHANNELS, RELAYS)):
        side = 1 if ip.startswith("203.") else 0
        tid = bytes([i + 1] * 12)
        bind = d.stun(1, d.REQUEST, tid, [d.probe_attr(0x7E1A000000000000 | r, d.PROBE_RELAY,
                                                        side, i, bytes(8))], fingerprint=True)
        data = u16(ch) + u16(11) + b"hello relay" + b"\0"
        seed("dp", "relay-bind-%d" % i, dp_input([frame((ip, port), ("192.0.2.1", 3478), bind)]))
        seed("dp", "relay-data-%d" % i, dp_input([frame((ip, port), ("192.0.2.1", 3478), data)]))
    for sid in (1, 2, 3):
        for kind in (1, 4, 5):
            tid = bytes([sid, kind] * 6)
            p = d.stun(1, d.REQUEST, tid, [d.probe_attr(0x5A17000000000000 | sid, kind, 0, 9,
                                                        bytes(8))], fingerprint=True)
            seed("dp", "probe-s%d-k%d" % (sid, kind),
                 dp_input([frame(("198.51.100.20", 41000), ("192.0.2.2", 3479), p)] * 2))
    # Budgets on, mtu 576, no repair: the same Binding many times.
    b = frame(("198.51.100.30", 42000), ("192.0.2.1", 3478), d.stun(1, d.REQUEST, bytes(12)))
    seed("dp", "budget-flood", dp_input([b] * 24, ctx=0x04 | 0x20))
    # The load scenarios' frames (a few of each).
    out = tempfile.mkdtemp(prefix="rv-scen-")
    for script, args in (("binding_flood.py", []), ("rfc5780_mix.py", []),
                         ("hostile_mix.py", []), ("control_trickle.py", []),
                         ("probes.py", ["--sessions", "4"])):
        subprocess.run([sys.executable, os.path.join(ROOT, "pktgen-scenarios", script),
                        "--out", out, "--count", "64"] + args, check=True,
                       stdout=subprocess.DEVNULL)
    for p in sorted(glob.glob(os.path.join(out, "*.pcap"))):
        fr = d.pcap_read(p)
        name = os.path.basename(p)[:-5]
        for k in range(0, min(len(fr), 48), 8):
            seed("dp", "scen-%s-%d" % (name, k), dp_input(fr[k:k + 8], ctx=0x15))


# --- ipfrag --------------------------------------------------------------------------------

def frag_conf(l2=True, size=3, slots=0, icmp=False):
    a = slots | (4 if l2 else 0) | size << 3 | (0x20 if icmp else 0)
    return u8(a) + u8(16) + u16(2000) + u64(7) + u16(1400 - 68) + u32(1000)


def piece(who, ident, off8, mf, plen, big=False):
    """Op 1: a piece from fields (who: source index, | 4 for ICMP)."""
    fl = off8 | (0x2000 if mf else 0)
    return u8(1 | (0x80 if big else 0)) + u8(who) + u8(ident) + u16(fl) + u16(plen)


def gen_ipfrag(frames):
    run = []
    n = 0
    for f in frames:
        if is_frag(f):
            run.append(f)
        elif run:
            n += 1
            seed("ipfrag", "suite-train-%d" % n,
                 frag_conf() + b"".join(u8(0) + chunk(x) for x in run))
            run = []
    seed("ipfrag", "two-pieces", frag_conf(False) + piece(0, 1, 0, 1, 1000) + piece(0, 1, 125, 0, 33))
    seed("ipfrag", "three-reversed", frag_conf(False) + piece(1, 2, 250, 0, 7) +
         piece(1, 2, 125, 1, 1000) + piece(1, 2, 0, 1, 1000))
    seed("ipfrag", "overlap", frag_conf(False) + piece(0, 3, 0, 1, 1000) + piece(0, 3, 100, 0, 80))
    seed("ipfrag", "dup-then-done", frag_conf(False) + piece(2, 4, 0, 1, 800) +
         piece(2, 4, 0, 1, 800) + piece(2, 4, 100, 0, 64))
    seed("ipfrag", "timeout", frag_conf(False) + piece(3, 5, 0, 1, 64) + u8(0x82) + u32(5000) +
         u8(3) + u8(64) + piece(3, 5, 8, 0, 8))
    seed("ipfrag", "evict", frag_conf(False) + b"".join(piece(i & 3, 10 + i, 0, 1, 64)
                                                        for i in range(20)) + u8(3) + u8(255))
    seed("ipfrag", "icmp-big", frag_conf(True, 3, 1, True) + piece(4, 6, 0, 1, 0x8000, True) +
         piece(4, 6, 4096, 0, 100))


# --- nat ----------------------------------------------------------------------------------

LAN_H1, LAN_H2, WAN_IP, GW, S1, S2 = "10.0.1.2", "10.0.1.3", "198.51.100.2", "198.51.100.1", \
    "192.0.2.1", "192.0.2.2"


def ipv4(src, dst, proto, l4, ttl=64, ident=0x1234, frag=0):
    h = bytearray(struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), ident, frag, ttl, proto, 0,
                              d.ip4(src), d.ip4(dst)))
    struct.pack_into(">H", h, 10, d.ip_checksum(h))
    return bytes(h) + l4


def udp(src, sport, dst, dport, payload=b"hello, nat", ttl=64):
    l4 = bytearray(struct.pack(">HHHH", sport, dport, 8 + len(payload), 0) + payload)
    ph = d.ip4(src) + d.ip4(dst) + struct.pack(">BBH", 0, 17, len(l4))
    c = 0xFFFF - d.csum_fold(d.csum_sum(ph + bytes(l4)))
    struct.pack_into(">H", l4, 6, c or 0xFFFF)
    return ipv4(src, dst, 17, bytes(l4), ttl)


def icmp(src, dst, typ, code, rest, ttl=64):
    l4 = bytearray(struct.pack(">BBH", typ, code, 0) + rest)
    struct.pack_into(">H", l4, 2, 0xFFFF - d.csum_fold(d.csum_sum(bytes(l4))))
    return ipv4(src, dst, 1, bytes(l4), ttl)


def nat_input(conf, events):
    return chunk(conf.encode()) + u64(42) + b"".join(events)


def raw(pkt, wan=False, fix=False):
    return u8((4 if wan else 0) | (8 if fix else 0)) + chunk(pkt)


def tick(ms):
    return u8(2) + u16(ms)


def gen_nat():
    out1 = udp(LAN_H1, 5000, S1, 3478)
    back = udp(S1, 3478, WAN_IP, 5000)
    other = udp(S2, 3479, WAN_IP, 5000)
    echo = icmp(LAN_H1, S1, 8, 0, u16(9) + u16(1) + b"pingpong")
    reply = icmp(S1, WAN_IP, 0, 0, u16(9) + u16(1) + b"pingpong")
    ttl1 = udp(LAN_H1, 5001, S1, 3478, ttl=1)
    err = icmp(GW, WAN_IP, 11, 0, bytes(4) + udp(WAN_IP, 5001, S1, 3478)[:28])
    hair = udp(LAN_H2, 7000, WAN_IP, 5000)
    big = udp(LAN_H1, 5002, S1, 3478, bytes(3000))
    frags = d.ip_fragment(big, size=1480)
    tcp = ipv4(LAN_H1, S1, 6, bytes(20))
    arp = d.mac_bytes("02:00:00:00:0a:01") + d.mac_bytes("02:00:00:00:00:11") + b"\x08\x06" + \
        struct.pack(">HHBBH", 1, 0x0800, 6, 4, 1) + d.mac_bytes("02:00:00:00:00:11") + \
        d.ip4(LAN_H1) + bytes(6) + d.ip4("10.0.1.1")
    eth = d.mac_bytes("02:00:00:00:0a:01") + d.mac_bytes("02:00:00:00:00:11") + b"\x08\x00" + out1
    flow = [raw(out1), raw(back, True), raw(other, True), raw(echo), raw(reply, True), raw(ttl1),
            raw(err, True), raw(hair), tick(61000), raw(back, True)]
    for preset in ("none", "FC", "R", "PR", "AS", "PS"):
        seed("nat", "flow-" + preset, nat_input("preset = %s" % preset, flow))
    seed("nat", "seq-delta", nat_input("preset = PS\nalloc = sequential\ndelta = 2\nlambda = 5",
                                       flow + [tick(2000), raw(out1)]))
    seed("nat", "random", nat_input("preset = AS\nalloc = random\nport_range = 2000-2100",
                                     flow))
    seed("nat", "frags", nat_input("preset = PR\nmtu = 576", [raw(f) for f in frags] +
                                   [raw(tcp), tick(31000)]))
    seed("nat", "no-reassembly", nat_input("frag_slots = 0\nhairpin = off", [raw(f) for f in frags]
                                           + [raw(hair)]))
    seed("nat", "l2", nat_input("preset = FC", [u8(1) + chunk(arp), u8(1) + chunk(eth),
                                                tick(300), tick(300)]))
    unreach = icmp(LAN_H1, S1, 3, 3, bytes(4) + udp(S1, 3478, LAN_H1, 5000)[:28])
    seed("nat", "icmp-from-lan", nat_input("preset = FC", flow[:2] + [raw(unreach)]))
    seed("nat", "table-full", nat_input("preset = PS\nmax_mappings = 2\nmax_sessions = 2",
                                        [raw(udp(LAN_H1, 6000 + i, S1, 3478)) for i in range(4)]))
    df = bytearray(udp(LAN_H1, 5003, S1, 3478, bytes(1000)))
    struct.pack_into(">HH", df, 6, 0x4000, 0)
    struct.pack_into(">H", df, 10, d.ip_checksum(df[:20]))
    seed("nat", "df-too-big", nat_input("preset = PR\nmtu = 576", [raw(bytes(df)), raw(big)]))
    seed("nat", "background", nat_input("preset = PS\nalloc = sequential\nlambda = 20\n"
                                        "lifetime = 1.5", [raw(out1), tick(900), raw(out1),
                                                           tick(5000), raw(back, True)]))
    # The harness's builder (op 3): a UDP flow and an ICMP error quoting it.
    built = u8(3) + u8(0o40) + u8(0) + u16(5000) + u16(3478) + u16(0) + u16(10) + u16(1) + u8(64)
    seed("nat", "built", nat_input("preset = PR", [built, tick(10)]))


# --- peer ---------------------------------------------------------------------------------

def instruct(role, strategy, step, which, peer=(0xC6336407, 40000), count=0, ttl=2,
             target=(1000, 1010, 1, 11), rng=(2000, 2020, 2, 11), ports=(), trust=True):
    b = u8(1 | (0x80 if trust else 0)) + u32(which) + u8(role) + u8(strategy) + u8(step)
    b += u32(peer[0]) + u16(peer[1]) + u8(5) + u8(2) + u16(2)
    b += b"".join(u16(x) for x in target) + b"".join(u16(x) for x in rng)
    b += u16(2) + u8(ttl) + u16(count) + u16(15000)
    b += u8(len(ports)) + b"".join(u16(p) for p in ports)
    b += u64(0x7E1A000000000001) + u16(0x123) + u8(0) + u32(1 << 20) + u16(3600) + u16(2000)
    b += u8(0)
    return b


PEER_ADDR, NAT_F, TARGET, RANGE, DELTA, TTL, COUNT, DEADLINE, PORTS, RELAY, RESULT = \
    (1 << i for i in range(11))


def gen_peer():
    nat_hdr = {"cone": u8(5) + u8(1) + u8(1) + u8(1) + u64(1),
               "symmetric": u8(7) + u8(3) + u8(3) + u8(2) + u64(2)}
    answers = b"".join(u8(2) + u16(40000 + i) + u8(6) + u16(300) for i in range(8))
    timers = b"".join(u8(6) + u16(400) for _ in range(6))
    partner = u8(4) + u8(2) + u8(0) + u32(77) + u16(1) + u32(0xC6336407) + u16(40000)
    for nat, hdr in nat_hdr.items():
        for strategy in range(1, 8):
            for role in (1, 2):
                first = instruct(role, strategy, 0, PEER_ADDR | NAT_F | TTL | COUNT | DEADLINE |
                                 (RELAY if strategy == 7 else 0), count=8)
                later = instruct(role, strategy, 1, PEER_ADDR | TARGET | RANGE | DELTA | COUNT,
                                 count=16)
                seed("peer", "%s-s%d-r%d" % (nat, strategy, role),
                     hdr + first + u8(7) + u16(12) + answers + later + timers + answers +
                     partner + u8(6 | 0x80) + u16(0x100) + u8(0))
    relay_later = instruct(1, 7, 1, PEER_ADDR | RELAY)
    seed("peer", "direct-then-relay", nat_hdr["cone"] + instruct(1, 2, 0, PEER_ADDR) + timers +
         relay_later + answers + u8(4 | 0x40) + u8(2) + u8(0) + u32(5) + u16(1) + u32(1) + u16(1))
    seed("peer", "result-ends", nat_hdr["cone"] + instruct(2, 1, 0, PEER_ADDR) +
         instruct(2, 1, 1, RESULT))


# --- the small codecs ------------------------------------------------------------------------

def gen_small(payloads):
    # conf: rvdp's table, then the all-types table.
    dp_text = b"# rvdp\naddr = 192.0.2.1\nalt-addr = 192.0.2.2\n[section]\nmtu = 1400\n" \
              b"frag-slots = 64\nmac = 02:00:00:00:00:01\njson = yes\n"
    seed("conf", "rvdp-file", u8(1) + chunk(dp_text) + b"--config\0f\0--port\0" + b"3478\0run")
    seed("conf", "rvdp-flags", u8(1) + chunk(b"") + b"--addr=192.0.2.1\0--alt-addr\0192.0.2.2\0"
         b"--rl-off\0--\0x")
    all_text = b"flag = on\ni8 = -5\ni16 = 300\ni32 = -1\ni64 = 0x7fffffffffffffff\nu8 = 1\n" \
               b"port = 3478\nu32 = 4294967295\nu64 = 9\nname = hello\naddr = [::1]:5\n" \
               b"colour = blue\n; done\n"
    seed("conf", "all-file", u8(0) + chunk(all_text) + b"-c\0f\0-f\0-p\0" + b"1\0cmd\0--name\0x")
    seed("conf", "all-errors", u8(0) + chunk(b"nokey\nport = 70000\n") + b"--help")
    seed("conf", "all-mixed", u8(0) + chunk(b"") + b"sub\0pos1\0--i8\0-1\0pos2\0--\0--u8")
    # dpctl: each type.
    a1, a2 = d.dpc_addr("192.0.2.1", 3478), d.dpc_addr("198.51.100.10", 40000)
    path = d.dpc_path(0, 1, "02:00:00:00:00:99")
    bodies = {
        d.DPC_HELLO: a1 + a2, d.DPC_PUNT: path + a2 + a1 + payloads[0][:40],
        d.DPC_SEND: path + a1 + a2 + b"answer", d.DPC_SESSION_SET: u64(1) + bytes(16) + u64(9) +
        u32(5) + u32(5), d.DPC_SESSION_DEL: u64(1), d.DPC_FLUSH: b"", d.DPC_OBS_QUERY: u64(1),
        d.DPC_OBS_REPLY: u64(1) + u32(0) + b"\x02\0\0\0" + (u64(5) + u32(7) + u16(9) + u16(1) +
                                                           b"\x01\0\0\0") * 2,
        d.DPC_RELAY_SET: d.dpc_relay_set(1, bytes(16), 0x4123, 9, 100, 5, 5),
        d.DPC_RELAY_DEL: u64(1), d.DPC_RELAY_QUERY: u64(1),
        d.DPC_RELAY_REPLY: u64(1) + u32(0) + b"\x03\0\0\0" + (a2 + u64(1) + u64(2) + u64(3) +
                                                             u64(4)) + bytes(20) + bytes(32),
    }
    for t, body in bodies.items():
        seed("dpctl", d.DPC_NAMES[t].lower(), u8(0) + d.dpc_hdr(t, 7) + body)
    seed("dpctl", "hello-empty", u8(0) + d.dpc_hdr(d.DPC_HELLO, 1))
    # pdg: under the harness's key, and from fields.
    key = b"fuzz-attempt-key"
    for t in range(1, 8):
        body = bytes([0xD7, t, 0, 2]) + u64(0xA77E000000000001) + u32(t) + b"data" * (t == 5)
        seed("pdg", "type-%d" % t, u8(0) + body + d.siphash24_py(key, body))
        seed("pdg", "fields-%d" % t, u8(0x21) + u8(t) + u8(0) + u8(2) + u64(1) + u32(t) + u16(t * 9) +
             b"payload")
    # relay: ChannelData, then a quota and charges.
    for name, cd in (("chdata", u16(0x4123) + u16(4) + b"abcd"), ("padded", u16(0x4FFF) + u16(1) +
                                                                   b"a\0\0\0"), ("empty", u16(0x4000) + u16(0))):
        seed("relay", name, u8(0) + chunk(cd) + u64(1795000000000) + u32(60000) + u32(1000) +
             u16(10) + u8(2) + (u16(50) + u16(400) + u32(0)) * 8)
    seed("relay", "wide", u8(0xFF) + chunk(b"") + u64(5) + u64(1 << 40) + u32(7) + u32(3) +
         (u64(1 << 41) + u32(9) + u64(5)) * 3)
    # ticket: the golden vector at its issue time, the hex of its bytes.
    t = hexfile(os.path.join(ROOT, "tests", "vectors", "ticket", "golden-ticket.hex"))
    pk = hexfile(os.path.join(ROOT, "tests", "vectors", "ticket", "signing-pk.hex"))
    seed("ticket", "golden", u8(0x07) + u32(1795000100) + u32(60) + t + bytes(128) + u8(7) +
         b"SN-0001" + t[:32].hex().encode())
    seed("ticket", "hex", u8(0x00) + u32(0) + u32(0) + u8(0) + bytes(128) + u8(0) + pk.hex().upper().encode())


def write():
    for harness, box in seeds.items():
        d_ = os.path.join(CORPUS, harness)
        os.makedirs(d_, exist_ok=True)
        for old in glob.glob(os.path.join(d_, "seed-*")):
            os.remove(old)
        for name, data in sorted(box.items()):
            with open(os.path.join(d_, "seed-" + name), "wb") as f:
                f.write(data)
        print("%-7s %4d seeds, %6d bytes" % (harness, len(box), sum(map(len, box.values()))))


def main():
    cases, frames, _ = suite()
    payloads = [p for p in (udp_payload(f) for f in frames) if p]
    gen_stun(payloads)
    gen_msg(payloads)
    gen_dp(cases, frames)
    gen_ipfrag(frames)
    gen_nat()
    gen_peer()
    gen_small(payloads)
    write()


if __name__ == "__main__":
    main()
