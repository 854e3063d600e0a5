#!/usr/bin/python3
"""rfc5780_mix.py — the requests of RFC 5780 NAT discovery, mixed.

    rfc5780_mix.py --out DIR [--count N] [--seed N]   -> DIR/rfc5780-mix.pcap

Intent: what NAT-behaviour discovery clients (RFC 5780 §4.3-4.4, and RFC
3489 clients) send, at full speed: every answer takes a different path
through rvdp (alternate address and/or port, RESPONSE-ORIGIN, OTHER-
ADDRESS, the RFC 3489 attributes).
Mix, per 20 frames:
  4  plain Binding to the primary (test I: learns OTHER-ADDRESS)
  2  plain Binding to the alternate address, 2 to alternate address+port
     (mapping tests II and III)
  3  CHANGE-REQUEST ip, 3 port, 3 ip+port (filtering tests II and III)
  3  RFC 3489 requests (no magic cookie) with CHANGE-REQUEST ip+port
a quarter of the RFC 5780 ones with FINGERPRINT (as coturn's client
sends); sources rewritten over 1 M flows by rvgen.
Rate: full speed.
Expected: every request answered, from the address/port it asked for;
rvdp runs with --no-rate-limit (budgets: see hostile-mix).
"""
import random

import scenlib as s

# (destination, CHANGE-REQUEST (ip, port) or None, RFC 3489)
PATTERN = ([((0, 0), None, False)] * 4 + [((1, 0), None, False)] * 2 +
           [((1, 1), None, False)] * 2 + [((0, 0), (True, False), False)] * 3 +
           [((0, 0), (False, True), False)] * 3 + [((0, 0), (True, True), False)] * 3 +
           [((0, 0), (True, True), True)] * 3)


def frame(i, rng):
    dst, change, classic = PATTERN[i % len(PATTERN)]
    attrs = [s.d.change_request(*change)] if change else []
    if classic:
        tid = bytes(rng.getrandbits(8) for _ in range(16))
        payload = s.d.stun(1, s.d.REQUEST, tid, attrs, classic=True)
    else:
        payload = s.d.stun(1, s.d.REQUEST, s.tid_of(rng), attrs, fingerprint=(i % 4 == 1))
    return s.udp_frame(s.client(i), s.srv(dst), payload)


def main():
    a = s.args(__doc__, 4000)
    rng = random.Random(a.seed)
    frames = [frame(i, rng) for i in range(a.count)]
    s.write(a.out, "rfc5780-mix", frames, {
        "intent": "RFC 5780 / RFC 3489 discovery requests: CHANGE-REQUEST ip, port, both; "
                  "OTHER-ADDRESS discovery at both addresses",
        "mix": {"binding_primary": 0.2, "binding_alternate": 0.2, "change_ip": 0.15,
                "change_port": 0.15, "change_both": 0.15, "rfc3489_change_both": 0.15},
        "rate": "full speed",
        "expect": 1.0,
        "expected": "every request answered from the asked-for address/port",
        "rvgen_args": ["--flows", "1000000"],
        "rvdp_args": ["--no-rate-limit"],
        "sessions": 0})


if __name__ == "__main__":
    main()
