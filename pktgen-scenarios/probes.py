#!/usr/bin/python3
"""probes.py — authenticated range and delta probes for N live sessions.

    probes.py --out DIR --sessions N [--count K] [--seed N]
        -> DIR/probes-<N>.pcap (probes-1k, probes-1m, probes-10m, ...)

Intent: the project's own fast-path work: each probe is looked up in
rvdp's session table (liburcu lock-free hash), its SipHash MAC checked
under the session key, the observed address recorded and echoed with a
reply MAC. Run with 1 K, 1 M and 10 M sessions in the table, the answered
rate shows what the table's size costs (target: 10 M >= 80 % of 1 K).
Mix: 100 % probes (kinds delta, range-before, range-after in turn), each
for a session drawn uniformly from sessions 0..N-1 of seed 7 (rvbenchctl
--sessions N --seed 7 installs exactly those), with FINGERPRINT, to the
primary address; K frames with distinct transaction IDs (rvgen times them
by ID: the MAC covers it). K defaults to 262144, so even with 1 K sessions
the generator side is the same and with 1 M+ the lookups miss the caches.
Rate: full speed.
Expected: every probe answered (tx_probe), none dropped as bad MAC or
unknown session.
"""
import random

import scenlib as s

KINDS = (1, 2, 3)  # delta, range-before, range-after (proto/msg.h)


def label(n):
    for unit, v in (("m", 1000000), ("k", 1000)):
        if n >= v and n % v == 0:
            return "%d%s" % (n // v, unit)
    return str(n)


def main():
    a = s.args(__doc__, 262144, lambda ap: ap.add_argument(
        "--sessions", type=int, required=True, help="sessions in the table (1000, 1000000, ...)"))
    if not 1 <= a.sessions <= 100000000:
        raise SystemExit("probes.py: --sessions must be 1..100000000")
    rng = random.Random(a.seed)
    frames = []
    for j in range(a.count):
        sid, key = s.session(s.SESSION_SEED, rng.randrange(a.sessions))
        frames.append(s.udp_frame(s.client(j), s.srv((0, 0)),
                                  s.probe(sid, key, KINDS[j % 3], j & 0xFFFF, s.tid_of(rng))))
    s.write(a.out, "probes-" + label(a.sessions), frames, {
        "intent": "authenticated range/delta probes with %d live sessions" % a.sessions,
        "mix": {"probe_delta": 1 / 3, "probe_range_before": 1 / 3, "probe_range_after": 1 / 3},
        "rate": "full speed",
        "expect": 1.0,
        "expected": "every probe answered; answered rate with 10 M sessions >= 80 % of 1 K",
        "rvgen_args": ["--flows", "1000000"],
        "rvdp_args": ["--no-rate-limit"],
        "sessions": a.sessions,
        "session_seed": s.SESSION_SEED})


if __name__ == "__main__":
    main()
