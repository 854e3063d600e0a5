/* fuzz.h — what the fuzz harnesses share: the libFuzzer entry points, a
 * bounded reader over the fuzzer's bytes, the check that turns a broken
 * property into a crash, and the Internet checksum for harnesses that
 * repair the checksums of the packets they are given (so the fuzzer
 * spends its time past the checksum tests, not on them).
 *
 * Each harness (tests/fuzz/fuzz_*.c) defines LLVMFuzzerTestOneInput and
 * links either libFuzzer (clang, `make fuzz`) or tests/fuzz/replay.c (gcc
 * with ASan/UBSan, `make test`, which runs the committed corpus).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* A property the harness checks failed: a crash libFuzzer keeps (and the
 * replay main reports) with where and what. */
#define FZ_CHECK(cond)                                                                      \
	do {                                                                                \
		if (!(cond)) {                                                              \
			fprintf(stderr, "%s:%d: property failed: %s\n", __FILE__, __LINE__, \
			        #cond);                                                     \
			abort();                                                            \
		}                                                                           \
	} while (0)

/* The fuzzer's bytes, read front to back; past the end every read gives
 * zeros (so a short input is still a valid, if dull, program). */
struct fz {
	const uint8_t *p;
	size_t n;
};

static inline uint8_t fz_u8(struct fz *f)
{
	uint8_t v = 0;

	if (f->n) {
		v = f->p[0];
		f->p++;
		f->n--;
	}
	return v;
}

static inline uint16_t fz_u16(struct fz *f)
{
	uint16_t hi = fz_u8(f);

	return (uint16_t)(hi << 8 | fz_u8(f));
}

static inline uint32_t fz_u32(struct fz *f)
{
	uint32_t hi = fz_u16(f);

	return hi << 16 | fz_u16(f);
}

static inline uint64_t fz_u64(struct fz *f)
{
	uint64_t hi = fz_u32(f);

	return hi << 32 | fz_u32(f);
}

/* Up to n bytes (fewer at the end): a pointer into the input, *got set. */
static inline const uint8_t *fz_take(struct fz *f, size_t n, size_t *got)
{
	const uint8_t *q = f->p;

	*got = n < f->n ? n : f->n;
	f->p += *got;
	f->n -= *got;
	return q;
}

/* A chunk prefixed with its 16-bit length (clipped to what is left). */
static inline const uint8_t *fz_chunk(struct fz *f, size_t *got)
{
	return fz_take(f, fz_u16(f), got);
}

/* A heap copy of exactly n bytes, so ASan sees a read one byte past them
 * (the fuzzer's own buffer may have slack). Free with free(). */
static inline uint8_t *fz_dup(const uint8_t *p, size_t n)
{
	uint8_t *q = malloc(n ? n : 1);

	if (!q)
		abort();
	if (n)
		memcpy(q, p, n);
	return q;
}

/* RFC 1071 one's complement sum, and the 16-bit checksum to store. */
static inline uint32_t fz_sum(uint32_t sum, const uint8_t *p, size_t n)
{
	for (; n >= 2; p += 2, n -= 2)
		sum += (uint32_t)p[0] << 8 | p[1];
	if (n)
		sum += (uint32_t)p[0] << 8;
	return sum;
}

static inline uint16_t fz_csum(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* Repair the checksums of the IPv4 packet at ip (len bytes available):
 * the header's, and the UDP or ICMP one of an unfragmented packet whose
 * lengths are consistent. Anything else is left as it is. */
static inline void fz_fix_ipv4(uint8_t *ip, size_t len)
{
	size_t hl, tot;

	if (len < 20 || ip[0] >> 4 != 4)
		return;
	hl = (size_t)(ip[0] & 15) * 4;
	tot = (size_t)ip[2] << 8 | ip[3];
	if (hl < 20 || hl > len)
		return;
	ip[10] = ip[11] = 0;
	uint16_t c = fz_csum(fz_sum(0, ip, hl));
	ip[10] = (uint8_t)(c >> 8);
	ip[11] = (uint8_t)c;
	if (tot > len || tot < hl + 8 || (((size_t)ip[6] << 8 | ip[7]) & 0x3fff))
		return;
	uint8_t *l4 = ip + hl;
	size_t l4len = tot - hl;
	if (ip[9] == 17) {
		size_t ulen = (size_t)l4[4] << 8 | l4[5];
		uint8_t ph[12];
		if (ulen < 8 || ulen > l4len || (l4[6] == 0 && l4[7] == 0))
			return; /* a zero checksum means "none": keep it */
		memcpy(ph, ip + 12, 8);
		ph[8] = 0;
		ph[9] = 17;
		ph[10] = (uint8_t)(ulen >> 8);
		ph[11] = (uint8_t)ulen;
		l4[6] = l4[7] = 0;
		c = fz_csum(fz_sum(fz_sum(0, ph, 12), l4, ulen));
		if (c == 0)
			c = 0xffff;
		l4[6] = (uint8_t)(c >> 8);
		l4[7] = (uint8_t)c;
	} else if (ip[9] == 1) {
		l4[2] = l4[3] = 0;
		c = fz_csum(fz_sum(0, l4, l4len));
		l4[2] = (uint8_t)(c >> 8);
		l4[3] = (uint8_t)c;
	}
}
