#!/usr/bin/env bash
# The soak (see bench/README.md): builds the project into a tree of its own, then runs
# bench/soak/main.js, which prints the agent's memory and descriptors over an hour.
# Environment: BENCH_SOAK_N, BENCH_SOAK_S, BENCH_SOAK_EVERY, BENCH_SOAK_SETTLED,
# BENCH_SOAK_CHURN, BENCH_SOAK_CHURN_EVERY, BENCH_PREFIX, BENCH_NOFILE, and BENCH_BASELINE (a git
# revision built into $BENCH_STATE_DIR/baseline, whose agent runs beside this build's).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
. "$root/bench/tree.sh"
export BENCH_STATE_DIR=/tmp/${BENCH_PREFIX:-cstats-bench}-soak
tree=$BENCH_STATE_DIR/tree
main=$tree/dist/bench/soak/main.js

[ "$(id -u)" = 0 ] || { echo "bench/soak: run as root (it creates cgroups)" >&2; exit 1; }

build_tree "$tree"
if [ -n "${BENCH_BASELINE:-}" ]; then
	build_revision "$BENCH_STATE_DIR/baseline" "$BENCH_BASELINE"
	[ -f "$BENCH_STATE_DIR/baseline/dist/src/cli/main.js" ] || { echo "bench/soak: the build of $BENCH_BASELINE produced no agent (see $BENCH_STATE_DIR/baseline.build.log)" >&2; exit 1; }
fi
[ -f "$main" ] && [ -f "$tree/dist/src/cli/main.js" ] || { echo "bench/soak: the build produced no $main" >&2; exit 1; }
raise_nofile "${BENCH_NOFILE:-262144}"

# main.js cleans up after itself, also on SIGINT/SIGTERM; this catches a hard kill of it.
status=0
node "$main" "$@" || status=$?
[ "$status" = 0 ] || node "$main" cleanup || true
exit "$status"
