#!/usr/bin/python3
"""spoof_flood.py — a spoofed flood of every unauthenticated answer rvdp gives,
with legitimate authenticated peers inside it.

    spoof_flood.py --out DIR [--count N] [--seed N]   -> DIR/spoof-flood.pcap

Intent: issue 9's flood proof. An attacker forging sources from 10^3, 10^5
or 10^7 addresses (rvgen --flows N --src-net 10.0.0.0/8 --src-ports 1024:
one port, so N flows are N addresses, the per-source budgets' key) must
not grow rvdp's memory (the budgets live in a fixed-size table), must not
get more excess bytes out than the budgets allow (rvdp's defaults: 1024
per source, refill 256 B/s; 8 MB burst and 8 MB/s for the edge), and must
not stop rvdp answering the peers whose sessions it holds.
Mix, per 40 frames (every answer kind rvdp sends to a source it cannot
authenticate, each with one request and one answer size, so the answer
counters give the bytes exactly):
  20  minimum Binding requests (17 to the primary address and port, one to
      each other address/port pair): tx_binding, 62 -> 98 bytes
   4  Binding with CHANGE-REQUEST (ip, port, both, both): tx_binding_changed,
      70 -> 98
   2  RFC 3489 Binding (no magic cookie): tx_binding_classic, 62 -> 98
   2  Allocate requests (a method rvdp does not serve): tx_error_400, 62 -> 82
   2  Binding with an unknown comprehension-required attribute:
      tx_error_420, 70 -> 98
   2  probes for installed sessions with a wrong MAC: dropped
   1  ICMP echo and 1 ARP request from 16 fixed addresses (rvgen rewrites
      IPv4/UDP sources only): tx_icmp_echo 98 -> 98, tx_arp 42 -> 42
   6  authenticated probes for sessions 0..999 of seed 7 (rvbenchctl
      --sessions 1000 installs them), FINGERPRINT, distinct transaction IDs:
      tx_probe, 94 -> 106 (not under the per-source budgets: limited per
      session; rvbenchctl installs them unlimited)
Sources: a different address per frame from 198.18.0.0/15 (for pktgen,
which replays them as they are); rvgen --flows N rewrites every IPv4/UDP
source, the legitimate probes' too (their MAC does not cover it).
Rate: full speed; rvdp with its default budgets.
Expected: every legitimate probe answered (tx_probe = probes received);
unauthenticated excess bytes within the budgets; RSS flat
(tests/bench/flood.sh).
"""
import random
import struct

import scenlib as s

CYCLE = 40
LEGIT_SESSIONS = 1000
VICTIMS = 16
UNKNOWN_ATTR = 0x7F31   # comprehension-required, known to nobody
M_ALLOCATE = 0x003      # TURN (RFC 8656): not rvdp's
ETH, IP, UDP = 14, 20, 8

# (kind, rvdp counter, request STUN bytes, answer STUN bytes) per slot of
# the cycle; None: not STUN. Answer sizes follow rvdp's encoder (dp_pkt.c
# build_stun): success = 20 + XOR-MAPPED / MAPPED 12 + RESPONSE-ORIGIN /
# SOURCE 12 + OTHER / CHANGED 12; 400 = 20 + ERROR-CODE 20; 420 = 20 +
# ERROR-CODE 24 + UNKNOWN-ATTRIBUTES 8; probe = 20 + XOR-MAPPED 12 +
# RV-PROBE 24 + FINGERPRINT 8. flood.sh checks them against rvdp's
# bytes_out.
KINDS = {
    "binding": ("tx_binding", 20, 56),
    "binding_change": ("tx_binding_changed", 28, 56),
    "binding_classic": ("tx_binding_classic", 20, 56),
    "allocate_400": ("tx_error_400", 20, 40),
    "unknown_attr_420": ("tx_error_420", 28, 56),
    "bad_mac_probe": (None, 52, 0),
    "icmp_echo": ("tx_icmp_echo", None, None),
    "arp": ("tx_arp", None, None),
    "legit_probe": ("tx_probe", 52, 64),
}
SLOTS = (["binding"] * 20 + ["binding_change"] * 4 + ["binding_classic"] * 2 +
         ["allocate_400"] * 2 + ["unknown_attr_420"] * 2 + ["bad_mac_probe"] * 2 +
         ["icmp_echo", "arp"] + ["legit_probe"] * 6)
assert len(SLOTS) == CYCLE
COMBO = {17: (0, 1), 18: (1, 0), 19: (1, 1)}  # the other three address/port pairs
ICMP_PAYLOAD = 56   # ping's default: a 98-byte frame
ARP_LEN = 42


def victim(i):
    ip = "198.18.255.%d" % (1 + i % VICTIMS)
    return "02:c2:00:00:00:%02x" % (1 + i % VICTIMS), ip


def icmp_echo(i):
    mac, sip = victim(i)
    ic = bytearray(struct.pack(">BBHHH", 8, 0, 0, 0x5256, i & 0xFFFF) +
                   bytes((i + k) & 0xFF for k in range(ICMP_PAYLOAD)))
    struct.pack_into(">H", ic, 2, 0xFFFF - s.d.csum_fold(s.d.csum_sum(ic)))
    ip = bytearray(struct.pack(">BBHHHBBH4s4s", 0x45, 0, IP + len(ic), 0, 0x4000, 64, 1, 0,
                               s.d.ip4(sip), s.d.ip4(s.SRV_IP[0])))
    struct.pack_into(">H", ip, 10, 0xFFFF - s.d.csum_fold(s.d.csum_sum(ip)))
    return s.d.mac_bytes(s.SRV_MAC) + s.d.mac_bytes(mac) + b"\x08\x00" + bytes(ip) + bytes(ic)


def arp_request(i):
    mac, sip = victim(i)
    body = struct.pack(">HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1, s.d.mac_bytes(mac), s.d.ip4(sip),
                       bytes(6), s.d.ip4(s.SRV_IP[0]))
    return b"\xff" * 6 + s.d.mac_bytes(mac) + b"\x08\x06" + body


def source(i):
    """A different address for every frame (up to 131072, 198.18.0.0/15):
    for pktgen, which replays the pcap's sources; rvgen --flows rewrites
    them."""
    ip = s.CLIENT_NET + i % (1 << 17)
    return "02:c0:%02x:%02x:%02x:%02x" % tuple(ip >> k & 255 for k in (24, 16, 8, 0)), \
        s.ip_str(ip), 1024 + i % s.N_PORTS


def frame(i, rng):
    slot, kind = i % CYCLE, SLOTS[i % CYCLE]
    src = source(i)
    tid = s.tid_of(rng)
    if kind == "binding":
        return s.udp_frame(src, s.srv(COMBO.get(slot, (0, 0))), s.d.stun(1, s.d.REQUEST, tid))
    if kind == "binding_change":
        ip, port = [(True, False), (False, True), (True, True), (True, True)][slot - 20]
        return s.udp_frame(src, s.srv((0, 0)),
                           s.d.stun(1, s.d.REQUEST, tid, [s.d.change_request(ip, port)]))
    if kind == "binding_classic":
        return s.udp_frame(src, s.srv((0, 0)),
                           s.d.stun(1, s.d.REQUEST, tid + s.tid_of(rng)[:4], classic=True))
    if kind == "allocate_400":
        return s.udp_frame(src, s.srv((0, 0)), s.d.stun(M_ALLOCATE, s.d.REQUEST, tid))
    if kind == "unknown_attr_420":
        return s.udp_frame(src, s.srv((0, 0)),
                           s.d.stun(1, s.d.REQUEST, tid, [(UNKNOWN_ATTR, b"\0\0\0\1")]))
    if kind == "bad_mac_probe":
        sid, key = s.session(s.SESSION_SEED, rng.randrange(LEGIT_SESSIONS))
        wrong = bytes(b ^ 0xFF for b in key)
        return s.udp_frame(src, s.srv((0, 0)),
                           s.probe(sid, key, 1, i & 0xFFFF, tid, key_for_mac=wrong))
    if kind == "icmp_echo":
        return icmp_echo(i // CYCLE)
    if kind == "arp":
        return arp_request(i // CYCLE)
    sid, key = s.session(s.SESSION_SEED, rng.randrange(LEGIT_SESSIONS))
    return s.udp_frame(src, s.srv((0, 0)), s.probe(sid, key, 1 + i % 3, i & 0xFFFF, tid))


def kinds_meta(frames):
    """Per kind: frames per cycle, the counter its answers land in, request
    and answer frame bytes (as generated: flood.sh's arithmetic), and
    whether rvgen --flows rewrites its source (IPv4/UDP only)."""
    out = {}
    for kind, (counter, req, resp) in KINDS.items():
        idx = SLOTS.index(kind)
        req_frame = len(frames[idx])
        if req is not None:
            assert req_frame == ETH + IP + UDP + req, (kind, req_frame)
        resp_frame = req_frame if resp is None else (ETH + IP + UDP + resp if resp else 0)
        out[kind] = {"per_cycle": SLOTS.count(kind), "counter": counter,
                     "request_bytes": req_frame, "answer_bytes": resp_frame,
                     "authenticated": kind == "legit_probe",
                     "rewritten": kind not in ("icmp_echo", "arp")}
    return out


def main():
    a = s.args(__doc__, 4000)
    if a.count % CYCLE:
        raise SystemExit("spoof_flood.py: --count must be a multiple of %d" % CYCLE)
    rng = random.Random(a.seed)
    frames = [frame(i, rng) for i in range(a.count)]
    assert len(frames[SLOTS.index("arp")]) == ARP_LEN
    s.write(a.out, "spoof-flood", frames, {
        "intent": "spoofed flood of every unauthenticated answer kind from N sources, with "
                  "legitimate authenticated probes inside it",
        "mix": {k: SLOTS.count(k) / CYCLE for k in KINDS},
        "kinds": kinds_meta(frames),
        "cycle": CYCLE,
        "rate": "full speed, default budgets",
        "expect": sum(1 for k in SLOTS if k != "bad_mac_probe") / CYCLE,
        "expected": "every legitimate probe answered; unauthenticated excess bytes within the "
                    "budgets; rvdp's RSS flat whatever the number of sources",
        "rvgen_args": ["--src-net", "10.0.0.0/8", "--src-ports", "1024"],
        "rvdp_args": [],
        "sessions": LEGIT_SESSIONS,
        "session_seed": s.SESSION_SEED})


if __name__ == "__main__":
    main()
