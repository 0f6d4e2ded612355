#!/usr/bin/env bash
# The collection benchmark (see bench/README.md): builds the project, makes sure Docker and
# netdata are there, then runs bench/collect/main.js, which prints the figures.
# Environment: BENCH_QUICK=1 for a short run; BENCH_N, BENCH_DOCKER, BENCH_WINDOW,
# BENCH_HISTORY, BENCH_NETDATA_DEFAULT, BENCH_DOCKER_EVERY, BENCH_PROFILE, BENCH_NOFILE,
# BENCH_BASELINE (git revisions built and run in turns beside this one), BENCH_AGENT_ARGS
# (see bench/README.md).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
. "$root/bench/tree.sh"
tree=/tmp/${BENCH_PREFIX:-cstats-bench}-collect/tree
main=$tree/dist/bench/collect/main.js

[ "$(id -u)" = 0 ] || { echo "bench/collect: run as root (it creates cgroups and containers)" >&2; exit 1; }

build_tree "$tree"
[ -f "$main" ] && [ -f "$tree/dist/src/cli/main.js" ] || { echo "bench/collect: the build produced no $main" >&2; exit 1; }
# Each BENCH_BASELINE entry (REV or REV:FLAGS) built into baseline-<i>, where main.js looks for it.
i=0
for entry in ${BENCH_BASELINE:-}; do
	old=/tmp/${BENCH_PREFIX:-cstats-bench}-collect/baseline-$i
	build_revision "$old" "${entry%%:*}"
	[ -f "$old/dist/src/cli/main.js" ] || { echo "bench/collect: the build of ${entry%%:*} produced no agent (see $old.build.log)" >&2; exit 1; }
	i=$((i + 1))
done

docker version >/dev/null 2>&1 || "$root/scripts/testbed.sh"
if ! command -v netdata >/dev/null; then
	# Waits for another engineer's apt run instead of failing on the dpkg lock.
	DEBIAN_FRONTEND=noninteractive apt-get -q -y -o DPkg::Lock::Timeout=600 install netdata >/tmp/bench-collect-apt.log 2>&1 ||
		{ echo "bench/collect: apt-get install netdata failed, see /tmp/bench-collect-apt.log" >&2; exit 1; }
fi

raise_nofile "${BENCH_NOFILE:-262144}"

# main.js cleans up after itself, also on SIGINT/SIGTERM; this catches a hard kill of it.
status=0
node "$main" "$@" || status=$?
[ "$status" = 0 ] || node "$main" cleanup || true
exit "$status"
