/* crashload — drives rvcontrol with real peers (libpeer) for the daemon's
 * crash test (tests/control/run-crash.sh).
 *
 *   crashload registry N              the makers' registry of N test devices
 *   (register takes an optional last TIMEOUT-MS per request, default 2000)
 *   crashload register SERVER FIRST N authenticate (a ticket issued),
 *                                     register and join group crash-g(i%8)
 *                                     for devices FIRST..; one line
 *                                     "ack LOCATOR DEVICE GROUP" when all
 *                                     three were acknowledged
 *
 * Device i's key is derived from its index, so the two commands agree
 * without key files. register stops at the first failure (the daemon was
 * killed) with "stop DEVICE: reason" and exit status 3.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "peer/rvp.h"
#include "proto/ticket.h"

static void device(unsigned i, char id[RV_DEVICE_ID_MAX + 1], uint8_t pk[32], uint8_t sk[64])
{
	uint8_t seed[32];
	char what[32];

	snprintf(id, RV_DEVICE_ID_MAX + 1, "crash-%06u", i);
	snprintf(what, sizeof(what), "crashload device %u", i);
	crypto_generichash(seed, sizeof(seed), (const uint8_t *)what, strlen(what), NULL, 0);
	crypto_sign_seed_keypair(pk, sk, seed);
}

static int registry(unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		char id[RV_DEVICE_ID_MAX + 1], hex[65];
		uint8_t pk[32], sk[64];

		device(i, id, pk, sk);
		rv_hex_encode(pk, sizeof(pk), hex);
		printf("%s %s\n", id, hex);
	}
	return fflush(stdout) == 0 ? 0 : 1;
}

static int reg(const char *server, unsigned first, unsigned n, unsigned timeout_ms)
{
	struct rvp_conf conf = { 0 };
	uint8_t pk[32];

	if (rv_addr_parse(server, 3478, &conf.server) < 0) {
		fprintf(stderr, "crashload: bad server address '%s'\n", server);
		return 2;
	}
	if (rv_addr_parse("127.0.0.1:0", 0, &conf.bind) < 0)
		return 2;
	conf.nat.type = RV_NAT_NONE; /* loopback: nothing to classify */
	conf.timeout_ms = timeout_ms;
	for (unsigned i = first; i < first + n; i++) {
		struct rvp *p;
		int rc;

		device(i, conf.device_id, pk, conf.device_sk);
		p = rvp_create(&conf);
		if (!p) {
			perror("crashload: rvp_create");
			return 1;
		}
		char group[16];
		uint32_t total;

		snprintf(group, sizeof(group), "crash-g%u", i % 8);
		rc = rvp_auth(p);
		if (rc >= 0)
			rc = rvp_register(p);
		if (rc >= 0) {
			rc = rvp_group(p, RV_GROUP_JOIN, group, NULL, 0, &total);
			if (rc == RVP_E_SERVER - RV_C_NOT_FOUND)
				rc = rvp_group(p, RV_GROUP_CREATE, group, NULL, 0, &total);
			if (rc == RVP_E_SERVER - RV_C_EXISTS) /* created meanwhile */
				rc = rvp_group(p, RV_GROUP_JOIN, group, NULL, 0, &total);
		}
		if (rc < 0) {
			printf("stop %s: %s\n", conf.device_id, rvp_strerror(rc));
			rvp_free(p);
			fflush(stdout);
			return 3;
		}
		char loc[2 * RV_LOCATOR_LEN + 1];
		rv_hex_encode(rvp_locator(p), RV_LOCATOR_LEN, loc);
		printf("ack %s %s %s\n", loc, conf.device_id, group);
		fflush(stdout);
		rvp_free(p);
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (sodium_init() < 0)
		return 1;
	if (argc == 3 && !strcmp(argv[1], "registry"))
		return registry((unsigned)strtoul(argv[2], NULL, 10));
	if ((argc == 5 || argc == 6) && !strcmp(argv[1], "register"))
		return reg(argv[2], (unsigned)strtoul(argv[3], NULL, 10),
		           (unsigned)strtoul(argv[4], NULL, 10),
		           argc == 6 ? (unsigned)strtoul(argv[5], NULL, 10) : 2000);
	fprintf(stderr, "usage: crashload registry N | crashload register SERVER FIRST N "
	                "[TIMEOUT-MS]\n");
	return 2;
}
