/* testutil.h — helpers shared by the Criterion suites (header-only, so each
 * suite directory stays one binary). */
#pragma once

#include <ctype.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifndef RV_SRCDIR
#define RV_SRCDIR "."
#endif

/* Load a hex vector file (whitespace ignored, '#' starts a comment to end of
 * line) from a path relative to the repository root. Returns the byte count,
 * or -1 when the file cannot be read, holds a non-hex character, or does not
 * fit in cap. */
static inline long rv_test_load_hex(const char *rel, uint8_t *buf, size_t cap)
{
	char path[4096];
	FILE *f;
	int c, hi = -1;
	long n = 0;

	snprintf(path, sizeof(path), "%s/%s", RV_SRCDIR, rel);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while ((c = fgetc(f)) != EOF) {
		int v;

		if (c == '#') {
			while ((c = fgetc(f)) != EOF && c != '\n')
				;
			continue;
		}
		if (isspace(c))
			continue;
		if (!isxdigit(c)) {
			n = -1;
			break;
		}
		v = isdigit(c) ? c - '0' : (tolower(c) - 'a' + 10);
		if (hi < 0) {
			hi = v;
			continue;
		}
		if ((size_t)n >= cap) {
			n = -1;
			break;
		}
		buf[n++] = (uint8_t)(hi << 4 | v);
		hi = -1;
	}
	fclose(f);
	return hi >= 0 ? -1 : n;
}
