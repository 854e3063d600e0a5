#!/usr/bin/python3
"""relay.py — TURN ChannelData through K relays, both directions.

    relay.py --out DIR [--relays K] [--data-bytes N] [--count F] [--seed N]
        -> DIR/relay-min.pcap (N = 16) or DIR/relay-<N>.pcap, and beside it
           NAME.bind.pcap: the 2 K binding probes that bind every side first

Intent: rvdp's relay fast path (proto/WIRE.md "Relaying"): each datagram
is looked up in the forwarding index by (source, source port, channel),
charged to its side's quota and rewritten in place to the other side's
bound endpoint. Relay r (0 <= r < K) is session r of seed 7 (its ID and
key; rvbenchctl --relays K --seed 7 installs exactly those with RELAY_SET),
channel 0x4000 + r % 4096; its side s (0 caller, 1 callee) is the
benchmark client 2r + s (198.18.0.0, ports from 1024).
Binding: rvdp forwards only between endpoints that bound with a signed
RV-PROBE {session = relay, kind RELAY, flags = side}; it records the
source it *observes*. So NAME.bind.pcap carries one such probe per side,
sent once before the load (rvgen --prologue), and the ChannelData comes
from exactly those sources: never rewrite them (no --flows).
Mix: 100 % ChannelData, side 0 then side 1 of each relay in turn (F =
2000 frames by default: with K = 1000, every side once per pass), N data bytes
each (16: 62-byte frames, the Binding flood's size; 512: 558-byte
frames). The data starts with rvgen's 12-byte stamp slot (gen_pkt.h):
rvdp forwards the data untouched, so the stamp comes back with it.
Rate: full speed.
Expected: every datagram forwarded (tx_relay) to the other side, none
dropped (no route, unbound, quota: the grants have no limits).
"""
import random
import struct

import scenlib as s

D = s.d
PROBE_RELAY = 6  # proto/msg.h RV_PROBE_RELAY; flags = side
CH_MIN = 0x4000


def channel(r):
    return CH_MIN + r % 4096


def side_src(r, side):
    return s.client(2 * r + side)


def bind_frame(r, side, rng):
    """Side's binding probe for relay r, MACed with the relay key."""
    sid, key = s.session(s.SESSION_SEED, r)
    tid = s.tid_of(rng)
    seq = (2 * r + side) & 0xFFFF
    mac = D.probe_mac(key, tid, sid, PROBE_RELAY, side, seq)
    msg = D.stun(1, D.REQUEST, tid, [D.probe_attr(sid, PROBE_RELAY, side, seq, mac)],
                 fingerprint=True)
    return s.udp_frame(side_src(r, side), s.srv((0, 0)), msg)


def chdata_frame(r, side, n, rng):
    """ChannelData (RFC 8656 §12.4) of n data bytes: a zeroed stamp slot,
    then random bytes (rvdp does not read them)."""
    data = bytes(12) + bytes(rng.getrandbits(8) for _ in range(n - 12))
    return s.udp_frame(side_src(r, side), s.srv((0, 0)),
                       struct.pack(">HH", channel(r), n) + data)


def extra(ap):
    ap.add_argument("--relays", type=int, default=1000, help="relays K (default %(default)s)")
    ap.add_argument("--data-bytes", type=int, default=16,
                    help="ChannelData data bytes, 12..1400 (default %(default)s)")


def main():
    a = s.args(__doc__, 2000, extra)
    if not 1 <= a.relays <= 100000:
        raise SystemExit("relay.py: --relays must be 1..100000")
    if not 12 <= a.data_bytes <= 1400:
        raise SystemExit("relay.py: --data-bytes must be 12..1400 (the stamp takes 12)")
    name = "relay-min" if a.data_bytes == 16 else "relay-%d" % a.data_bytes
    rng = random.Random(a.seed)
    binds = [bind_frame(r, side, rng) for r in range(a.relays) for side in (0, 1)]
    bind_path = "%s/%s.bind.pcap" % (a.out, name)
    D.pcap_write(bind_path, binds)
    frames = [chdata_frame(j // 2 % a.relays, j % 2, a.data_bytes, rng) for j in range(a.count)]
    s.write(a.out, name, frames, {
        "intent": "TURN ChannelData relayed by rvdp: %d relays, both directions, %d data bytes"
                  % (a.relays, a.data_bytes),
        "mix": {"channeldata": 1.0},
        "data_bytes": a.data_bytes,
        "frame_bytes": len(frames[0]),
        "rate": "full speed",
        "expect": 1.0,
        "expected": "every datagram forwarded to the other side; forwarded pps >= 70 % of "
                    "the link's macswap rate on the same frames",
        "rvgen_args": ["--prologue", bind_path],
        "rvdp_args": ["--no-rate-limit"],
        "relays": a.relays,
        "relay_seed": s.SESSION_SEED,
        "bind_pcap": bind_path})


if __name__ == "__main__":
    main()
