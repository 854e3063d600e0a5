/* dp_table.h — the sessions table: session ID -> probe key, expiry, the
 * per-session probe rate limit, and the ring of observed public endpoints.
 *
 * A liburcu lock-free hash table (cds_lfht), QSBR flavour (DESIGN §2.1).
 * Only the table files (this one's .c and dp_relay.c) include
 * urcu/rculfhash.h, through dp_lfht.h. Session IDs come from the control
 * plane, so chains are as long as its IDs make them; probe IDs only choose
 * which chain a negative lookup walks, and a seeded hash hides even that.
 *
 * Threads:
 *   - lcores (RCU readers) look sessions up inside their poll loop and
 *     record observations into the session they found. They are registered
 *     QSBR threads, online while polling, and announce a quiescent state once
 *     per loop. A struct dp_ref is valid only until the caller's next
 *     quiescent state: never keep one across loops.
 *   - one writer (rvdp's control thread, itself a registered QSBR thread,
 *     online except around blocking calls) adds, replaces, removes and
 *     expires sessions and reads observations; removed nodes are freed with
 *     call_rcu, never in place.
 * Every function below names the thread that may call it.
 *
 * Observations are IPv4 (rvdp owns two public IPv4 addresses). A node is
 * small and fixed-size: see dp_table_node_bytes() for the per-session cost.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DP_KEY_LEN  16 /* SipHash-2-4 probe key (proto/msg.h RV_PROBE_KEY_LEN) */
#define DP_OBS_RING 8  /* observations kept per session, newest overwrite oldest */

/* One observed probe: when, from which public endpoint, which probe. */
struct dp_obs {
	uint64_t t_ms; /* caller's clock (rvdp: Unix ms) */
	uint32_t ip;   /* observed source IPv4, host byte order */
	uint16_t port; /* observed source port */
	uint16_t seq;  /* probe sequence number */
	uint8_t kind;  /* enum rv_probe_kind */
};

/* What a lookup copies out for the lcore, plus a handle to record into the
 * same node. The handle is valid until the caller's next quiescent state. */
struct dp_ref {
	uint8_t key[DP_KEY_LEN];
	uint64_t expires_ms;
	void *node; /* opaque; for dp_table_record / dp_table_rate */
};

struct dp_table;

/* Create an empty table (initial and maximum bucket counts are powers of
 * two; the table grows automatically between them). seed keys the hash of
 * session IDs. Returns NULL and sets errno on failure.
 * Context: dp writer thread (before lcores start or while they run). */
struct dp_table *dp_table_create(uint64_t seed, unsigned long init_buckets,
                                 unsigned long max_buckets);

/* Free every node and the table. Call only after lcores stopped reading and
 * urcu_qsbr_barrier() ran (no call_rcu pending).  Context: dp writer
 * thread, at shutdown. */
void dp_table_destroy(struct dp_table *t);

/* Add a session, or replace it when the ID exists (a re-registration: new
 * key, new expiry, observations cleared, rate bucket full). rate_pps and
 * burst bound the session's authenticated probes (either 0 = unlimited;
 * burst is capped at 4,294,967). Each time the count reaches a power of two
 * it resizes the table synchronously, offline for that while (a backstop
 * for liburcu's lazy resize, see the .c). Returns 0 or -ENOMEM.
 * Context: dp writer thread, holding no node of its own. */
int dp_table_set(struct dp_table *t, uint64_t session, const uint8_t key[DP_KEY_LEN],
                 uint64_t expires_ms, uint32_t rate_pps, uint32_t burst);

/* Remove a session. Returns 0 or -ENOENT.  Context: dp writer thread. */
int dp_table_del(struct dp_table *t, uint64_t session);

/* Visit the next DP_SWEEP_BUDGET sessions (in table order, going on where
 * the last call stopped, round after round) and remove those whose expiry
 * is <= now_ms. Returns how many. Bounded work per call, so the control
 * thread's tick costs the same at 1 K and 10 M sessions; a full round
 * takes count / DP_SWEEP_BUDGET calls (lookups already refuse an expired
 * session, and rvcontrol deletes what it expires: this is the safety net).
 * Context: dp writer thread. */
#define DP_SWEEP_BUDGET 4096
size_t dp_table_expire(struct dp_table *t, uint64_t now_ms);

/* Remove every session (rvcontrol restarted and will repopulate).
 * Returns how many.  Context: dp writer thread. */
size_t dp_table_flush(struct dp_table *t);

/* Sessions in the table (approximate while lcores run).  Context: any
 * registered QSBR thread. */
size_t dp_table_count(struct dp_table *t);

/* Copy a session's observations (the newest cap of them when there are
 * more), oldest first, into out[0..cap). Entries being written concurrently
 * are skipped, never returned torn. Returns the count copied or -ENOENT.
 * Context: dp writer thread. */
int dp_table_obs(struct dp_table *t, uint64_t session, struct dp_obs *out, size_t cap);

/* Sessions the prefetch index holds (the rest are found by cds_lfht
 * alone), for telemetry and tests. Walks the index: O(table buckets / 8).
 * Context: dp writer thread. */
size_t dp_table_indexed(struct dp_table *t);

/* Bytes one session costs (node + ring), for the sizing report.
 * Context: any. */
size_t dp_table_node_bytes(void);

/* Look a session up: 0 with *out filled, -ENOENT when absent or expired at
 * now_ms.  Context: lcore (RCU reader, online). */
int dp_table_lookup(struct dp_table *t, uint64_t session, uint64_t now_ms, struct dp_ref *out);

/* Prefetching a burst's lookups. A lookup with millions of sessions is a
 * few dependent cache misses; a burst hides them by running the steps for
 * all its probes before handling the first: dp_table_pf_line for each
 * (the index line the session hashes to), then dp_table_pf_node (the node
 * that line names, its first two lines), then dp_table_pf_ring (the ring
 * slot the next observation takes), then dp_table_lookup and the rest find
 * everything in cache. Hints only: they change nothing, and a session the
 * index does not hold (or that is absent) is simply not prefetched.
 * Context: lcore (RCU reader), all in one read-side section. */
struct dp_pf {
	unsigned long hash;
	void *node; /* NULL: nothing to prefetch */
};
void dp_table_pf_line(struct dp_table *t, uint64_t session, struct dp_pf *pf);
void dp_table_pf_node(struct dp_table *t, uint64_t session, struct dp_pf *pf);
void dp_table_pf_ring(const struct dp_pf *pf);

/* Take one token from the session's probe bucket: true when the probe may
 * be answered. Lock-free and approximate under concurrent lcores (a race
 * can grant a token twice, never block).  Context: lcore (RCU reader),
 * same read-side section as the lookup. */
bool dp_table_rate(const struct dp_ref *ref, uint64_t now_ms);

/* Append an observation to the session's ring (lock-free; several lcores
 * may record into one session at once).  Context: lcore (RCU reader), same
 * read-side section as the lookup. */
void dp_table_record(const struct dp_ref *ref, const struct dp_obs *o);
