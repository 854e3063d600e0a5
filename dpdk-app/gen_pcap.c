/* gen_pcap.c — classic pcap reader for rvgen (gen_pcap.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dpdk-app/gen_pcap.h"

#define HDR_LEN           24u
#define REC_LEN           16u
#define LINKTYPE_ETHERNET 1u

static uint32_t rd32(const uint8_t *p, bool swap)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return swap ? __builtin_bswap32(v) : v;
}

static int bad(struct gen_pcap *out, int rc, char *err, size_t errlen, const char *fmt, ...)
        __attribute__((format(printf, 5, 6)));

static int bad(struct gen_pcap *out, int rc, char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	gen_pcap_free(out);
	return rc;
}

/* The byte order the magic says, or -1 (not classic pcap). */
static int byte_order(const uint8_t *p, bool *swap)
{
	uint32_t m;

	memcpy(&m, p, 4);
	if (m == 0xa1b2c3d4u || m == 0xa1b23c4du) {
		*swap = false;
		return 0;
	}
	if (m == 0xd4c3b2a1u || m == 0x4d3cb2a1u) {
		*swap = true;
		return 0;
	}
	return -1;
}

int gen_pcap_parse(uint8_t *buf, size_t len, uint16_t max_frame, struct gen_pcap *out, char *err,
                   size_t errlen)
{
	uint64_t pos, n = 0;
	bool swap;

	memset(out, 0, sizeof(*out));
	out->buf = buf;
	if (len < HDR_LEN)
		return bad(out, -EINVAL, err, errlen, "%zu bytes: shorter than a pcap header", len);
	if (!memcmp(buf, "\x0a\x0d\x0d\x0a", 4))
		return bad(out, -EINVAL, err, errlen,
		           "pcapng is not supported (convert: editcap -F pcap IN OUT)");
	if (byte_order(buf, &swap) < 0)
		return bad(out, -EINVAL, err, errlen, "not a pcap file (magic %02x%02x%02x%02x)",
		           buf[0], buf[1], buf[2], buf[3]);
	if (rd32(buf + 20, swap) != LINKTYPE_ETHERNET)
		return bad(out, -EINVAL, err, errlen, "link type %u, want Ethernet (1)",
		           rd32(buf + 20, swap));
	/* Pass 1: validate every record and count them. */
	for (pos = HDR_LEN; pos < len; n++) {
		uint32_t cap, wire;

		if (len - pos < REC_LEN)
			return bad(out, -EINVAL, err, errlen,
			           "record %llu at byte %llu: truncated record header",
			           (unsigned long long)n, (unsigned long long)pos);
		cap = rd32(buf + pos + 8, swap);
		wire = rd32(buf + pos + 12, swap);
		if (cap > len - pos - REC_LEN)
			return bad(out, -EINVAL, err, errlen,
			           "record %llu at byte %llu: %u bytes announced, %llu left",
			           (unsigned long long)n, (unsigned long long)pos, cap,
			           (unsigned long long)(len - pos - REC_LEN));
		if (cap != wire)
			return bad(
			        out, -EINVAL, err, errlen,
			        "record %llu at byte %llu: frame cut to %u of %u bytes (snaplen)",
			        (unsigned long long)n, (unsigned long long)pos, cap, wire);
		if (cap < GEN_PCAP_MIN_FRAME || cap > max_frame)
			return bad(out, -EINVAL, err, errlen,
			           "record %llu at byte %llu: a %u-byte frame (want %u..%u)",
			           (unsigned long long)n, (unsigned long long)pos, cap,
			           GEN_PCAP_MIN_FRAME, max_frame);
		if (n == GEN_PCAP_MAX_FRAMES)
			return bad(out, -EFBIG, err, errlen, "more than %u records",
			           GEN_PCAP_MAX_FRAMES);
		pos += REC_LEN + cap;
	}
	if (!n)
		return bad(out, -EINVAL, err, errlen, "no records");
	out->off = malloc(n * sizeof(*out->off));
	out->len = malloc(n * sizeof(*out->len));
	if (!out->off || !out->len)
		return bad(out, -ENOMEM, err, errlen, "%llu records: out of memory",
		           (unsigned long long)n);
	/* Pass 2: the index. */
	for (pos = HDR_LEN; out->n < n; out->n++) {
		uint32_t cap = rd32(buf + pos + 8, swap);

		out->off[out->n] = (uint32_t)(pos + REC_LEN);
		out->len[out->n] = (uint16_t)cap;
		out->frame_bytes += cap;
		pos += REC_LEN + cap;
	}
	return 0;
}

int gen_pcap_load(const char *path, uint16_t max_frame, struct gen_pcap *out, char *err,
                  size_t errlen)
{
	char why[256];
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	long size;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!f) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(-rc));
		return rc;
	}
	if (fseek(f, 0, SEEK_END) < 0 || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) < 0) {
		rc = -errno;
		snprintf(err, errlen, "%s: cannot size it: %s", path, strerror(-rc));
		goto err;
	}
	if ((uint64_t)size >= GEN_PCAP_MAX_BYTES) {
		rc = -EFBIG;
		snprintf(err, errlen, "%s: %ld bytes, the limit is 4 GiB", path, size);
		goto err;
	}
	buf = malloc(size ? (size_t)size : 1);
	if (!buf) {
		rc = -ENOMEM;
		snprintf(err, errlen, "%s: %ld bytes: out of memory", path, size);
		goto err;
	}
	if (fread(buf, 1, (size_t)size, f) != (size_t)size) {
		rc = ferror(f) ? -EIO : -EINVAL;
		snprintf(err, errlen, "%s: short read", path);
		free(buf);
		goto err;
	}
	fclose(f);
	rc = gen_pcap_parse(buf, (size_t)size, max_frame, out, why, sizeof(why));
	if (rc < 0)
		snprintf(err, errlen, "%s: %s", path, why);
	return rc;
err:
	fclose(f);
	return rc;
}

void gen_pcap_free(struct gen_pcap *p)
{
	free(p->buf);
	free(p->off);
	free(p->len);
	memset(p, 0, sizeof(*p));
}
