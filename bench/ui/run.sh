#!/usr/bin/env bash
# bench/ui (see bench/ui/README.md): builds the project into a tree of its own, makes sure netdata
# is installed, then runs bench/ui/main.js: the dashboard in Debian's Chromium and `cstats top` in
# tmux over 100 and 300 plain cgroups, beside netdata's dashboard. Everything it makes is named
# after BENCH_PREFIX (default cs-benchui) and removed at the end, also on Ctrl-C; so is its state
# directory, unless BENCH_KEEP=1.
# Environment: BENCH_QUICK=1 for a short run (about 8 minutes); BENCH_UI_* (see the README).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
. "$root/bench/tree.sh"
export BENCH_PREFIX=${BENCH_PREFIX:-cs-benchui}
export BENCH_STATE_DIR=/tmp/$BENCH_PREFIX-ui
tree=$BENCH_STATE_DIR/tree
main=$tree/dist/bench/ui/main.js

[ "$(id -u)" = 0 ] || { echo "bench/ui: run as root (it creates cgroups)" >&2; exit 1; }
for bin in /usr/bin/chromium /usr/bin/tmux; do
	[ -x "$bin" ] || { echo "bench/ui: $bin missing: apt-get install -y chromium tmux" >&2; exit 1; }
done
if [ "${BENCH_UI_NETDATA:-1}" = 1 ] && ! command -v netdata >/dev/null; then
	# Waits for another engineer's apt run instead of failing on the dpkg lock.
	DEBIAN_FRONTEND=noninteractive apt-get -q -y -o DPkg::Lock::Timeout=600 install netdata >"/tmp/$BENCH_PREFIX-apt.log" 2>&1 ||
		{ echo "bench/ui: apt-get install netdata failed, see /tmp/$BENCH_PREFIX-apt.log" >&2; exit 1; }
fi

[ "${BENCH_KEEP:-0}" = 1 ] || trap 'rm -rf "$BENCH_STATE_DIR"' EXIT
build_and_run "$tree" "$main" "$@"
