"""scenlib — what every scenario generator in pktgen-scenarios/ shares.

The frames are built from tests/dp/dplib.py (the rvdp suite's STUN encoder,
SipHash probe MACs, RFC 1071 checksums and pcap writer: one implementation
for the tests and the load); this adds the Ethernet/IPv4/UDP framing, the
benchmark's addresses, the sessions both sides derive from a seed, and the
scenario's description written next to its pcap (NAME.json), which
scripts/bench.sh and the README read.

Standard library only; run with /usr/bin/python3.
"""
import argparse
import json
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "dp"))
import dplib as d  # noqa: E402

SRV_MAC = d.SRV_MAC              # rvdp --mac
SRV_IP = d.SRV_IP                # rvdp --addr, --alt-addr
SRV_PORT = d.SRV_PORT            # 3478, 3479
# Clients live in 198.18.0.0/15, RFC 2544's benchmarking network (RFC 5735).
CLIENT_NET = (198 << 24) | (18 << 16)
CLIENT_PORTS = (1024, 65535)
N_PORTS = CLIENT_PORTS[1] - CLIENT_PORTS[0] + 1
COMBOS = [(0, 0), (0, 1), (1, 0), (1, 1)]  # (address, port) index pairs
VERSION = (d.A_RV_VERSION, b"\x01\x00\x00\x00")
SESSION_SEED = 7  # rvbenchctl --seed: the sessions the probe scenarios use
M64 = (1 << 64) - 1


def ip_str(v):
    return "%d.%d.%d.%d" % (v >> 24, v >> 16 & 255, v >> 8 & 255, v & 255)


def client(i):
    """The i-th client of the benchmark network: (mac, ip, port)."""
    ip = CLIENT_NET + i // N_PORTS
    mac = "02:c0:%02x:%02x:%02x:%02x" % (ip >> 24 & 255, ip >> 16 & 255, ip >> 8 & 255, ip & 255)
    return mac, ip_str(ip), CLIENT_PORTS[0] + i % N_PORTS


def srv(combo):
    a, p = combo
    return SRV_IP[a], SRV_PORT[p]


def udp_frame(src, dst, payload, csum=True, dst_mac=SRV_MAC):
    """Ethernet / IPv4 / UDP around payload; src = (mac, ip, port),
    dst = (ip, port). csum=False leaves the UDP checksum 0 (none)."""
    mac, sip, sport = src
    dip, dport = dst
    ulen = 8 + len(payload)
    ip = bytearray(struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + ulen, 0, 0x4000, 64, 17, 0,
                               d.ip4(sip), d.ip4(dip)))
    struct.pack_into(">H", ip, 10, 0xFFFF - d.csum_fold(d.csum_sum(ip)))
    udp = bytearray(struct.pack(">HHHH", sport, dport, ulen, 0) + payload)
    if csum:
        c = 0xFFFF - d.csum_fold(d.csum_sum(udp, d.udp_pseudo(ip, ulen)))
        struct.pack_into(">H", udp, 6, c or 0xFFFF)
    eth = d.mac_bytes(dst_mac) + d.mac_bytes(mac) + b"\x08\x00"
    return eth + bytes(ip) + bytes(udp)


def splitmix64(x):
    x = (x + 0x9E3779B97F4A7C15) & M64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & M64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & M64
    return x ^ (x >> 31)


def session(seed, i):
    """Session i of a benchmark table: (id, 16-byte key). The same
    derivation as tests/bench/sessions.h (rvbenchctl fills rvdp with it)."""
    base = (seed * 0x100000001B3 + 3 * i) & M64
    sid = splitmix64(base) or 1
    key = struct.pack("<QQ", splitmix64(base + 1), splitmix64(base + 2))
    return sid, key


def probe(sid, key, kind, seq, tid, fp=True, key_for_mac=None):
    """An authenticated probe: a Binding request whose first attribute is
    RV-PROBE with its SipHash MAC (proto/WIRE.md)."""
    mac = d.probe_mac(key_for_mac or key, tid, sid, kind, 0, seq)
    return d.stun(1, d.REQUEST, tid, [d.probe_attr(sid, kind, 0, seq, mac)], fingerprint=fp)


def tid_of(rng):
    return bytes(rng.getrandbits(8) for _ in range(12))


def args(doc, count, extra=None):
    """The common command line: --out DIR, --count N, --seed N."""
    ap = argparse.ArgumentParser(description=doc.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=doc)
    ap.add_argument("--out", required=True, help="directory for NAME.pcap and NAME.json")
    ap.add_argument("--count", type=int, default=count, help="frames (default %(default)s)")
    ap.add_argument("--seed", type=int, default=1, help="randomness (default %(default)s)")
    if extra:
        extra(ap)
    a = ap.parse_args()
    if not 1 <= a.count <= 1 << 24:
        ap.error("--count must be 1..16777216")
    os.makedirs(a.out, exist_ok=True)
    return a


def write(out, name, frames, meta):
    """NAME.pcap and NAME.json (the description: intent, mix, rate, the
    expected result, and what rvgen and rvdp need to replay it)."""
    path = os.path.join(out, name + ".pcap")
    d.pcap_write(path, frames)
    meta = dict(meta, name=name, pcap=path, frames=len(frames),
                bytes=sum(len(f) for f in frames))
    with open(os.path.join(out, name + ".json"), "w") as f:
        json.dump(meta, f, indent=1)
    print("%s: %d frames, %d bytes -> %s" % (name, len(frames), meta["bytes"], path))
