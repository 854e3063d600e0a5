#!/usr/bin/python3
"""check_pcap.py — rvdp's output pcap and counters against gen_pcap.py's
expectations.

    check_pcap.py --expect expect.json --out out.pcap --stats stats.json
                  [--ctl ctl.json] [-v]

Every frame rvdp wrote is matched to the request it answers (STUN by
transaction ID, ARP by the asking host, ICMP by echo id/seq, the control
socket's SEND by its payload's transaction ID) and checked field by field:
Ethernet addresses swapped, IP and UDP headers and checksums, the source
address/port CHANGE-REQUEST asked for, the destination port
(RESPONSE-PORT), the transaction ID echoed (all 16 bytes for RFC 3489),
the exact attribute list, every address attribute decoded, PADDING,
ERROR-CODE and UNKNOWN-ATTRIBUTES, FINGERPRINT present and valid exactly
when expected, RV-PROBE replies with flags 0x80 and a MAC that verifies.
An answer above the MTU must come as IPv4 fragments, back to back: each
piece within the MTU with a valid header checksum, DF clear, MF on all but
the last, contiguous 8-byte-aligned offsets from 0, the number of pieces
expected; the checker reassembles them and checks the datagram as above
(its UDP checksum, carried by the first piece, over the whole).
Relayed ChannelData (matched by its payload, which is unique) must leave
rewritten in place: Ethernet to the router it came from, from our primary
address and port to the other side's bound endpoint, a fresh IP header with
a valid checksum, a valid non-zero UDP checksum, the payload byte for byte.
Nothing may be answered or forwarded that must not be, nothing twice,
answers come in request order, and each counter of rvdp's --json report
must equal the expected number exactly. Standard library only.
"""
import argparse
import json
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dplib as d  # noqa: E402


MTU = 1500  # rvdp's --mtu in the suite (the default)


def is_fragment(f):
    return (len(f) >= 34 and struct.unpack_from(">H", f, 12)[0] == 0x0800 and
            struct.unpack_from(">H", f, 20)[0] & (d.IP_MF | d.IP_OFFMASK) != 0)


def group_fragments(frames):
    """Whole frames as they are, and IPv4 fragments grouped into trains by
    (source, destination, ID, protocol): [(index of the first frame,
    frame, [(index, piece)] or None)] in output order."""
    out, trains = [], {}
    for n, f in enumerate(frames):
        if is_fragment(f):
            key = (f[26:34], f[18:20], f[23])
            if key not in trains:
                trains[key] = []
                out.append((n, None, trains[key]))
            trains[key].append((n, f))
        else:
            out.append((n, f, None))
    return out


class Checker:
    def __init__(self, verbose):
        self.errors = []
        self.verbose = verbose
        self.fields = 0

    def eq(self, what, got, want):
        self.fields += 1
        if got != want:
            self.errors.append("%s: got %s, want %s" % (what, got, want))
            return False
        return True

    def true(self, what, cond, detail=""):
        self.fields += 1
        if not cond:
            self.errors.append("%s%s" % (what, (": " + detail) if detail else ""))
        return cond

    # --- headers ------------------------------------------------------------------

    def eth(self, w, f, dst, src, etype):
        self.eq(w + " Ethernet destination", d.mac_str(f[0:6]), dst)
        self.eq(w + " Ethernet source", d.mac_str(f[6:12]), src)
        self.eq(w + " ethertype", "0x%04x" % struct.unpack_from(">H", f, 12)[0], "0x%04x" % etype)

    def ipv4(self, w, f, proto, src, dst):
        ip = f[14:34]
        if not self.eq(w + " IP version/IHL", "0x%02x" % ip[0], "0x45"):
            return False
        total = struct.unpack_from(">H", ip, 2)[0]
        self.eq(w + " IP total length", total, len(f) - 14)
        fl = struct.unpack_from(">H", ip, 6)[0]
        self.eq(w + " IP MF/fragment offset", fl & 0x3FFF, 0)
        self.true(w + " IP TTL > 0", ip[8] > 0, "TTL %d" % ip[8])
        self.eq(w + " IP protocol", ip[9], proto)
        self.true(w + " IP header checksum valid", d.ones_ok(ip),
                  "checksum 0x%04x" % struct.unpack_from(">H", ip, 10)[0])
        self.eq(w + " IP source", d.ip4s(ip[12:16]), src)
        self.eq(w + " IP destination", d.ip4s(ip[16:20]), dst)
        return True

    def udp(self, w, f, sport, dport):
        ip, u = f[14:34], f[34:]
        self.eq(w + " UDP source port", struct.unpack_from(">H", u, 0)[0], sport)
        self.eq(w + " UDP destination port", struct.unpack_from(">H", u, 2)[0], dport)
        ulen = struct.unpack_from(">H", u, 4)[0]
        self.eq(w + " UDP length", ulen, len(f) - 34)
        ck = struct.unpack_from(">H", u, 6)[0]
        self.true(w + " UDP checksum present (non-zero)", ck != 0)
        self.true(w + " UDP checksum valid", d.ones_ok(u[:ulen], d.udp_pseudo(ip, ulen)),
                  "checksum 0x%04x" % ck)
        return f[42:42 + ulen - 8]

    # --- IPv4 fragments -----------------------------------------------------------------

    def reassemble(self, w, pieces):
        """Check every piece of a train; return the datagram as one frame
        (the first piece's headers, total length and checksum redone), or
        None when the pieces do not make one."""
        ok = True
        by_off = []
        for n, f in pieces:
            ip = f[14:34]
            p = "%s fragment (output frame #%d)" % (w, n)
            total = struct.unpack_from(">H", ip, 2)[0]
            fl = struct.unpack_from(">H", ip, 6)[0]
            ok &= self.eq(p + " IP version/IHL", "0x%02x" % ip[0], "0x45")
            ok &= self.eq(p + " IP total length", total, len(f) - 14)
            self.true(p + " within the MTU", total <= MTU, "%d bytes" % total)
            self.eq(p + " DF clear", fl & d.IP_DF, 0)
            self.true(p + " IP TTL > 0", ip[8] > 0)
            self.true(p + " IP header checksum valid", d.ones_ok(ip))
            if fl & d.IP_MF:
                self.eq(p + " non-last piece a multiple of 8 bytes", (total - 20) % 8, 0)
            self.eq(p + " Ethernet addresses as the first piece's", f[:12].hex(),
                    pieces[0][1][:12].hex())
            by_off.append(((fl & d.IP_OFFMASK) * 8, f[34:14 + total], bool(fl & d.IP_MF), n))
        by_off.sort()
        at, body = 0, b""
        for k, (off, data, more, n) in enumerate(by_off):
            last = k == len(by_off) - 1
            ok &= self.eq("%s fragment at offset %d: follows the one before" % (w, off), off, at)
            ok &= self.eq("%s fragment at offset %d: MF" % (w, off), more, not last)
            at += len(data)
            body += data
        idx = [n for _, _, _, n in by_off]
        self.true(w + " fragments leave back to back, in offset order",
                  idx == list(range(idx[0], idx[0] + len(idx))), "output frames %s" % idx)
        if not ok:
            return None
        first = [f for _, f in pieces if struct.unpack_from(">H", f, 20)[0] & d.IP_OFFMASK == 0]
        hdr = bytearray(first[0][14:34])
        struct.pack_into(">HHH", hdr, 2, 20 + len(body), struct.unpack_from(">H", hdr, 4)[0], 0)
        struct.pack_into(">H", hdr, 10, d.ip_checksum(hdr))
        return first[0][:14] + bytes(hdr) + body

    # --- answers ----------------------------------------------------------------------

    def stun_answer(self, w, f, a):
        self.eq(w + " frame length", len(f), a["len"])
        self.eth(w, f, a["eth_dst"], a["eth_src"], 0x0800)
        if not self.ipv4(w, f, 17, a["ip_src"], a["ip_dst"]):
            return
        payload = self.udp(w, f, a["sport"], a["dport"])
        try:
            m = d.stun_parse(payload)
        except d.StunError as e:
            self.true(w + " STUN answer parses", False, str(e))
            return
        s = a["stun"]
        self.eq(w + " STUN message type", "0x%04x" % m["type"], "0x%04x" % s["type"])
        self.eq(w + " transaction ID echoed (bytes 4..19)", m["id"].hex(), s["id"])
        got = [[t, len(v)] for t, v, _ in m["attrs"]]
        if not self.eq(w + " attributes [type, length]",
                       ["%s/%d" % (d.attr_name(t), n) for t, n in got],
                       ["%s/%d" % (d.attr_name(t), n) for t, n in s["attrs"]]):
            return
        for t, want in s["addrs"].items():
            t = int(t)
            try:
                addr = d.decode_addr(d.stun_attr(m, t), xor=(t == d.A_XOR_MAPPED))
            except d.StunError as e:
                self.true(w + " " + d.attr_name(t), False, str(e))
                continue
            self.eq(w + " " + d.attr_name(t), "%s:%d" % tuple(addr), "%s:%d" % tuple(want))
        if "padding" in s:
            self.true(w + " PADDING is zeros", not d.stun_attr(m, d.A_PADDING).strip(b"\0"))
        if "error" in s:
            v = d.stun_attr(m, d.A_ERROR_CODE)
            self.eq(w + " ERROR-CODE reserved bits", struct.unpack_from(">H", v)[0] | (v[2] & 0xF8),
                    0)
            self.eq(w + " ERROR-CODE", (v[2] & 7) * 100 + v[3], s["error"])
            try:
                reason = v[4:].decode("utf-8")
            except UnicodeDecodeError:
                reason = ""
            self.true(w + " ERROR-CODE reason is non-empty UTF-8", bool(reason))
            if s["unknown"]:
                v = d.stun_attr(m, d.A_UNKNOWN_ATTRIBUTES)
                lst = ["0x%04x" % x for x in struct.unpack(">%dH" % (len(v) // 2), v)]
                self.eq(w + " UNKNOWN-ATTRIBUTES", lst, ["0x%04x" % x for x in s["unknown"]])
        if s["fingerprint"]:
            self.true(w + " FINGERPRINT valid", d.fingerprint_ok(m))
        else:
            self.true(w + " no FINGERPRINT (the request had none)",
                      d.stun_attr(m, d.A_FINGERPRINT) is None)
        if "probe" in s:
            p = s["probe"]
            v = d.stun_attr(m, d.A_RV_PROBE)
            session, kind, flags, seq = struct.unpack_from(">QBBH", v)
            self.eq(w + " RV-PROBE session", "%016x" % session, "%016x" % p["session"])
            self.eq(w + " RV-PROBE kind", kind, p["kind"])
            self.eq(w + " RV-PROBE flags", "0x%02x" % flags, "0x80")
            self.eq(w + " RV-PROBE seq", seq, p["seq"])
            observed = s["addrs"][str(d.A_XOR_MAPPED)]
            want = d.probe_mac(bytes.fromhex(p["key"]), m["id"][4:], p["session"], p["kind"],
                               0x80, p["seq"], observed)
            self.eq(w + " RV-PROBE reply MAC (SipHash-2-4 over txid..seq||observed address)",
                    v[12:20].hex(), want.hex())

    def relay_answer(self, w, f, a):
        self.eq(w + " frame length (never longer than it came)", len(f), a["len"])
        self.eth(w, f, a["eth_dst"], a["eth_src"], 0x0800)
        if not self.ipv4(w, f, 17, a["ip_src"], a["ip_dst"]):
            return
        payload = self.udp(w, f, a["sport"], a["dport"])
        self.eq(w + " ChannelData byte for byte", payload.hex(), a["payload"])

    def arp_answer(self, w, f, a):
        self.eq(w + " frame length", len(f), a["len"])
        self.eth(w, f, a["eth_dst"], a["eth_src"], 0x0806)
        htype, ptype, hlen, plen, op = struct.unpack_from(">HHBBH", f, 14)
        self.eq(w + " ARP htype/ptype/hlen/plen", (htype, ptype, hlen, plen), (1, 0x0800, 6, 4))
        self.eq(w + " ARP op", op, 2)
        r = a["arp"]
        self.eq(w + " ARP sender MAC", d.mac_str(f[22:28]), r["sha"])
        self.eq(w + " ARP sender IP", d.ip4s(f[28:32]), r["spa"])
        self.eq(w + " ARP target MAC", d.mac_str(f[32:38]), r["tha"])
        self.eq(w + " ARP target IP", d.ip4s(f[38:42]), r["tpa"])

    def icmp_answer(self, w, f, a):
        self.eq(w + " frame length", len(f), a["len"])
        self.eth(w, f, a["eth_dst"], a["eth_src"], 0x0800)
        if not self.ipv4(w, f, 1, a["ip_src"], a["ip_dst"]):
            return
        ic = f[34:]
        t, code, _, ident, seq = struct.unpack_from(">BBHHH", ic)
        self.eq(w + " ICMP type/code", (t, code), (0, 0))
        self.true(w + " ICMP checksum valid", d.ones_ok(ic))
        self.eq(w + " ICMP id/seq", (ident, seq), (a["icmp"]["id"], a["icmp"]["seq"]))
        self.eq(w + " ICMP payload", ic[8:].hex(), a["icmp"]["payload"])

    def send_frame(self, w, f, s, srv_mac):
        payload = bytes.fromhex(s["payload"])
        self.eq(w + " frame length", len(f), 42 + len(payload))
        self.eth(w, f, s["path"]["mac"], srv_mac, 0x0800)
        if not self.ipv4(w, f, 17, s["src"][0], s["dst"][0]):
            return
        got = self.udp(w, f, s["src"][1], s["dst"][1])
        self.eq(w + " payload", got.hex(), s["payload"])


def frame_key(f):
    """What an output frame answers: ("stun", id) / ("arp", ...) / ("icmp", ...)."""
    if len(f) < 14:
        return ("runt", f.hex())
    et = struct.unpack_from(">H", f, 12)[0]
    if et == 0x0806 and len(f) >= 42:
        return ("arp", d.ip4s(f[38:42]), d.ip4s(f[28:32]))
    if et == 0x0800 and len(f) >= 34:
        proto = f[23]
        if proto == 17 and len(f) >= 46 and 0x40 <= f[42] <= 0x4F:
            return ("chdata", f[42:].hex())
        if proto == 17 and len(f) >= 62:
            return ("stun", f[46:62].hex())
        if proto == 1 and len(f) >= 42:
            return ("icmp",) + struct.unpack_from(">HH", f, 38)
    return ("other", f[:64].hex())


def request_key(f):
    """The key an answer to input frame f would have (for error messages)."""
    if len(f) < 14:
        return None
    et = struct.unpack_from(">H", f, 12)[0]
    if et == 0x0806 and len(f) >= 42:
        return ("arp", d.ip4s(f[28:32]), d.ip4s(f[38:42]))
    if et == 0x0800 and len(f) >= 34:
        ihl = (f[14] & 15) * 4
        at = 14 + ihl + 8
        if f[23] == 17 and len(f) >= at + 4 and 0x40 <= f[at] <= 0x4F:
            ulen = struct.unpack_from(">H", f, 14 + ihl + 4)[0]
            return ("chdata", f[at:14 + ihl + ulen].hex())
        if f[23] == 17 and len(f) >= 14 + ihl + 28:
            return ("stun", f[14 + ihl + 12:14 + ihl + 28].hex())
        if f[23] == 1 and len(f) >= 14 + ihl + 8:
            return ("icmp",) + struct.unpack_from(">HH", f, 14 + ihl + 4)
    return None


def describe(f):
    """One line about an output frame."""
    try:
        et = struct.unpack_from(">H", f, 12)[0]
        if et == 0x0800 and f[23] == 17:
            head = "UDP %s:%d -> %s:%d" % (d.ip4s(f[26:30]), struct.unpack_from(">H", f, 34)[0],
                                           d.ip4s(f[30:34]), struct.unpack_from(">H", f, 36)[0])
            try:
                m = d.stun_parse(f[42:])
                return "%s, STUN type 0x%04x, attributes %s" % (
                    head, m["type"], ", ".join(d.attr_name(t) for t, _, _ in m["attrs"]))
            except d.StunError:
                return head + ", " + f[42:74].hex()
        if et == 0x0806:
            return "ARP op %d %s is-at %s" % (f[21], d.ip4s(f[28:32]), d.mac_str(f[22:28]))
    except (IndexError, struct.error):
        pass
    return f[:64].hex()


def expect_key(a):
    if a["kind"] == "relay":
        return ("chdata", a["payload"])
    if a["kind"] == "stun":
        return ("stun", a["stun"]["id"])
    if a["kind"] == "arp":
        return ("arp", a["arp"]["tpa"], a["arp"]["spa"])
    return ("icmp", a["icmp"]["id"], a["icmp"]["seq"])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--expect", required=True)
    ap.add_argument("--out", required=True, help="rvdp's tx_pcap")
    ap.add_argument("--stats", required=True, help="rvdp's --json exit report")
    ap.add_argument("--ctl", help="fake_control.py's report (for the SENDs)")
    ap.add_argument("-v", "--verbose", action="store_true")
    a = ap.parse_args()
    with open(a.expect) as f:
        exp = json.load(f)
    ck = Checker(a.verbose)
    frames = d.pcap_read(a.out)

    # What must come out, keyed.
    want = {}
    for i, c in enumerate(exp["cases"]):
        if c["answer"]:
            k = expect_key(c["answer"])
            assert k not in want, "gen_pcap: two cases expect the same answer key %s" % (k,)
            want[k] = ("case", i, c)
    sends = []
    if a.ctl:
        with open(a.ctl) as f:
            sends = json.load(f)["sends"]
    for s in sends:
        if s["accepted"]:
            k = ("stun", bytes.fromhex(s["payload"])[4:20].hex())
            want[k] = ("send", None, s)

    asked = {}
    for c in exp["cases"]:
        k = request_key(bytes.fromhex(c["frame"]))
        if k:
            asked.setdefault(k, c)
    seen = {}
    order = []
    answer_bytes = 0
    nfrag = 0
    for n, f, pieces in group_fragments(frames):
        raw = len(f) if f else sum(len(p) for _, p in pieces)
        if pieces:
            nfrag += 1
            f = ck.reassemble("fragment train from output frame #%d" % n, pieces)
            if f is None:
                answer_bytes += raw
                continue
        k = frame_key(f)
        hit = want.get(k)
        if hit is None or hit[0] != "send":
            answer_bytes += raw
        if hit is None:
            c = asked.get(k)
            ck.errors.append("output frame #%d answers %s: %s" % (
                n, "'%s', which expects %s and no answer" % (c["name"], c["outcome"]) if c
                else "no input frame", describe(f)))
            continue
        if k in seen:
            ck.errors.append("output frame #%d: a second answer to '%s' (first: frame #%d)"
                             % (n, hit[2]["name"], seen[k]))
            continue
        seen[k] = n
        kind, i, c = hit
        if kind == "send":
            ck.send_frame("control SEND '%s'" % c["name"], f, c, exp["server"]["mac"])
            continue
        order.append(i)
        w = "'%s'" % c["name"]
        ck.eq(w + " frames (1: whole; more: IPv4 fragments)", len(pieces) if pieces else 1,
              c["answer"].get("frags", 1))
        {"stun": ck.stun_answer, "arp": ck.arp_answer, "icmp": ck.icmp_answer,
         "relay": ck.relay_answer}[c["answer"]["kind"]](w, f, c["answer"])
    for k, (kind, i, c) in want.items():
        if k not in seen:
            ck.errors.append("no answer for '%s' (%s)" % (
                c["name"], "control SEND" if kind == "send" else "expected %s" % c["outcome"]))
    ck.true("answers leave in request order", order == sorted(order),
            "first out of order after case %s" % next(
                (exp["cases"][x]["name"] for x, y in zip(order, order[1:]) if y < x), None))

    # Counters, exactly.
    with open(a.stats) as f:
        stats = json.load(f)
    counters = stats["counters"]
    nctr = 0
    for name in sorted(set(counters) | set(exp["counters"])):
        nctr += 1
        if name not in counters:
            ck.errors.append("counter %s missing from rvdp's report" % name)
            continue
        if not ck.eq("counter %s" % name, counters[name], exp["counters"].get(name, 0)):
            if name.startswith(("tx_", "drop_", "punt")):
                who = [c["name"] for c in exp["cases"]
                       if c["outcome"] == name or name in c.get("also", [])]
                if who:
                    ck.errors[-1] += " (expected from: %s%s)" % ("; ".join(who[:6]),
                                                                 "; ..." if len(who) > 6 else "")
    # bytes_out differences show up as unexpected or missing answers above.
    diff = exp["counters"]["bytes_in"] - counters.get("bytes_in", 0)
    who = [c["name"] for c in exp["cases"] if c["len"] == abs(diff)]
    if diff and who:
        ck.errors.append("bytes_in is %d bytes %s: as long as '%s'" % (
            abs(diff), "short" if diff > 0 else "over", "' or '".join(who[:3])))
    for name, v in exp["extra"].items():
        nctr += 1
        if a.ctl or not name.startswith("ctl_send"):
            ck.eq("report field %s" % name, stats.get(name), v)
    ck.eq("bytes_out equals the bytes of the answers in out.pcap", counters.get("bytes_out"),
          answer_bytes)

    n_ans = len(order)
    n_send = sum(1 for k, v in want.items() if v[0] == "send" and k in seen)
    for e in ck.errors:
        print("check_pcap: FAIL: %s" % e)
    n_relay = sum(1 for i in order if exp["cases"][i]["answer"]["kind"] == "relay")
    print("check_pcap: %d cases, %d output frames: %d answers verified field by field "
          "(%d reassembled from fragments, %d relayed ChannelData), %d control SEND frame(s); "
          "%d fields checked; %d counters compared%s"
          % (len(exp["cases"]), len(frames), n_ans, nfrag, n_relay, n_send, ck.fields, nctr,
             "" if not ck.errors else "; %d FAILURES" % len(ck.errors)))
    sys.exit(1 if ck.errors else 0)


if __name__ == "__main__":
    main()
