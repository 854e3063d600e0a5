/* ctl_keys.c — key files (ctl_keys.h). */
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "ctl_keys.h"
#include "proto/keys.h"
#include "proto/ticket.h"

static int fail(char *err, size_t errlen, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return rc;
}

/* "name value" -> 0 with name/value NUL-terminated in place of the line. */
static bool split(char *line, char **name, char **value)
{
	char *sp = strchr(line, ' ');

	if (!sp)
		return false;
	*sp = 0;
	*name = line;
	*value = sp + 1;
	while (**value == ' ')
		(*value)++;
	return **value != 0;
}

static int hex_into(const char *v, uint8_t *out, size_t n)
{
	return rv_hex_decode(v, out, n);
}

int ctl_keys_parse(struct ctl_keys *k, const char *file, const char *text, size_t len, char *err,
                   size_t errlen)
{
	size_t pos = 0;
	int line = 0;
	bool have_id = false, have_secret = false;

	while (pos < len) {
		const char *s = text + pos, *nl = memchr(s, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - s) : len - pos;
		char buf[256], *name, *value;

		pos += n + (nl ? 1 : 0);
		line++;
		if (n && s[n - 1] == '\r')
			n--;
		if (n == 0 || s[0] == '#')
			continue;
		if (n >= sizeof(buf))
			return fail(err, errlen, -EINVAL, "%s: line %d: too long", file, line);
		memcpy(buf, s, n);
		buf[n] = 0;
		if (!split(buf, &name, &value))
			return fail(err, errlen, -EINVAL, "%s: line %d: expected 'name value'",
			            file, line);
		if (!strcmp(file, "auth.key") && !strcmp(name, "key-id")) {
			char *end;
			unsigned long id = strtoul(value, &end, 10);
			if (*end || id > UINT32_MAX)
				return fail(err, errlen, -EINVAL, "%s: line %d: bad key-id", file,
				            line);
			k->sign_id = (uint32_t)id;
			have_id = true;
		} else if (!strcmp(file, "auth.key") && !strcmp(name, "secret")) {
			if (hex_into(value, k->sign_sk, 64) < 0)
				return fail(err, errlen, -EINVAL,
				            "%s: line %d: secret must be 128 hex digits", file,
				            line);
			have_secret = true;
		} else if (!strcmp(file, "auth.pub") && !strcmp(name, "key")) {
			char *sp = strchr(value, ' '), *end;
			unsigned long id;

			if (!sp || k->n_verify == CTL_MAX_VERIFY)
				return fail(err, errlen, -EINVAL,
				            "%s: line %d: expected 'key ID HEX' (at most 8 keys)",
				            file, line);
			*sp = 0;
			id = strtoul(value, &end, 10);
			if (*end || id > UINT32_MAX ||
			    hex_into(sp + 1, k->verify[k->n_verify].pk, 32) < 0)
				return fail(err, errlen, -EINVAL, "%s: line %d: bad key", file,
				            line);
			k->verify[k->n_verify++].id = (uint32_t)id;
		} else if (!strcmp(file, "locator-id.key") && !strcmp(name, "secret")) {
			if (hex_into(value, k->locator_id_secret, 32) < 0)
				return fail(err, errlen, -EINVAL,
				            "%s: line %d: secret must be 64 hex digits", file,
				            line);
			k->has_locator_id = true;
		} else if (!strcmp(file, "locator-kx.key") && !strcmp(name, "secret")) {
			if (hex_into(value, k->kx_sk, 32) < 0)
				return fail(err, errlen, -EINVAL,
				            "%s: line %d: secret must be 64 hex digits", file,
				            line);
			k->has_kx_sk = true;
			rv_kx_public(k->kx_sk, k->kx_pk);
			k->has_kx_pk = true;
		} else if (!strcmp(file, "locator-kx.pub") && !strcmp(name, "public")) {
			if (hex_into(value, k->kx_pk, 32) < 0)
				return fail(err, errlen, -EINVAL,
				            "%s: line %d: public must be 64 hex digits", file,
				            line);
			k->has_kx_pk = true;
		} else {
			return fail(err, errlen, -EINVAL, "%s: line %d: unknown entry", file, line);
		}
	}
	if (!strcmp(file, "auth.key")) {
		if (!have_id || !have_secret)
			return fail(err, errlen, -EINVAL, "%s: needs key-id and secret", file);
		k->has_sign = true;
		/* The signing key verifies its own tickets too. */
		if (!ctl_keys_verify_pk(k, k->sign_id) && k->n_verify < CTL_MAX_VERIFY) {
			k->verify[k->n_verify].id = k->sign_id;
			crypto_sign_ed25519_sk_to_pk(k->verify[k->n_verify++].pk, k->sign_sk);
		}
	}
	return 0;
}

static const char *const files[] = { "auth.pub", "auth.key", "locator-id.key", "locator-kx.key",
	                             "locator-kx.pub" };

static int read_file(const char *path, char *buf, size_t cap, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, cap);
	close(fd);
	if (n < 0)
		return -errno;
	if ((size_t)n == cap)
		return -EFBIG;
	*len = (size_t)n;
	return 0;
}

int ctl_keys_load(struct ctl_keys *k, const char *dir, char *err, size_t errlen)
{
	memset(k, 0, sizeof(*k));
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		char path[512], buf[4096];
		size_t len = 0;
		int rc;

		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		rc = read_file(path, buf, sizeof(buf), &len);
		if (rc == -ENOENT)
			continue;
		if (rc < 0) {
			snprintf(err, errlen, "%s: %s", path, strerror(-rc));
			return rc;
		}
		rc = ctl_keys_parse(k, files[i], buf, len, err, errlen);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int write_file(const char *dir, const char *name, const char *text, bool secret, bool append,
                      FILE *log, char *err, size_t errlen)
{
	char path[512];
	int fd;
	size_t n = strlen(text);

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC),
	          secret ? 0600 : 0644);
	if (fd < 0 || write(fd, text, n) != (ssize_t)n || fsync(fd) < 0) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		snprintf(err, errlen, "%s: %s", path, strerror(e));
		return -e;
	}
	close(fd);
	if (log)
		fprintf(log, "keygen: wrote %s%s\n", path, secret ? " (secret, mode 0600)" : "");
	return 0;
}

static bool exists(const char *dir, const char *name)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return access(path, F_OK) == 0;
}

int ctl_keys_generate(const char *dir, bool rotate, FILE *log, char *err, size_t errlen)
{
	struct ctl_keys old;
	char text[512], hex[129];
	int rc;

	if (sodium_init() < 0) {
		snprintf(err, errlen, "libsodium failed to initialise");
		return -EIO;
	}
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return -errno;
	}
	rc = ctl_keys_load(&old, dir, err, errlen);
	if (rc < 0)
		return rc;
	if (!exists(dir, "auth.key") || rotate) {
		uint8_t pk[32], sk[64];
		uint32_t id = old.has_sign ? old.sign_id + 1 : 1;

		crypto_sign_keypair(pk, sk);
		rv_hex_encode(sk, 64, hex);
		snprintf(text, sizeof(text),
		         "# rvcontrol ticket signing key (Ed25519)\nkey-id %u\n"
		         "secret %s\n",
		         id, hex);
		sodium_memzero(sk, sizeof(sk));
		rc = write_file(dir, "auth.key", text, true, false, log, err, errlen);
		if (rc < 0)
			return rc;
		rv_hex_encode(pk, 32, hex);
		snprintf(text, sizeof(text), "key %u %s\n", id, hex);
		rc = write_file(dir, "auth.pub", text, false, rotate, log, err, errlen);
		if (rc < 0)
			return rc;
	}
	if (!exists(dir, "locator-id.key")) {
		uint8_t s[32];

		randombytes_buf(s, sizeof(s));
		rv_hex_encode(s, 32, hex);
		snprintf(text, sizeof(text), "# rvcontrol locator-ID secret\nsecret %s\n", hex);
		sodium_memzero(s, sizeof(s));
		rc = write_file(dir, "locator-id.key", text, true, false, log, err, errlen);
		if (rc < 0)
			return rc;
	}
	if (!exists(dir, "locator-kx.key")) {
		uint8_t pk[32], sk[32];

		rv_kx_keypair(pk, sk);
		rv_hex_encode(sk, 32, hex);
		snprintf(text, sizeof(text),
		         "# locator service key agreement (X25519)\nsecret %s\n", hex);
		sodium_memzero(sk, sizeof(sk));
		rc = write_file(dir, "locator-kx.key", text, true, false, log, err, errlen);
		if (rc < 0)
			return rc;
		rv_hex_encode(pk, 32, hex);
		snprintf(text, sizeof(text), "public %s\n", hex);
		rc = write_file(dir, "locator-kx.pub", text, false, false, log, err, errlen);
		if (rc < 0)
			return rc;
	}
	return 0;
}

const uint8_t *ctl_keys_verify_pk(const struct ctl_keys *k, uint32_t id)
{
	for (unsigned i = 0; i < k->n_verify; i++)
		if (k->verify[i].id == id)
			return k->verify[i].pk;
	return NULL;
}

void ctl_keys_locator(const struct ctl_keys *k, const uint8_t *device_id, size_t len,
                      uint8_t out[16])
{
	static const char domain[] = "rv-locator-v1";
	crypto_generichash_state st;

	crypto_generichash_init(&st, k->locator_id_secret, 32, 16);
	crypto_generichash_update(&st, (const uint8_t *)domain, sizeof(domain));
	crypto_generichash_update(&st, device_id, len);
	crypto_generichash_final(&st, out, 16);
}
