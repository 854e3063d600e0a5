/* Key files: generation, rotation with an overlap window, parsing. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "control/ctl_keys.h"
#include "proto/rv_err.h"
#include "proto/ticket.h"

static char dir[64];
static char err[256];

static void setup(void)
{
	strcpy(dir, "/tmp/rvkeysXXXXXX");
	cr_assert_not_null(mkdtemp(dir));
}

static void teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_assert_eq(system(cmd), 0);
}

static void load(struct ctl_keys *k)
{
	memset(k, 0, sizeof(*k));
	cr_assert_eq(ctl_keys_load(k, dir, err, sizeof(err)), 0, "%s", err);
}

static struct rv_ticket ticket_from(const struct ctl_keys *k, uint32_t now_s)
{
	struct rv_ticket t = { .version = RV_TICKET_VERSION,
		               .key_id = k->sign_id,
		               .issued_s = now_s,
		               .expires_s = now_s + 3600 };

	memset(t.locator, 0x11, sizeof(t.locator));
	rv_ticket_sign(&t, k->sign_sk);
	return t;
}

/* What the locator role does with a ticket: the key its ID names. */
static int verify(const struct ctl_keys *k, const struct rv_ticket *t, uint32_t now_s)
{
	const uint8_t *pk = ctl_keys_verify_pk(k, t->key_id);

	return pk ? rv_ticket_verify(t, pk, now_s, 300) : RV_ESIGNATURE;
}

static void write_file(const char *name, const char *text)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs(text, f);
	cr_assert_eq(fclose(f), 0);
}

static char *read_file(const char *name)
{
	static char buf[4096];
	char path[128];
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "r");
	cr_assert_not_null(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = 0;
	fclose(f);
	return buf;
}

TestSuite(keys, .init = setup, .fini = teardown);

Test(keys, keygen_writes_every_key_with_secrets_private_and_is_idempotent)
{
	struct ctl_keys k, again;
	const char *secret[] = { "auth.key", "locator-id.key", "locator-kx.key" };

	cr_assert_eq(ctl_keys_generate(dir, false, NULL, err, sizeof(err)), 0, "%s", err);
	load(&k);
	cr_assert(k.has_sign && k.has_locator_id && k.has_kx_sk && k.has_kx_pk);
	cr_assert_eq(k.sign_id, 1);
	cr_assert_eq(k.n_verify, 1);
	for (size_t i = 0; i < sizeof(secret) / sizeof(secret[0]); i++) {
		char path[128];
		struct stat st;

		snprintf(path, sizeof(path), "%s/%s", dir, secret[i]);
		cr_assert_eq(stat(path, &st), 0);
		cr_assert_eq(st.st_mode & 0777, 0600, "%s is mode %o", secret[i],
		             st.st_mode & 0777);
	}
	/* Again without --rotate: nothing is replaced. */
	cr_assert_eq(ctl_keys_generate(dir, false, NULL, err, sizeof(err)), 0, "%s", err);
	load(&again);
	cr_assert_arr_eq(again.sign_sk, k.sign_sk, sizeof(k.sign_sk));
	cr_assert_arr_eq(again.locator_id_secret, k.locator_id_secret, 32);
	cr_assert_eq(again.n_verify, 1);
}

Test(keys, rotation_signs_with_the_new_key_and_old_tickets_hold_until_the_old_key_is_removed)
{
	struct ctl_keys k1, k2, k3;
	const uint32_t now = 1800000000u;

	cr_assert_eq(ctl_keys_generate(dir, false, NULL, err, sizeof(err)), 0, "%s", err);
	load(&k1);
	struct rv_ticket old = ticket_from(&k1, now);

	cr_assert_eq(ctl_keys_generate(dir, true, NULL, err, sizeof(err)), 0, "%s", err);
	load(&k2);
	cr_assert_eq(k2.sign_id, 2, "the new signing key has the next ID");
	cr_assert_eq(k2.n_verify, 2, "both public keys are listed: the overlap window");
	cr_assert(memcmp(k2.sign_sk, k1.sign_sk, sizeof(k1.sign_sk)) != 0);
	cr_assert_arr_eq(k2.locator_id_secret, k1.locator_id_secret, 32,
	                 "rotation keeps locator IDs stable");
	struct rv_ticket fresh = ticket_from(&k2, now);
	cr_assert_eq(fresh.key_id, 2);
	cr_assert_eq(verify(&k2, &old, now), 0, "a ticket from before the rotation still holds");
	cr_assert_eq(verify(&k2, &fresh, now), 0);

	/* The window ends: the operator deletes the old key's line. */
	char *pub = read_file("auth.pub");
	char *second = strchr(pub, '\n');
	cr_assert_not_null(second);
	write_file("auth.pub", second + 1);
	load(&k3);
	cr_assert_eq(k3.n_verify, 1);
	cr_assert_null(ctl_keys_verify_pk(&k3, 1));
	cr_assert_eq(verify(&k3, &old, now), RV_ESIGNATURE, "the old key is gone: refused");
	cr_assert_eq(verify(&k3, &fresh, now), 0);

	/* A ticket naming one key but signed by another never verifies. */
	struct rv_ticket forged = old;
	forged.key_id = 2;
	cr_assert_eq(verify(&k3, &forged, now), RV_ESIGNATURE);
}

Test(keys, malformed_key_files_name_the_file_and_line)
{
	struct ctl_keys k;
	const char *bad[][2] = {
		{ "auth.pub", "key 1 00zz\n" },
		{ "auth.pub", "key 1 " /* 31 bytes */
		              "00112233445566778899aabbccddeeff00112233445566778899aabbccddee\n" },
		{ "locator-id.key", "secret 0011\n" },
		{ "auth.key", "key-id 1\n" /* no secret */ },
		{ "auth.pub", "nonsense\n" },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&k, 0, sizeof(k));
		err[0] = 0;
		cr_assert_eq(ctl_keys_parse(&k, bad[i][0], bad[i][1], strlen(bad[i][1]), err,
		                            sizeof(err)),
		             -EINVAL, "case %zu accepted", i);
		cr_assert(strstr(err, bad[i][0]) != NULL, "case %zu: '%s' does not name the file",
		          i, err);
	}
}
