#!/usr/bin/env bash
# The collection benchmark (see bench/README.md): builds the project, makes sure Docker and
# netdata are there, then runs bench/collect/main.js, which prints the figures.
# Environment: BENCH_QUICK=1 for a short run; BENCH_N, BENCH_DOCKER, BENCH_WINDOW,
# BENCH_HISTORY, BENCH_NETDATA_DEFAULT, BENCH_DOCKER_EVERY, BENCH_PROFILE, BENCH_NOFILE
# (see bench/README.md).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# A build of its own: the shared dist/ is rebuilt by others while the benchmark runs. It keeps
# the tree's shape (package.json and bin/ beside dist/): the agent reads its version from the
# first and is started through the second, as users start it.
tree=/tmp/cstats-bench-collect/tree
build=$tree/dist
main=$build/bench/collect/main.js

[ "$(id -u)" = 0 ] || { echo "bench/collect: run as root (it creates cgroups and containers)" >&2; exit 1; }

cd "$root"
rm -rf "$tree"
mkdir -p "$tree"
cp package.json "$tree/"
cp -r bin "$tree/"
# Work in progress elsewhere in the tree may not compile; what tsc emitted is used.
npx tsc -p tsconfig.json --outDir "$build" >/tmp/bench-collect-build.log 2>&1 ||
	echo "bench/collect: tsc reported errors (see /tmp/bench-collect-build.log); using what it emitted" >&2
[ -f "$main" ] && [ -f "$build/src/cli/main.js" ] || { echo "bench/collect: the build produced no $main" >&2; exit 1; }

docker version >/dev/null 2>&1 || "$root/scripts/testbed.sh"
if ! command -v netdata >/dev/null; then
	# Waits for another engineer's apt run instead of failing on the dpkg lock.
	DEBIAN_FRONTEND=noninteractive apt-get -q -y -o DPkg::Lock::Timeout=600 install netdata >/tmp/bench-collect-apt.log 2>&1 ||
		{ echo "bench/collect: apt-get install netdata failed, see /tmp/bench-collect-apt.log" >&2; exit 1; }
fi

# The agent keeps a dozen or more descriptors per container open: 1050 containers come close
# to common limits. Raised when allowed (BENCH_NOFILE), else reported in the output.
nofile=${BENCH_NOFILE:-262144}
if [ "$(ulimit -Hn)" != unlimited ] && [ "$(ulimit -Hn)" -lt "$nofile" ]; then
	ulimit -Hn "$nofile" 2>/dev/null ||
		echo "bench/collect: cannot raise RLIMIT_NOFILE above $(ulimit -Hn) here (no CAP_SYS_RESOURCE)" >&2
fi
ulimit -Sn "$(ulimit -Hn)"

# main.js cleans up after itself, also on SIGINT/SIGTERM; this catches a hard kill of it.
status=0
node "$main" "$@" || status=$?
[ "$status" = 0 ] || node "$main" cleanup || true
exit "$status"
