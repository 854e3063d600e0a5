#!/usr/bin/python3
"""hostile_mix.py — what an open STUN port gets besides honest clients.

    hostile_mix.py --out DIR [--count N] [--seed N]   -> DIR/hostile-mix.pcap

Intent: garbage and abuse at full speed must cost little and amplify
nothing: malformed STUN and bad MACs are dropped, spoofed floods hit the
anti-amplification budgets (rvdp's defaults: 1024 excess bytes per source,
refill 256 B/s; 8 MB/s for the edge).
Mix, per 100 frames:
  10  malformed STUN (cut header, length not /4, attribute past the end,
      wrong FINGERPRINT, top bits set)
  10  probes with a bad MAC (sessions 0..999 of seed 7: rvbenchctl
      --sessions 1000 installs them) or for an unknown session
  10  not STUN (random UDP payloads to the STUN port, UDP to port 53)
  35  spoofed Binding flood "from" 16 victim addresses (per-source budget),
      some with RESPONSE-PORT pointing the answer at another victim port
  35  spoofed Binding flood from a different address each (the global
      budget)
Sources are the pcap's own (rvgen without --flows).
Rate: full speed, rvdp with its default budgets.
Expected: nothing malformed, unauthenticated or non-STUN answered; the
spoofed floods answered only within the budgets (drop_rl_src_bytes,
drop_rl_glob_bytes count the rest); bytes answered well below bytes
received (no amplification).
"""
import random
import struct

import scenlib as s

VICTIMS = 16


def malformed(i, rng):
    tid = s.tid_of(rng)
    ok = bytearray(s.d.stun(1, s.d.REQUEST, tid, [(s.d.A_SOFTWARE, b"hostile")], fingerprint=True))
    v = i % 5
    if v == 0:
        return bytes(ok[:19])                      # cut header
    if v == 1:
        struct.pack_into(">H", ok, 2, 6)           # length not a multiple of 4
        return bytes(ok[:26])
    if v == 2:
        struct.pack_into(">H", ok, 22, 200)        # attribute past the end
        return bytes(ok)
    if v == 3:
        ok[-1] ^= 0x5A                             # wrong FINGERPRINT
        return bytes(ok)
    ok[0] |= 0x80                                  # top bits set
    return bytes(ok)


def bad_probe(i, rng):
    sid, key = s.session(s.SESSION_SEED, rng.randrange(1000))
    if i % 4 == 3:  # a session nobody installed
        return s.probe(sid ^ 0x5A5A5A5A5A5A5A5A, key, 1, i & 0xFFFF, s.tid_of(rng))
    wrong = bytes(b ^ 0xFF for b in key)
    return s.probe(sid, key, 1 + i % 3, i & 0xFFFF, s.tid_of(rng), key_for_mac=wrong)


def fresh(i):
    """A different address for every frame: 198.19.0.0 + i (the victims
    live in 198.18.255.0/24)."""
    ip = s.CLIENT_NET + (1 << 16) + i
    return "02:c1:%02x:%02x:%02x:%02x" % tuple(ip >> k & 255 for k in (24, 16, 8, 0)), \
        s.ip_str(ip), 1024 + i % 60000


def frame(i, rng):
    k = i % 100
    src = fresh(i)
    if k < 10:
        return s.udp_frame(src, s.srv((0, 0)), malformed(i, rng))
    if k < 20:
        return s.udp_frame(src, s.srv((0, 0)), bad_probe(i, rng))
    if k < 30:
        junk = bytes(rng.getrandbits(8) for _ in range(rng.randrange(1, 120)))
        return s.udp_frame(src, (s.SRV_IP[0], 53) if k < 25 else s.srv((1, 1)), junk)
    if k < 65:
        mac, _, _ = src
        victim = (mac, "198.18.255.%d" % (1 + i % VICTIMS), 53)
        attrs = [s.d.response_port(7000 + i % 8)] if k % 5 == 0 else []
        return s.udp_frame(victim, s.srv((0, 0)), s.d.stun(1, s.d.REQUEST, s.tid_of(rng), attrs))
    return s.udp_frame(src, s.srv((0, 0)), s.d.stun(1, s.d.REQUEST, s.tid_of(rng)))


def main():
    a = s.args(__doc__, 65500)
    if a.count > 65535:
        raise SystemExit("hostile_mix.py: --count at most 65535 (one address each)")
    rng = random.Random(a.seed)
    frames = [frame(i, rng) for i in range(a.count)]
    s.write(a.out, "hostile-mix", frames, {
        "intent": "malformed STUN, bad MACs, non-STUN and spoofed floods at full speed",
        "mix": {"malformed": 0.1, "bad_mac_or_no_session": 0.1, "not_stun": 0.1,
                "spoofed_16_victims": 0.35, "spoofed_each_new": 0.35},
        "rate": "full speed, default budgets",
        "expect": 0.7,
        "expected": "only spoofed Bindings answered, within the budgets; no amplification "
                    "(bytes out < bytes in)",
        "rvgen_args": [],
        "rvdp_args": [],
        "sessions": 1000,
        "session_seed": s.SESSION_SEED})


if __name__ == "__main__":
    main()
