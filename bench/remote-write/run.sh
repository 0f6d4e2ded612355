#!/usr/bin/env bash
# bench/remote-write (see bench/README.md): builds the project into a tree of its own, then runs
# bench/remote-write/main.js: remote_write's CPU and RSS at 1000 containers beside vmagent,
# and the sample-to-queryable latency in Prometheus.
# Environment: BENCH_RW_N, BENCH_RW_WARMUP, BENCH_RW_TURN, BENCH_RW_ROUNDS, BENCH_RW_LATENCY,
# BENCH_PREFIX, BENCH_NOFILE.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
. "$root/bench/tree.sh"
export BENCH_STATE_DIR=/tmp/${BENCH_PREFIX:-cstats-bench}-rw
tree=$BENCH_STATE_DIR/tree
main=$tree/dist/bench/remote-write/main.js

[ "$(id -u)" = 0 ] || { echo "bench/remote-write: run as root (it creates cgroups)" >&2; exit 1; }
for bin in /usr/bin/victoria-metrics /usr/bin/vmagent /usr/bin/prometheus; do
	[ -x "$bin" ] || { echo "bench/remote-write: $bin missing: apt-get install -y victoria-metrics prometheus" >&2; exit 1; }
done

build_and_run "$tree" "$main" "$@"
