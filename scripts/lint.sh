#!/usr/bin/env bash
# `make lint`: formatting, self-contained headers, and proto/'s purity.
set -uo pipefail
cd "$(dirname "$0")/.."
fail=0

sources=$(git ls-files --cached --others --exclude-standard -- '*.c' '*.h' | sort)

# 1. Formatting: .clang-format is the reference.
if ! command -v clang-format >/dev/null; then
	echo "lint: clang-format not installed (apt-get install clang-format)"; exit 1
fi
bad=$(for f in $sources; do
	clang-format --dry-run --Werror "$f" >/dev/null 2>&1 || echo "$f"
done)
if [ -n "$bad" ]; then
	echo "lint: not clang-formatted (run: clang-format -i FILE):"
	printf '  %s\n' $bad
	fail=1
fi

# 2. Every header compiles on its own, with its directory's dependencies.
pc() { pkg-config --cflags "$@" 2>/dev/null; }
for h in $(printf '%s\n' $sources | grep '\.h$'); do
	case "$h" in
	dpdk-app/*) flags="$(pc libdpdk liburcu-qsbr liburcu-cds libsodium nettle)" ;;
	control/*)  flags="$(pc sqlite3 libsodium nettle)" ;;
	tests/*)    flags="$(pc criterion libsodium nettle)" ;;
	*)          flags="$(pc libsodium nettle)" ;;
	esac
	if ! echo "#include \"$h\"" | gcc -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Werror \
		-fsyntax-only -I. $flags -x c - 2>/tmp/rv-lint.$$; then
		echo "lint: header does not compile on its own: $h"
		sed 's/^/    /' /tmp/rv-lint.$$ | head -5
		fail=1
	fi
	# awk, not head | grep -q: grep quitting early kills head with SIGPIPE,
	# which pipefail turns into a failure at random.
	if ! awk 'NR > 100 { exit 1 } /^#pragma once/ { found = 1; exit 0 } END { exit !found }' "$h"; then
		echo "lint: header lacks #pragma once: $h"; fail=1
	fi
done
rm -f /tmp/rv-lint.$$

# 3. proto/ is pure: libc and crypto primitives only (no DPDK, liburcu,
# SQLite, sockets I/O, or other project directories).
allowed='^(assert|ctype|errno|inttypes|limits|stdarg|stdbool|stddef|stdint|stdio|stdlib|string|arpa/inet|sodium|nettle/[a-z0-9_-]+)\.h$'
while IFS=: read -r file _ inc; do
	hdr=$(echo "$inc" | sed -E 's/^#include *[<"]([^>"]+)[>"].*/\1/')
	if [[ "$inc" == *'<'* ]]; then
		if ! [[ "$hdr" =~ $allowed ]]; then
			echo "lint: proto/ must not include <$hdr> ($file)"; fail=1
		fi
	elif [[ "$hdr" == */* ]]; then
		echo "lint: proto/ must not include outside proto/: \"$hdr\" ($file)"; fail=1
	fi
done < <(grep -n '^#include' proto/*.c proto/*.h 2>/dev/null)

[ $fail -eq 0 ] && echo "lint: ok ($(echo "$sources" | wc -w) files)"
exit $fail
