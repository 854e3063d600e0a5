#!/usr/bin/env bash
# `make demo`, lab stage: installs what is missing, builds, brings the NAT lab
# up, shows two sites behind two different NATs (site a: port-restricted
# cone; site b: port-sensitive symmetric with delta 2 and background hosts)
# talking to the server's two addresses, says what each NAT did, and tears
# the lab down — at the end and on Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
	echo "make demo: needs root — it builds the NAT lab out of network namespaces" >&2
	echo "           and installs missing Debian packages. Run: sudo make demo" >&2
	exit 1
fi

bash scripts/deps.sh
echo "demo: building"
make -j2 --no-print-directory
make -j2 --no-print-directory natbox

# One lab per machine: wait for a running test suite to finish.
mkdir -p /run/lock
exec 9>/run/lock/rvlab.lock
flock -w 300 9 || {
	echo "demo: the lab is busy (/run/lock/rvlab.lock); try again later" >&2
	exit 1
}
export RVLAB_LOCKED=1

trap 'scripts/natlab.sh down >/dev/null 2>&1 || true; echo "demo: lab torn down"' EXIT
trap 'echo; echo "demo: interrupted"; exit 130' INT TERM

scripts/natlab.sh down >/dev/null
scripts/natlab.sh up
echo
/usr/bin/python3 tests/natlab/demo_lab.py
