"""dplib — shared by the rvdp pcap suite (tests/dp/): the test network's
addresses, SipHash-2-4, a small STUN encoder/decoder written from the RFCs
(independent of proto/), RFC 1071 checksums, a pcap reader, and the
rvdp <-> rvcontrol protocol codec (proto/dpctl.h).

Standard library only (python3-nacl is used when present, to cross-check
our SipHash against libsodium's, the implementation rvdp uses).
"""
import ipaddress
import struct
import zlib

# --- the test network -------------------------------------------------------

SRV_MAC = "02:00:00:00:00:01"
SRV_IP = ["192.0.2.1", "192.0.2.2"]  # primary, alternate (rvdp --addr/--alt-addr)
SRV_PORT = [3478, 3479]              # primary, alternate (defaults)

STUN_MAGIC = 0x2112A442
FP_XOR = 0x5354554E

# STUN classes (RFC 8489 §5)
REQUEST, INDICATION, SUCCESS, ERROR = 0, 1, 2, 3

# attribute types
A_MAPPED = 0x0001
A_RESPONSE_ADDRESS = 0x0002
A_CHANGE_REQUEST = 0x0003
A_SOURCE_ADDRESS = 0x0004
A_CHANGED_ADDRESS = 0x0005
A_MESSAGE_INTEGRITY = 0x0008
A_ERROR_CODE = 0x0009
A_UNKNOWN_ATTRIBUTES = 0x000A
A_XOR_MAPPED = 0x0020
A_PADDING = 0x0026
A_RESPONSE_PORT = 0x0027
A_SOFTWARE = 0x8022
A_FINGERPRINT = 0x8028
A_RESPONSE_ORIGIN = 0x802B
A_OTHER_ADDRESS = 0x802C
A_RV_BASE = 0xC700
A_RV_VERSION = A_RV_BASE + 0
A_RV_DEVICE_ID = A_RV_BASE + 1
A_RV_TICKET = A_RV_BASE + 5
A_RV_LOCATOR = A_RV_BASE + 6
A_RV_SESSION = A_RV_BASE + 7
A_RV_TIME = A_RV_BASE + 9
A_RV_ATTEMPT = A_RV_BASE + 24
A_RV_PROBE = A_RV_BASE + 34  # 0xC722

PROBE_REPLY = 0x80
PROBE_KINDS = {1: "delta", 2: "range-before", 3: "range-after", 4: "characteristic",
               5: "keepalive", 6: "relay"}
PROBE_RELAY = 6   # binds a relay side: session = relay ID, flags = side
PROBE_SIDE = 0x01  # ... the callee's

ATTR_NAMES = {
    A_MAPPED: "MAPPED-ADDRESS", A_CHANGE_REQUEST: "CHANGE-REQUEST",
    A_SOURCE_ADDRESS: "SOURCE-ADDRESS", A_CHANGED_ADDRESS: "CHANGED-ADDRESS",
    A_ERROR_CODE: "ERROR-CODE", A_UNKNOWN_ATTRIBUTES: "UNKNOWN-ATTRIBUTES",
    A_XOR_MAPPED: "XOR-MAPPED-ADDRESS", A_PADDING: "PADDING",
    A_RESPONSE_PORT: "RESPONSE-PORT", A_SOFTWARE: "SOFTWARE",
    A_FINGERPRINT: "FINGERPRINT", A_RESPONSE_ORIGIN: "RESPONSE-ORIGIN",
    A_OTHER_ADDRESS: "OTHER-ADDRESS", A_RV_PROBE: "RV-PROBE",
}


def attr_name(t):
    return ATTR_NAMES.get(t, "0x%04x" % t)


def ip4(s):
    return ipaddress.IPv4Address(s).packed


def ip4s(b):
    return str(ipaddress.IPv4Address(bytes(b)))


def mac_bytes(s):
    return bytes(int(x, 16) for x in s.split(":"))


def mac_str(b):
    return ":".join("%02x" % x for x in b)


# --- SipHash-2-4 --------------------------------------------------------------

_M64 = (1 << 64) - 1


def _rotl(x, b):
    return ((x << b) | (x >> (64 - b))) & _M64


def siphash24_py(key, msg):
    """SipHash-2-4 (Aumasson & Bernstein), 16-byte key; returns the 8-byte
    little-endian tag, as libsodium's crypto_shorthash_siphash24 does."""
    assert len(key) == 16
    k0, k1 = struct.unpack("<QQ", key)
    v = [k0 ^ 0x736F6D6570736575, k1 ^ 0x646F72616E646F6D,
         k0 ^ 0x6C7967656E657261, k1 ^ 0x7465646279746573]

    def rounds(n):
        for _ in range(n):
            v[0] = (v[0] + v[1]) & _M64; v[1] = _rotl(v[1], 13); v[1] ^= v[0]
            v[0] = _rotl(v[0], 32)
            v[2] = (v[2] + v[3]) & _M64; v[3] = _rotl(v[3], 16); v[3] ^= v[2]
            v[0] = (v[0] + v[3]) & _M64; v[3] = _rotl(v[3], 21); v[3] ^= v[0]
            v[2] = (v[2] + v[1]) & _M64; v[1] = _rotl(v[1], 17); v[1] ^= v[2]
            v[2] = _rotl(v[2], 32)

    n = len(msg)
    end = n - n % 8
    for i in range(0, end, 8):
        m = struct.unpack_from("<Q", msg, i)[0]
        v[3] ^= m
        rounds(2)
        v[0] ^= m
    last = (n & 0xFF) << 56
    for i, c in enumerate(msg[end:]):
        last |= c << (8 * i)
    v[3] ^= last
    rounds(2)
    v[0] ^= last
    v[2] ^= 0xFF
    rounds(4)
    return struct.pack("<Q", v[0] ^ v[1] ^ v[2] ^ v[3])


# The reference vector of the SipHash paper (appendix A): key 00..0f,
# message 00..0e, tag 0xa129ca6149be45e5.
_VEC_KEY = bytes(range(16))
_VEC_MSG = bytes(range(15))
_VEC_TAG = struct.pack("<Q", 0xA129CA6149BE45E5)


def siphash_selftest():
    """Check our SipHash against the paper's vector and, when python3-nacl
    is installed, against libsodium on a range of lengths. Returns a
    description of what was checked; raises AssertionError on a mismatch."""
    assert siphash24_py(_VEC_KEY, _VEC_MSG) == _VEC_TAG, "SipHash-2-4 reference vector"
    try:
        import nacl.bindings as nb  # Debian python3-nacl
    except ImportError:
        return "SipHash-2-4: reference vector ok (python3-nacl absent: no libsodium cross-check)"
    for n in range(0, 64):
        msg = bytes((7 * i + n) & 0xFF for i in range(n))
        key = bytes((3 * i + n) & 0xFF for i in range(16))
        assert nb.crypto_shorthash_siphash24(msg, key) == siphash24_py(key, msg), \
            "SipHash-2-4 differs from libsodium at length %d" % n
    return "SipHash-2-4: reference vector ok, equal to libsodium on lengths 0..63"


def probe_mac(key, txid, session, kind, flags, seq, observed=None):
    """RV-PROBE MAC (proto/WIRE.md): SipHash-2-4(key, txid(12) || session(8)
    || kind || flags || seq(2) [|| family(1) || port(2) || ip(16)])."""
    msg = bytes(txid) + struct.pack(">QBBH", session, kind, flags, seq)
    if flags & PROBE_REPLY:
        if observed is None:  # as proto/probe.c: no observation, zeros
            msg += bytes(19)
        else:
            ip, port = observed
            msg += struct.pack(">BH", 1, port) + ip4(ip) + bytes(12)
    return siphash24_py(bytes(key), msg)


# --- checksums ------------------------------------------------------------------

def csum_sum(data, s=0):
    if len(data) & 1:
        data = bytes(data) + b"\0"
    for i in range(0, len(data), 2):
        s += data[i] << 8 | data[i + 1]
    return s


def csum_fold(s):
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return s


def ones_ok(data, s=0):
    """True when the RFC 1071 sum of data (plus s) is 0xffff."""
    return csum_fold(csum_sum(data, s)) == 0xFFFF


def udp_pseudo(ip_hdr, udp_len):
    return csum_sum(ip_hdr[12:20]) + 17 + udp_len


def ip_checksum(hdr):
    """The RFC 1071 checksum field for a 20-byte IPv4 header (its own field
    taken as zero)."""
    h = bytearray(hdr)
    h[10:12] = b"\0\0"
    return 0xFFFF - csum_fold(csum_sum(h))


# --- IPv4 fragments (RFC 791) ------------------------------------------------------

IP_DF, IP_MF, IP_OFFMASK = 0x4000, 0x2000, 0x1FFF


def ip_fragment(ip, size=None, cuts=None, ident=None):
    """Cut an IPv4 packet (bytes, 20-byte header) into fragments, every
    `size` payload bytes (a multiple of 8), or at explicit cuts
    [(offset, length, more)] (which may overlap, lie or leave holes: test
    input). DF cleared, each header checksummed. Returns a list of bytes."""
    hdr, body = bytearray(ip[:20]), bytes(ip[20:struct.unpack_from(">H", ip, 2)[0]])
    if ident is not None:
        struct.pack_into(">H", hdr, 4, ident)
    if cuts is None:
        assert size and size % 8 == 0
        cuts = [(o, min(size, len(body) - o), o + size < len(body))
                for o in range(0, len(body), size)]
    out = []
    for off, n, more in cuts:
        assert off % 8 == 0
        h = bytearray(hdr)
        struct.pack_into(">HHH", h, 2, 20 + n, struct.unpack_from(">H", hdr, 4)[0],
                         off // 8 | (IP_MF if more else 0))
        struct.pack_into(">H", h, 10, ip_checksum(h))
        out.append(bytes(h) + body[off:off + n].ljust(n, b"\0"))
    return out


# --- STUN encoding -------------------------------------------------------------

def stun_type(method, cls):
    return ((method & 0x000F) | (method & 0x0070) << 1 | (method & 0x0F80) << 2 |
            (cls & 1) << 4 | (cls & 2) << 7)


def stun_method_cls(t):
    return ((t & 0x000F) | (t >> 1 & 0x0070) | (t >> 2 & 0x0F80),
            (t >> 4 & 1) | (t >> 7 & 2))


def attr(t, value):
    pad = (-len(value)) % 4
    return struct.pack(">HH", t, len(value)) + bytes(value) + b"\0" * pad


def stun(method, cls, tid, attrs=(), fingerprint=False, classic=False, raw_attrs=b""):
    """A STUN message. tid: 12 bytes (cookie added) or, classic, 16 bytes
    (RFC 3489's 128-bit ID, no cookie). attrs: [(type, value bytes)]."""
    body = b"".join(attr(t, v) for t, v in attrs) + raw_attrs
    idb = bytes(tid) if classic else struct.pack(">I", STUN_MAGIC) + bytes(tid)
    assert len(idb) == 16
    if fingerprint:
        hdr = struct.pack(">HH", stun_type(method, cls), len(body) + 8) + idb
        crc = zlib.crc32(hdr + body) ^ FP_XOR
        body += attr(A_FINGERPRINT, struct.pack(">I", crc))
    return struct.pack(">HH", stun_type(method, cls), len(body)) + idb + body


def addr_value(ip, port, xor=False):
    p, a = port, ip4(ip)
    if xor:
        p ^= STUN_MAGIC >> 16
        a = bytes(x ^ y for x, y in zip(a, struct.pack(">I", STUN_MAGIC)))
    return struct.pack(">BBH", 0, 1, p) + a


def change_request(ip=False, port=False):
    return (A_CHANGE_REQUEST, struct.pack(">I", (4 if ip else 0) | (2 if port else 0)))


def response_port(port):
    return (A_RESPONSE_PORT, struct.pack(">HH", port, 0))


def probe_attr(session, kind, flags, seq, mac):
    return (A_RV_PROBE, struct.pack(">QBBH", session, kind, flags, seq) + bytes(mac))


# --- STUN decoding (for the checker) ------------------------------------------

class StunError(Exception):
    pass


def stun_parse(b):
    """Parse one STUN message strictly: header, length, every attribute in
    bounds. Returns a dict: type, method, cls, id (bytes 4..19), classic,
    attrs [(type, value, offset of the attribute header)]."""
    if len(b) < 20:
        raise StunError("shorter than a STUN header (%d bytes)" % len(b))
    t, ln = struct.unpack_from(">HH", b, 0)
    if t & 0xC000:
        raise StunError("top bits set")
    if ln + 20 != len(b) or ln & 3:
        raise StunError("header length %d for a %d-byte datagram" % (ln, len(b)))
    method, cls = stun_method_cls(t)
    attrs = []
    off = 20
    while off < len(b):
        if len(b) - off < 4:
            raise StunError("attribute header truncated at %d" % off)
        at, al = struct.unpack_from(">HH", b, off)
        padded = (al + 3) & ~3
        if off + 4 + padded > len(b):
            raise StunError("attribute 0x%04x runs past the end" % at)
        if b[off + 4 + al:off + 4 + padded].strip(b"\0"):
            raise StunError("attribute 0x%04x: non-zero padding" % at)
        attrs.append((at, bytes(b[off + 4:off + 4 + al]), off))
        off += 4 + padded
    return {"type": t, "method": method, "cls": cls, "id": bytes(b[4:20]),
            "classic": struct.unpack_from(">I", b, 4)[0] != STUN_MAGIC, "attrs": attrs,
            "raw": bytes(b)}


def stun_attr(m, t):
    for at, v, _ in m["attrs"]:
        if at == t:
            return v
    return None


def decode_addr(v, xor=False, idb=None):
    if len(v) != 8 or v[1] != 1:
        raise StunError("not an 8-byte IPv4 address attribute (len %d)" % len(v))
    port = struct.unpack_from(">H", v, 2)[0]
    a = bytes(v[4:8])
    if xor:
        port ^= STUN_MAGIC >> 16
        a = bytes(x ^ y for x, y in zip(a, struct.pack(">I", STUN_MAGIC)))
    return [ip4s(a), port]


def fingerprint_ok(m):
    """FINGERPRINT is the last attribute and right (RFC 8489 §14.7)."""
    at, v, off = m["attrs"][-1]
    if at != A_FINGERPRINT or len(v) != 4:
        return False
    return struct.unpack(">I", v)[0] == zlib.crc32(m["raw"][:off]) ^ FP_XOR


# --- pcap ------------------------------------------------------------------------

def pcap_read(path):
    """Frames of a classic pcap file (any byte order, us or ns)."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        raise ValueError("%s: no pcap header (%d bytes)" % (path, len(data)))
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        e = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        e = ">"
    else:
        raise ValueError("%s: not a pcap file" % path)
    linktype = struct.unpack_from(e + "I", data, 20)[0]
    if linktype != 1:
        raise ValueError("%s: link type %d, want Ethernet" % (path, linktype))
    frames, off = [], 24
    while off < len(data):
        if off + 16 > len(data):
            raise ValueError("%s: truncated record header at %d" % (path, off))
        _, _, caplen, wirelen = struct.unpack_from(e + "IIII", data, off)
        off += 16
        if off + caplen > len(data):
            raise ValueError("%s: truncated record at %d" % (path, off))
        if caplen != wirelen:
            raise ValueError("%s: frame cut by snaplen (%d of %d)" % (path, caplen, wirelen))
        frames.append(data[off:off + caplen])
        off += caplen
    return frames


# --- proto/dpctl.h ------------------------------------------------------------------

DPC_VERSION = 1
DPC_HELLO, DPC_PUNT, DPC_SEND, DPC_SESSION_SET, DPC_SESSION_DEL, DPC_FLUSH, \
    DPC_OBS_QUERY, DPC_OBS_REPLY, DPC_RELAY_SET, DPC_RELAY_DEL, DPC_RELAY_QUERY, \
    DPC_RELAY_REPLY = range(1, 13)
DPC_NAMES = {1: "HELLO", 2: "PUNT", 3: "SEND", 4: "SESSION_SET", 5: "SESSION_DEL",
             6: "FLUSH", 7: "OBS_QUERY", 8: "OBS_REPLY", 9: "RELAY_SET", 10: "RELAY_DEL",
             11: "RELAY_QUERY", 12: "RELAY_REPLY"}
# RELAY_REPLY flags: why a relay refuses traffic
DPC_RELAY_EXPIRED, DPC_RELAY_OVER_BYTES, DPC_RELAY_RATE_DROPS = 0x01, 0x02, 0x04


def dpc_relay_set(relay, key, channel, expires_ms, quota_bytes, rate_pps, burst):
    """RELAY_SET's body (proto/dpctl.h)."""
    return struct.pack(">Q", relay) + bytes(key) + struct.pack(">HHQQII", channel, 0, expires_ms,
                                                               quota_bytes, rate_pps, burst)


def dpc_hdr(t, seq):
    return struct.pack(">BBHI", DPC_VERSION, t, 0, seq)


def dpc_addr(ip, port, family=1):
    return struct.pack(">BBH", family, 0, port) + ip4(ip) + bytes(12)


def dpc_get_addr(b, off):
    fam, _, port = struct.unpack_from(">BBH", b, off)
    raw = bytes(b[off + 4:off + 20])
    if fam != 1:
        raise ValueError("address family %d, want IPv4 (1)" % fam)
    if raw[4:].strip(b"\0"):
        raise ValueError("IPv4 address with non-zero bytes after the first four")
    return [ip4s(raw[:4]), port]


def dpc_path(port, queue, mac):
    return struct.pack(">HH", port, queue) + mac_bytes(mac) + bytes(2)


def dpc_decode(b):
    """Decode one message from rvdp into a dict (raises ValueError)."""
    if len(b) < 8:
        raise ValueError("message of %d bytes" % len(b))
    ver, t, _, seq = struct.unpack_from(">BBHI", b, 0)
    if ver != DPC_VERSION:
        raise ValueError("version %d" % ver)
    m = {"type": t, "name": DPC_NAMES.get(t, "?%d" % t), "seq": seq}
    body = b[8:]
    if t == DPC_HELLO:
        if len(body) != 40:
            raise ValueError("HELLO body of %d bytes, want 40" % len(body))
        m["primary"] = dpc_get_addr(body, 0)
        m["alternate"] = dpc_get_addr(body, 20)
    elif t in (DPC_PUNT, DPC_SEND):
        if len(body) < 52:
            raise ValueError("%s body of %d bytes" % (m["name"], len(body)))
        port, queue = struct.unpack_from(">HH", body, 0)
        m["path"] = {"port": port, "queue": queue, "mac": mac_str(body[4:10]),
                     "reserved": body[10:12].hex()}
        m["src"] = dpc_get_addr(body, 12)
        m["dst"] = dpc_get_addr(body, 32)
        m["payload"] = bytes(body[52:]).hex()
    elif t == DPC_OBS_REPLY:
        if len(body) < 16:
            raise ValueError("OBS_REPLY body of %d bytes" % len(body))
        session, status, n = struct.unpack_from(">QiB", body, 0)
        if len(body) != 16 + 20 * n:
            raise ValueError("OBS_REPLY with n=%d but %d body bytes" % (n, len(body)))
        obs = []
        for i in range(n):
            t_ms, ip, port, oseq, kind = struct.unpack_from(">QIHHB", body, 16 + 20 * i)
            obs.append({"t_ms": t_ms, "ip": ip4s(struct.pack(">I", ip)), "port": port,
                        "seq": oseq, "kind": kind})
        m.update(session=session, status=status, obs=obs)
    elif t == DPC_RELAY_REPLY:
        if len(body) != 16 + 2 * 52:
            raise ValueError("RELAY_REPLY body of %d bytes, want 120" % len(body))
        relay, status, flags = struct.unpack_from(">QiB", body, 0)
        if body[13:16] != b"\0\0\0":
            raise ValueError("RELAY_REPLY reserved bytes not zero")
        sides = []
        for i in range(2):
            off = 16 + 52 * i
            fam = body[off]
            bound = None if fam == 0 and not body[off:off + 20].strip(b"\0") \
                else dpc_get_addr(body, off)
            packets, nbytes, dropped, seen = struct.unpack_from(">QQQQ", body, off + 20)
            sides.append({"bound": bound, "packets": packets, "bytes": nbytes,
                          "dropped": dropped, "seen_ms": seen})
        m.update(relay=relay, status=status, flags=flags, sides=sides)
    else:
        raise ValueError("unexpected message type %d from rvdp" % t)
    return m


def pcap_write(path, frames, t0=1795000000):
    """A classic little-endian microsecond pcap of Ethernet frames."""
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i, fr in enumerate(frames):
            f.write(struct.pack("<IIII", t0 + i // 1000, (i % 1000) * 1000, len(fr), len(fr)))
            f.write(fr)
