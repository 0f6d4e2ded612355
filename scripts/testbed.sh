#!/usr/bin/env bash
# Make this machine ready for the integration tests (see /work/shared/TESTBED.md):
# Debian packages, a running dockerd, and the local image busybox:local.
# Run as root on Debian 12; needs apt but no other network. Idempotent: each step checks
# first and does nothing when already done. Prints one line per step with its duration.
set -eEuo pipefail

PACKAGES=(docker.io iptables busybox-static qemu-system-x86 linux-image-cloud-amd64 cpio
	procps prometheus lxcfs fuse binutils chromium tmux podman lxc containerd runc
	containernetworking-plugins prometheus-alertmanager systemd e2fsprogs util-linux iproute2
	prometheus-node-exporter catatonit victoria-metrics)
# OpenStack Telemetry for the Gnocchi export test (tests/integration/export/gnocchi-server.ts starts its own).
PACKAGES+=(gnocchi-api gnocchi-metricd postgresql python3-psycopg2 python3-ceilometer uwsgi-plugin-python3)
# LXD 5.0 (its `lxc` client comes with it, from lxd-client): tests/integration/runtimes/lxd.test.ts
# starts a daemon of its own without systemd.
PACKAGES+=(lxd)
IMAGE=busybox:local
DOCKERD_LOG=/var/log/dockerd.log
DOCKERD_PID=/var/run/docker.pid
DOCKERD_WAIT_S=60

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
step_name=setup

die() {
	echo "testbed: FAILED in step '$step_name': $*" >&2
	exit 1
}
trap 'die "command failed (exit $?) at line $LINENO: $BASH_COMMAND"' ERR

# step NAME FUNCTION: run FUNCTION in this shell (it sets $outcome), then print NAME,
# the outcome and how long it took.
outcome=
step() {
	step_name=$1
	local t0
	t0=$(date +%s%N)
	"$2"
	printf 'testbed: %-9s %-44s %6d ms\n' "$1" "$outcome" $((($(date +%s%N) - t0) / 1000000))
}

missing_packages() {
	local installed
	installed=$(dpkg-query -W -f='${Package} ${db:Status-Status}\n' "${PACKAGES[@]}" 2>/dev/null |
		awk '$2 == "installed" { print $1 }' || true)
	for p in "${PACKAGES[@]}"; do
		grep -qx "$p" <<<"$installed" || echo "$p"
	done
}

packages() {
	local missing
	missing=$(missing_packages)
	if [ -z "$missing" ]; then
		outcome="all ${#PACKAGES[@]} installed"
		return
	fi
	export DEBIAN_FRONTEND=noninteractive
	# Wait for another apt/dpkg run rather than failing on its lock.
	local apt=(apt-get -q -y -o DPkg::Lock::Timeout=600)
	# shellcheck disable=SC2086 # one package per word
	"${apt[@]}" update >/tmp/testbed-apt.log 2>&1 &&
		"${apt[@]}" install --no-install-recommends $missing >>/tmp/testbed-apt.log 2>&1 ||
		die "apt-get failed for: $(echo $missing); last lines of /tmp/testbed-apt.log:
$(tail -n 15 /tmp/testbed-apt.log)"
	local still
	still=$(missing_packages)
	[ -z "$still" ] || die "still missing after apt-get: $(echo $still)"
	outcome="installed $(echo $missing)"
}

dockerd_alive() {
	local pid
	pid=$(cat "$DOCKERD_PID" 2>/dev/null) || return 1
	[ "$(cat "/proc/$pid/comm" 2>/dev/null)" = dockerd ]
}

docker_daemon() {
	if docker version >/dev/null 2>&1; then
		outcome="already running"
		return
	fi
	if ! dockerd_alive; then
		# A pid file left by a daemon that is gone makes dockerd refuse to start.
		rm -f "$DOCKERD_PID"
		# Own session: the daemon outlives this script and whatever process group ran it.
		setsid dockerd >"$DOCKERD_LOG" 2>&1 </dev/null &
	fi
	local deadline=$((SECONDS + DOCKERD_WAIT_S))
	until docker version >/dev/null 2>&1; do
		if [ $SECONDS -ge $deadline ]; then
			die "dockerd did not answer within ${DOCKERD_WAIT_S} s; last lines of $DOCKERD_LOG:
$(tail -n 20 "$DOCKERD_LOG")"
		fi
		sleep 0.2
	done
	outcome="started, server $(docker version -f '{{.Server.Version}}')"
}

image() {
	# The image carries the hash of its recipe: a changed build.sh rebuilds it.
	local recipe have
	recipe=$(cat "$here/image/build.sh" /bin/busybox /usr/bin/free /usr/bin/top | sha256sum | cut -c1-16)
	have=$(docker image inspect -f '{{index .Config.Labels "cstats.recipe"}}' "$IMAGE" 2>/dev/null || true)
	if [ "$have" = "$recipe" ]; then
		outcome="$IMAGE up to date"
		return
	fi
	"$here/image/build.sh" "$IMAGE" "cstats.recipe=$recipe"
	outcome="$IMAGE built"
}

podman_limits() {
	# Podman's default rlimits (nofile 1048576) exceed the hard limits a container host may
	# give root (20000 here, without CAP_SYS_RESOURCE): "error setting rlimit type 7" at run.
	local conf=/etc/containers/containers.conf
	if grep -qs '^default_ulimits' "$conf"; then
		outcome="$conf has default_ulimits"
		return
	fi
	mkdir -p /etc/containers
	if grep -qs '^\[containers\]' "$conf"; then
		sed -i '/^\[containers\]/a default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]' "$conf"
	else
		printf '[containers]\ndefault_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]\n' >>"$conf"
	fi
	outcome="default_ulimits set in $conf"
}

[ "$(id -u)" = 0 ] || die "must run as root"
t_start=$(date +%s%N)
step packages packages
step dockerd docker_daemon
step image image
step podman podman_limits
printf 'testbed: %-9s %-44s %6d ms\n' ready "" $((($(date +%s%N) - t_start) / 1000000))
