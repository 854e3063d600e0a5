#!/usr/bin/python3
"""control_trickle.py — control messages trickling into a probe flood.

    control_trickle.py --out DIR [--count N] [--seed N]  -> DIR/control-trickle.pcap

Intent: the punt path must not starve: under a full-speed flood of
authenticated probes (answered on the fast path), the project's control
messages (HELLO, REGISTER, LOOKUP: punted to rvcontrol over the control
socket) must all get through, and the probes must not slow down.
Mix: 999 of 1000 frames are probes (sessions 0..999 of seed 7, installed
by rvbenchctl --sessions 1000, which also stays on the control socket and
counts the PUNTs), 1 in 1000 a control message; sources rewritten over 1 M
flows by rvgen.
Rate: full speed.
Expected: probes answered at the rate of the probes-1k scenario; PUNTs
received = control messages sent (rvdp's punt and drop_punt_full counters
agree).
"""
import random
import struct

import scenlib as s

EVERY = 1000


def control(i, rng):
    method = (0xE01, 0xE03, 0xE06)[i // EVERY % 3]  # HELLO, REGISTER, LOOKUP
    attrs = [s.VERSION, (s.d.A_RV_DEVICE_ID, b"bench-device-%06d" % (i // EVERY)),
             (s.d.A_RV_TIME, struct.pack(">Q", 1795000000000))]
    return s.d.stun(method, s.d.REQUEST, s.tid_of(rng), attrs, fingerprint=True)


def main():
    a = s.args(__doc__, 65000)
    rng = random.Random(a.seed)
    frames = []
    for j in range(a.count):
        if j % EVERY == EVERY - 1:
            payload = control(j, rng)
        else:
            sid, key = s.session(s.SESSION_SEED, rng.randrange(1000))
            payload = s.probe(sid, key, 1 + j % 3, j & 0xFFFF, s.tid_of(rng))
        frames.append(s.udp_frame(s.client(j), s.srv((0, 0)), payload))
    s.write(a.out, "control-trickle", frames, {
        "intent": "a probe flood with 1 control message in 1000 (punted to rvcontrol)",
        "mix": {"probe": 1 - 1 / EVERY, "control": 1 / EVERY},
        "rate": "full speed",
        "expect": 1 - 1 / EVERY,
        "punt_fraction": (a.count // EVERY) / a.count,
        "expected": "probes answered as in probes-1k; every control message punted and "
                    "received on the control socket",
        "rvgen_args": ["--flows", "1000000"],
        "rvdp_args": ["--no-rate-limit"],
        "sessions": 1000,
        "session_seed": s.SESSION_SEED})


if __name__ == "__main__":
    main()
