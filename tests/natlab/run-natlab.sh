#!/usr/bin/env bash
# The NAT lab suite (part of `make test`): brings the lab up, proves natbox
# right with plain UDP sockets (tests/natlab/natlab_check.py: every preset,
# every allocation mode, filtering and its log, lifetime, TTL, ICMP, hairpin,
# and coturn's RFC 5780 client as an independent judge), tears the lab down.
#
# Exit 125 (skipped) with the reason where the machine cannot run it: not
# root, no network namespaces or veths, no python3. Logs of a failed run are
# kept in $BUILD/natlab-logs/.
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/natlab/labsuite.sh
lab_suite natlab

t0=$SECONDS
scripts/natlab.sh up || exit 1
"$PY" tests/natlab/natlab_check.py
rc=$?
echo "natlab: suite took $((SECONDS - t0)) s"
exit $rc
