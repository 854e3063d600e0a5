#!/usr/bin/python3
"""binding_flood.py — minimum-size STUN Binding requests from many sources.

    binding_flood.py --out DIR [--count N] [--seed N]   -> DIR/binding-flood.pcap

Intent: the cheapest thing a STUN server answers, as fast as the link goes:
the headline line-rate figure against the link's forwarding baseline
(dpdk-testpmd macswap) and against coturn.
Mix: 100 % Binding requests of 20 bytes (no attribute: a 62-byte frame) to
the primary address and port, one source per frame from 198.18.0.0/15;
rvgen rewrites the sources over 1 M flows (--flows 1000000), so a replay
comes from 1 M distinct addresses/ports.
Rate: full speed (and 80 % of it for the latency figure).
Expected: every request answered (98-byte success with XOR-MAPPED-ADDRESS,
RESPONSE-ORIGIN, OTHER-ADDRESS); rvdp runs with --no-rate-limit here, since
each answer is larger than its request and the anti-amplification budget
would otherwise cap a flood from few sources (see hostile-mix).
"""
import random

import scenlib as s


def main():
    a = s.args(__doc__, 4096)
    rng = random.Random(a.seed)
    frames = [s.udp_frame(s.client(i), s.srv((0, 0)), s.d.stun(1, s.d.REQUEST, s.tid_of(rng)))
              for i in range(a.count)]
    s.write(a.out, "binding-flood", frames, {
        "intent": "minimum-size Binding requests at full speed from 1 M sources",
        "mix": {"binding": 1.0},
        "rate": "full speed; 80 % of it for latency",
        "expect": 1.0,
        "expected": "every request answered; rvdp within 75 % of the macswap baseline",
        "rvgen_args": ["--flows", "1000000"],
        "rvdp_args": ["--no-rate-limit"],
        "sessions": 0})


if __name__ == "__main__":
    main()
