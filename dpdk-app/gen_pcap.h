/* gen_pcap.h — a classic pcap file as rvgen's packet templates.
 *
 * rvgen replays a scenario's pcap (pktgen-scenarios/): every record becomes
 * one template frame, sent in file order, round and round. Only what a
 * replay needs is accepted — classic pcap (either byte order, micro- or
 * nanosecond stamps), Ethernet link type, whole frames (caplen == wirelen)
 * that fit one mbuf — and anything else is refused with the record and the
 * byte offset, never guessed at: the file is input from anywhere.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define GEN_PCAP_MIN_FRAME  14u          /* an Ethernet header */
#define GEN_PCAP_MAX_FRAMES (1u << 26)   /* 64 M records */
#define GEN_PCAP_MAX_BYTES  (1ull << 32) /* 4 GiB file */

struct gen_pcap {
	uint8_t *buf;  /* the whole file (owned) */
	uint32_t *off; /* record i's frame is buf[off[i] .. off[i] + len[i]) */
	uint16_t *len;
	uint32_t n;
	uint64_t frame_bytes; /* sum of len[] */
};

/* Parse a pcap image already in memory; takes ownership of buf (malloc'd,
 * freed by gen_pcap_free, also on failure). Frames must be
 * GEN_PCAP_MIN_FRAME..max_frame bytes. Returns 0, or -EINVAL (malformed,
 * truncated, pcapng, wrong link type, a frame too short or too long,
 * no records), -EFBIG (too many records) or -ENOMEM, with err naming the
 * record and offset.  Context: pure (allocates the index). */
int gen_pcap_parse(uint8_t *buf, size_t len, uint16_t max_frame, struct gen_pcap *out, char *err,
                   size_t errlen);

/* Read path and gen_pcap_parse it. Returns 0 or a negative errno with err
 * filled ("in.pcap: ...").  Context: any (file I/O). */
int gen_pcap_load(const char *path, uint16_t max_frame, struct gen_pcap *out, char *err,
                  size_t errlen);

/* Release what parse/load allocated; safe on a zeroed struct.
 * Context: any. */
void gen_pcap_free(struct gen_pcap *p);
