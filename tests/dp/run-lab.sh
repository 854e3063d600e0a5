#!/usr/bin/env bash
# rvdp on a real link (part of `make test`): the NAT lab in dpdk mode, rvdp
# on net_af_packet in the server namespace, judged by coturn's RFC 5780
# client and the RFC 3489 stun client through every natbox preset, plus
# ARP, ICMP echo and the per-source budgets (tests/dp/dp_lab_check.py).
#
# Exit 125 (skipped) where the machine cannot build the lab or lacks the
# judges. Logs of a failed run are kept in $BUILD/dp-lab-logs/.
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/natlab/labsuite.sh
lab_suite dp-lab 'pkill -TERM -f "file-prefix rvdplab" 2>/dev/null'

[ -x "$BUILD/rvdp" ] || {
	echo "dp-lab: $BUILD/rvdp is not built"
	exit 1
}
for t in turnutils_natdiscovery stun ping; do
	command -v $t >/dev/null || lab_skip "$t is not installed (scripts/deps.sh installs it)"
done

t0=$SECONDS
scripts/natlab.sh up --server-mode dpdk || exit 1
"$PY" tests/dp/dp_lab_check.py
rc=$?
echo "dp-lab: suite took $((SECONDS - t0)) s"
exit $rc
