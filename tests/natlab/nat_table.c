#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "nat_table.h"

struct nat_sess {
	uint32_t ip;
	uint16_t port;
	int32_t next; /* next permission of the same mapping, or of the free list */
};

struct nat_table {
	uint32_t cap, count, sess_cap;
	int32_t sess_free;
	struct nat_map *maps;
	struct nat_sess *sess;
	uint16_t by_ext[NAT_SPACE_COUNT][65536]; /* index + 1; 0 = free */
};

struct nat_table *nat_table_new(uint32_t max_maps, uint32_t max_sess)
{
	struct nat_table *t;

	if (max_maps == 0 || max_maps > 65535 || max_sess == 0) {
		errno = EINVAL;
		return NULL;
	}
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->maps = calloc(max_maps, sizeof(*t->maps));
	t->sess = calloc(max_sess, sizeof(*t->sess));
	if (!t->maps || !t->sess) {
		nat_table_free(t);
		errno = ENOMEM;
		return NULL;
	}
	t->cap = max_maps;
	t->sess_cap = max_sess;
	for (uint32_t i = 0; i < max_sess; i++)
		t->sess[i].next = i + 1 < max_sess ? (int32_t)i + 1 : -1;
	t->sess_free = 0;
	return t;
}

void nat_table_free(struct nat_table *t)
{
	if (!t)
		return;
	free(t->maps);
	free(t->sess);
	free(t);
}

uint32_t nat_table_cap(const struct nat_table *t)
{
	return t->cap;
}

uint32_t nat_table_count(const struct nat_table *t)
{
	return t->count;
}

struct nat_map *nat_table_at(struct nat_table *t, uint32_t i)
{
	return &t->maps[i];
}

int nat_table_find_out(const struct nat_table *t, enum nat_space sp, enum rv_map m, uint32_t int_ip,
                       uint16_t int_port, uint32_t dst_ip, uint16_t dst_port)
{
	for (uint32_t i = 0; i < t->cap; i++) {
		const struct nat_map *e = &t->maps[i];

		if (!e->used || e->bg || e->space != sp || e->int_ip != int_ip ||
		    e->int_port != int_port)
			continue;
		if (m == RV_MAP_AD && e->key_ip != dst_ip)
			continue;
		if (m == RV_MAP_APD && (e->key_ip != dst_ip || e->key_port != dst_port))
			continue;
		return (int)i;
	}
	return -1;
}

int nat_table_find_ext(const struct nat_table *t, enum nat_space sp, uint16_t ext)
{
	return (int)t->by_ext[sp][ext] - 1;
}

int nat_table_add(struct nat_table *t, const struct nat_map *m)
{
	for (uint32_t i = 0; i < t->cap; i++) {
		struct nat_map *e = &t->maps[i];

		if (e->used)
			continue;
		*e = *m;
		e->used = true;
		e->sess_head = -1;
		t->by_ext[m->space][m->ext_port] = (uint16_t)(i + 1);
		t->count++;
		return (int)i;
	}
	return -ENOSPC;
}

void nat_table_del(struct nat_table *t, uint32_t i)
{
	struct nat_map *e = &t->maps[i];
	int32_t s = e->sess_head;

	if (!e->used)
		return;
	while (s >= 0) {
		int32_t next = t->sess[s].next;

		t->sess[s].next = t->sess_free;
		t->sess_free = s;
		s = next;
	}
	if (t->by_ext[e->space][e->ext_port] == i + 1)
		t->by_ext[e->space][e->ext_port] = 0;
	memset(e, 0, sizeof(*e));
	t->count--;
}

bool nat_table_permitted(const struct nat_table *t, uint32_t i, uint32_t ip, uint16_t port,
                         bool with_port)
{
	for (int32_t s = t->maps[i].sess_head; s >= 0; s = t->sess[s].next)
		if (t->sess[s].ip == ip && (!with_port || t->sess[s].port == port))
			return true;
	return false;
}

int nat_table_permit(struct nat_table *t, uint32_t i, uint32_t ip, uint16_t port)
{
	struct nat_map *e = &t->maps[i];
	int32_t s;

	if (nat_table_permitted(t, i, ip, port, true))
		return 0;
	s = t->sess_free;
	if (s < 0)
		return -ENOSPC;
	t->sess_free = t->sess[s].next;
	t->sess[s].ip = ip;
	t->sess[s].port = port;
	t->sess[s].next = e->sess_head;
	e->sess_head = s;
	return 0;
}
