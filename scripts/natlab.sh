#!/usr/bin/env bash
# natlab.sh — the NAT lab: network namespaces, veth pairs and one natbox per
# site. Root only. Everything it creates is prefixed rvl- and lives inside
# its own namespaces: the root namespace gets no interface, route or
# address (veths are created directly inside the namespaces).
#
#   rvl-srv  eth0: 192.0.2.1/24 + 192.0.2.2/24 (the two public addresses;
#            none with --server-mode dpdk, for rvdp on net_af_packet)
#      |
#   rvl-inet (router, forwarding on)  srv 192.0.2.254/24
#      |  site-a 198.51.100.1/24                 |  site-b 203.0.113.1/24
#   rvl-nat-a  wan (no address): natbox          rvl-nat-b  (same)
#              198.51.100.2/24 <-> 10.0.1.1/24              203.0.113.2 <-> 10.0.2.1
#              lan: bridge, ports h1 h2 (no addresses)
#      |                                          |
#   rvl-a1 10.0.1.2   rvl-a2 10.0.1.3          rvl-b1 10.0.2.2   rvl-b2 10.0.2.3
#
# The router also routes 10.0.1.0/24 and 10.0.2.0/24 to the sites, so with
# natbox --preset none the hosts' addresses act as public ones (inside the
# lab, which reaches nothing else).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
case "$BUILD" in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
NATBOX=${NATBOX:-$BUILD/natbox}
RUN=${RVLAB_RUN:-/run/rvlab}
LOCK=/run/lock/rvlab.lock
SITES=(a b)
declare -A WAN=([a]=198.51.100 [b]=203.0.113)
declare -A LAN=([a]=10.0.1 [b]=10.0.2)
declare -A IDX=([a]=1 [b]=2)
SRV_IPS=(192.0.2.1 192.0.2.2)

usage() {
	cat <<'EOF'
usage: natlab.sh COMMAND ...

  up [--server-mode kernel|dpdk] [--hosts 1|2] [--delay MS] [--loss PCT]
        build the lab (safe to repeat) and start both sites' natbox with the
        defaults (port-restricted cone, preserving ports). dpdk: 192.0.2.1/.2
        stay off rvl-srv's kernel so rvdp can own them on rvl-srv's eth0.
        --delay/--loss: tc netem on the router's three links (each direction
        through the router gets the delay once). Env: RVLAB_SERVER_MODE.
  down  stop every process in the lab, delete every rvl- namespace (and so
        every veth and bridge) and the run directory
  status
        namespaces, addresses, natbox processes and what their logs say
  nat SITE [natbox options]
        (re)start SITE's natbox (a or b) with these options, e.g.
        nat a --preset port-symmetric --alloc sequential --delta 2 --lambda 5
        and wait until it is ready. Log: /run/rvlab/nat-SITE.jsonl
  netem [--delay MS] [--loss PCT]
        change the router's netem settings (0 0 removes them)
  exec NS CMD...
        run CMD in namespace NS (a1 a2 b1 b2 srv inet nat-a nat-b, or rvl-*)
  log SITE
        the path of SITE's natbox log

Files: /run/rvlab (pids, logs, state); lock: /run/lock/rvlab.lock
(RVLAB_LOCKED=1 when the caller already holds it).
EOF
}

die() {
	echo "natlab: $*" >&2
	exit 1
}

need_root() {
	[ "$(id -u)" -eq 0 ] || die "must run as root (network namespaces)"
}

lock() {
	[ -n "${RVLAB_LOCKED:-}" ] && return 0
	mkdir -p "$(dirname "$LOCK")"
	exec 9>"$LOCK"
	flock -w 120 9 || die "another lab user holds $LOCK"
}

ns_list() {
	ip netns list 2>/dev/null | awk '$1 ~ /^rvl-/ {print $1}'
}

ns_exists() {
	[ -e "/var/run/netns/$1" ] || [ -e "/run/netns/$1" ]
}

in_ns() {
	local ns=$1
	shift
	ip netns exec "$ns" "$@"
}

sysctl_ns() {
	local ns=$1
	shift
	in_ns "$ns" sysctl -qw "$@" >/dev/null
}

all_ns() {
	local hosts=$1 ns=(rvl-srv rvl-inet) s h
	for s in "${SITES[@]}"; do
		ns+=("rvl-nat-$s")
		for ((h = 1; h <= hosts; h++)); do ns+=("rvl-$s$h"); done
	done
	echo "${ns[@]}"
}

state_get() {
	[ -f "$RUN/state" ] && sed -n "s/^$1=//p" "$RUN/state" || true
}

# --- namespaces --------------------------------------------------------------

new_ns() {
	local ns=$1
	ip netns add "$ns"
	in_ns "$ns" ip link set lo up
	# IPv4 only, and nothing inherited from the root namespace's forwarding.
	if [ -d /proc/sys/net/ipv6 ]; then
		sysctl_ns "$ns" net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
	fi
	sysctl_ns "$ns" net.ipv4.ip_forward=0 net.ipv4.conf.all.rp_filter=0 \
		net.ipv4.conf.default.rp_filter=0
}

# veth NS1 IF1 NS2 IF2: a pair created directly inside the two namespaces.
veth() {
	ip -n "$1" link add "$2" type veth peer name "$4" netns "$3"
}

netem_apply() {
	local delay=$1 loss=$2 dev
	for dev in srv "${SITES[@]/#/site-}"; do
		ip -n rvl-inet link show "$dev" >/dev/null 2>&1 || continue
		tc -n rvl-inet qdisc del dev "$dev" root 2>/dev/null || true
		if [ "$delay" != 0 ] || [ "$loss" != 0 ]; then
			tc -n rvl-inet qdisc add dev "$dev" root netem delay "${delay}ms" loss "${loss}%" ||
				die "tc netem failed: is sch_netem in this kernel (CONFIG_NET_SCH_NETEM)?"
		fi
	done
}

build() {
	local mode=$1 hosts=$2 delay=$3 loss=$4 s h ip

	for ns in $(all_ns "$hosts"); do new_ns "$ns"; done
	mkdir -p "$RUN"
	printf 'server_mode=%s\nhosts=%s\ndelay=%s\nloss=%s\n' "$mode" "$hosts" "$delay" "$loss" \
		>"$RUN/state"

	# The internet router.
	sysctl_ns rvl-inet net.ipv4.ip_forward=1 net.ipv4.icmp_ratelimit=0
	veth rvl-inet srv rvl-srv eth0
	ip -n rvl-inet addr add 192.0.2.254/24 dev srv
	ip -n rvl-inet link set srv up
	ip -n rvl-srv link set eth0 up
	if [ "$mode" = kernel ]; then
		for ip in "${SRV_IPS[@]}"; do ip -n rvl-srv addr add "$ip/24" dev eth0; done
		ip -n rvl-srv route add default via 192.0.2.254
		sysctl_ns rvl-srv net.ipv4.icmp_ratelimit=0
	else
		# The router's own datagrams leave a veth with the UDP checksum
		# left to "hardware" (CHECKSUM_PARTIAL); rvdp reads raw frames on
		# net_af_packet and rightly drops them, as a NIC's peer would
		# never send them. Have the kernel finish the checksum.
		ip netns exec rvl-inet ethtool -K srv tx off >/dev/null
	fi

	for s in "${SITES[@]}"; do
		local nat=rvl-nat-$s
		veth rvl-inet "site-$s" "$nat" wan
		ip -n rvl-inet addr add "${WAN[$s]}.1/24" dev "site-$s"
		ip -n rvl-inet link set "site-$s" up
		# Preset none: the site's addresses are routable inside the lab.
		ip -n rvl-inet route add "${LAN[$s]}.0/24" via "${WAN[$s]}.2"
		# The NAT namespace: links without addresses, natbox owns them.
		ip -n "$nat" link add lan address "02:00:0a:00:0${IDX[$s]}:01" type bridge \
			stp_state 0 forward_delay 0
		ip -n "$nat" link set wan up
		ip -n "$nat" link set lan up
		for ((h = 1; h <= hosts; h++)); do
			local host=rvl-$s$h
			veth "$nat" "h$h" "$host" eth0
			ip -n "$nat" link set "h$h" master lan
			ip -n "$nat" link set "h$h" up
			ip -n "$host" addr add "${LAN[$s]}.$((h + 1))/24" dev eth0
			ip -n "$host" link set eth0 up
			ip -n "$host" route add default via "${LAN[$s]}.1"
			sysctl_ns "$host" net.ipv4.icmp_ratelimit=0
		done
	done
	netem_apply "$delay" "$loss"
}

# --- natbox ---------------------------------------------------------------------

# True while pid runs natbox (a zombie has an empty command line, and a
# recycled pid another one).
is_natbox() {
	# No "| grep -q" under pipefail: an early grep exit can fail the pipe.
	local cmd
	cmd=$(tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null) || return 1
	case "$cmd" in *natbox*) return 0 ;; *) return 1 ;; esac
}

# True while pid exists and is not a zombie.
running() {
	local st
	st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) || return 1
	[ -n "$st" ] && [ "$st" != Z ]
}

natbox_pid() {
	local f=$RUN/nat-$1.pid pid
	[ -f "$f" ] || return 1
	pid=$(cat "$f")
	is_natbox "$pid" || return 1
	echo "$pid"
}

natbox_stop() {
	local site=$1 pid i
	if pid=$(natbox_pid "$site"); then
		kill -TERM "$pid" 2>/dev/null || true
		for ((i = 0; i < 100; i++)); do
			is_natbox "$pid" || break
			sleep 0.02
		done
		is_natbox "$pid" && kill -KILL "$pid" 2>/dev/null || true
	fi
	rm -f "$RUN/nat-$site.pid"
}

natbox_start() {
	local site=$1 log err pid i a rc
	shift
	case "$site" in a | b) ;; *) die "no site '$site' (a or b)" ;; esac
	ns_exists "rvl-nat-$site" || die "the lab is not up (natlab.sh up)"
	[ -x "$NATBOX" ] || die "$NATBOX not built (make natbox)"
	for a in "$@"; do
		case "$a" in
		--log* | --lan-if* | --wan-if* | --lan-ip* | --wan-ip* | --gateway*)
			die "nat: '$a' is the lab's to set" ;;
		esac
	done
	natbox_stop "$site"
	log=$RUN/nat-$site.jsonl
	err=$RUN/nat-$site.err
	rm -f "$log"
	setsid ip netns exec "rvl-nat-$site" "$NATBOX" --lan-if lan --wan-if wan \
		--lan-ip "${LAN[$site]}.1/24" --wan-ip "${WAN[$site]}.2/24" \
		--gateway "${WAN[$site]}.1" --log "$log" "$@" </dev/null >"$err" 2>&1 9>&- &
	pid=$!
	echo "$pid" >"$RUN/nat-$site.pid"
	for ((i = 0; i < 250; i++)); do
		if [ -f "$log" ] && grep -q '"ev":"ready"' "$log"; then
			return 0
		fi
		# (Not is_natbox: before its exec the child is still this shell.)
		if ! running "$pid"; then
			wait "$pid" 2>/dev/null && rc=0 || rc=$?
			rm -f "$RUN/nat-$site.pid"
			cat "$err" >&2
			echo "natlab: natbox for site $site failed to start (exit $rc)" >&2
			return 2
		fi
		sleep 0.02
	done
	die "natbox for site $site not ready after 5 s (see $err)"
}

# --- commands -----------------------------------------------------------------------

cmd_up() {
	local mode=${RVLAB_SERVER_MODE:-kernel} hosts=2 delay=0 loss=0 ns missing=0 s
	while [ $# -gt 0 ]; do
		case "$1" in
		--server-mode) mode=${2:?--server-mode needs kernel or dpdk}; shift 2 ;;
		--hosts) hosts=${2:?}; shift 2 ;;
		--delay) delay=${2:?}; shift 2 ;;
		--loss) loss=${2:?}; shift 2 ;;
		*) die "up: unknown option '$1'" ;;
		esac
	done
	case "$mode" in kernel | dpdk) ;; *) die "up: --server-mode: kernel or dpdk, not '$mode'" ;; esac
	case "$hosts" in 1 | 2) ;; *) die "up: --hosts: 1 or 2" ;; esac
	[[ "$delay" =~ ^[0-9]+$ ]] || die "up: --delay: milliseconds, not '$delay'"
	[[ "$loss" =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "up: --loss: a percentage, not '$loss'"
	need_root
	lock

	if [ -f "$RUN/up" ]; then
		for ns in $(all_ns "$(state_get hosts)"); do ns_exists "$ns" || missing=1; done
		if [ $missing -eq 0 ]; then
			if [ "$(state_get server_mode)" != "$mode" ] || [ "$(state_get hosts)" != "$hosts" ]; then
				die "up: already up with server mode $(state_get server_mode)," \
					"$(state_get hosts) hosts per site; run 'natlab.sh down' first"
			fi
			for s in "${SITES[@]}"; do natbox_pid "$s" >/dev/null || natbox_start "$s"; done
			echo "natlab: already up"
			return 0
		fi
	fi
	# Anything half-made (an interrupted up) goes first.
	[ -n "$(ns_list)" ] && teardown
	# A failure part-way (set -e, die, Ctrl-C) leaves nothing behind.
	up_ok=0
	trap '[ $up_ok = 1 ] || { echo "natlab: up failed; cleaning up" >&2; teardown; }' EXIT
	trap 'exit 130' INT TERM
	build "$mode" "$hosts" "$delay" "$loss"
	for s in "${SITES[@]}"; do natbox_start "$s"; done
	touch "$RUN/up"
	up_ok=1
	echo "natlab: up (server mode $mode, $hosts hosts per site; logs in $RUN)"
}

teardown() {
	local ns pids s
	for s in "${SITES[@]}"; do natbox_stop "$s"; done
	for ns in $(ns_list); do
		# Whatever still runs inside a lab namespace was started for the lab.
		pids=$(ip netns pids "$ns" 2>/dev/null || true)
		[ -n "$pids" ] && kill -TERM $pids 2>/dev/null || true
	done
	for ns in $(ns_list); do
		for _ in 1 2 3 4 5 6 7 8 9 10; do
			[ -z "$(ip netns pids "$ns" 2>/dev/null)" ] && break
			sleep 0.1
		done
		pids=$(ip netns pids "$ns" 2>/dev/null || true)
		[ -n "$pids" ] && kill -KILL $pids 2>/dev/null || true
		ip netns del "$ns" 2>/dev/null || true
	done
	rm -rf "$RUN"
}

cmd_down() {
	need_root
	lock
	teardown
	echo "natlab: down"
}

cmd_status() {
	local ns s pid log
	if [ -z "$(ns_list)" ]; then
		echo "natlab: down (no rvl- namespace)"
		return 0
	fi
	[ -f "$RUN/state" ] && echo "state: $(tr '\n' ' ' <"$RUN/state")"
	for ns in $(ns_list); do
		echo "== $ns"
		ip -n "$ns" -br addr show 2>/dev/null | grep -v '^lo ' | sed 's/^/   /' || true
		pids=$(ip netns pids "$ns" 2>/dev/null | tr '\n' ' ')
		[ -n "$pids" ] && echo "   processes: $(for p in $pids; do
			printf '%s(%s) ' "$(cat /proc/$p/comm 2>/dev/null)" "$p"; done)"
	done
	for s in "${SITES[@]}"; do
		log=$RUN/nat-$s.jsonl
		if pid=$(natbox_pid "$s"); then
			echo "== natbox $s: pid $pid, log $log"
			if [ -f "$log" ]; then
				head -n1 "$log" | sed -E 's/.*"type":"([^"]*)".*"alloc":"([^"]*)","delta":(-?[0-9]+).*"lambda":([^,]*),"lifetime_ms":([0-9]+).*"hairpin":([a-z]+).*/   type \1, alloc \2, delta \3, lambda \4, lifetime \5 ms, hairpin \6/'
				printf '   events: %s mappings created, %s expired, %s filtered, %s ttl expired\n' \
					"$(grep -c '"ev":"map_create"' "$log")" "$(grep -c '"ev":"map_expire"' "$log")" \
					"$(grep -c '"ev":"filtered"' "$log")" "$(grep -c '"ev":"ttl_expired"' "$log")"
			fi
		else
			echo "== natbox $s: not running"
		fi
	done
}

cmd_netem() {
	local delay=0 loss=0
	while [ $# -gt 0 ]; do
		case "$1" in
		--delay) delay=${2:?}; shift 2 ;;
		--loss) loss=${2:?}; shift 2 ;;
		*) die "netem: unknown option '$1'" ;;
		esac
	done
	[[ "$delay" =~ ^[0-9]+$ ]] || die "netem: --delay: milliseconds"
	[[ "$loss" =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "netem: --loss: a percentage"
	need_root
	ns_exists rvl-inet || die "the lab is not up"
	netem_apply "$delay" "$loss"
	sed -i -e "s/^delay=.*/delay=$delay/" -e "s/^loss=.*/loss=$loss/" "$RUN/state"
}

cmd_exec() {
	local ns=${1:?exec needs a namespace}
	shift
	[ $# -gt 0 ] || die "exec: no command"
	case "$ns" in rvl-*) ;; *) ns=rvl-$ns ;; esac
	ns_exists "$ns" || die "exec: no namespace $ns"
	exec ip netns exec "$ns" "$@"
}

case "${1:-}" in
up) shift; cmd_up "$@" ;;
down) shift; cmd_down ;;
status) shift; need_root; cmd_status ;;
nat) shift; need_root; lock; site=${1:?nat needs a site (a or b)}; shift; natbox_start "$site" "$@" ;;
netem) shift; lock; cmd_netem "$@" ;;
exec) shift; need_root; cmd_exec "$@" ;;
log) echo "$RUN/nat-${2:?log needs a site}.jsonl" ;;
-h | --help | help) usage ;;
*) usage >&2; exit 2 ;;
esac
