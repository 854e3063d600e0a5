#!/usr/bin/env bash
# Install every Debian package the build, the tests, the demo and the
# benchmarks need. Idempotent: installs only what is missing (apt-get update
# runs once, and only then), and prints what it installed.
set -euo pipefail

PACKAGES=(
	# build
	make gcc pkg-config
	libsodium-dev nettle-dev libsqlite3-dev sqlite3
	libdpdk-dev liburcu-dev libpcap-dev
	# tests
	libcriterion-dev
	iproute2 iputils-ping procps ethtool
	python3 python3-scapy python3-nacl
	stun-client coturn
	tcpdump
	# lint
	clang-format
	# fuzzing (make fuzz: clang's libFuzzer and sanitizer runtimes)
	clang libclang-rt-14-dev llvm
	# dataplane tools (testpmd, telemetry, dumpcap) and benchmarks
	dpdk-dev gnuplot-nox
)

missing=()
for p in "${PACKAGES[@]}"; do
	case "$p" in \#*) continue ;; esac
	if [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" != "install ok installed" ]; then
		missing+=("$p")
	fi
done

if [ ${#missing[@]} -eq 0 ]; then
	echo "deps: all ${#PACKAGES[@]} packages already installed"
	exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing: ${missing[*]}" >&2
	echo "deps: run as root (or: sudo bash scripts/deps.sh)" >&2
	exit 1
fi

echo "deps: installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# Services some packages ship (coturn) must not start on a build machine.
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
	printf '#!/bin/sh\nexit 101\n' >"$policy"
	chmod +x "$policy"
	trap 'rm -f "$policy"' EXIT
fi
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "deps: installed: ${missing[*]}"
