# Sourced by the benchmarks' run.sh: build_tree DIR [ROOT] builds the project (the checkout this
# file is in, or the source tree ROOT) into DIR/dist (the dashboard into DIR/dist/ui), with
# package.json, bin/ and node_modules beside it (the agent reads its version from the first and is started
# through the second, as users start it). A build of its own, because the shared dist/ is
# rebuilt by others while a benchmark runs. Work in progress elsewhere in the tree may not
# compile: what tsc emitted is used.
build_tree() {
	local tree=$1 root=${2:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
	rm -rf "$tree"
	mkdir -p "$tree"
	cp "$root/package.json" "$tree/"
	cp -r "$root/bin" "$tree/"
	# The agent's runtime dependencies (yaml): resolved from beside dist/, as in the checkout.
	ln -s "$root/node_modules" "$tree/node_modules"
	(cd "$root" && npx tsc -p tsconfig.json --outDir "$tree/dist") >"$tree.build.log" 2>&1 ||
		echo "tsc reported errors (see $tree.build.log); using what it emitted" >&2
	(cd "$root" && UI_OUT="$tree/dist/ui" node scripts/build-ui.mjs) >>"$tree.build.log" 2>&1 ||
		echo "the dashboard did not build (see $tree.build.log)" >&2
}

# build_revision DIR REV: the checkout's commit REV (any git revision) built into DIR (build_tree),
# its sources exported to DIR.src with this checkout's node_modules beside them: an older build
# to run beside the new one. Prints nothing on success.
build_revision() {
	local tree=$1 rev=$2 root
	root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
	rm -rf "$tree.src"
	mkdir -p "$tree.src"
	git -C "$root" archive "$rev" | tar -x -C "$tree.src" || { echo "cannot export revision $rev of $root" >&2; return 1; }
	ln -s "$root/node_modules" "$tree.src/node_modules"
	build_tree "$tree" "$tree.src"
}

# Raises RLIMIT_NOFILE to $1 where allowed: the agent keeps a dozen or more descriptors per
# container open, and 1000 containers come close to common limits.
raise_nofile() {
	if [ "$(ulimit -Hn)" != unlimited ] && [ "$(ulimit -Hn)" -lt "$1" ]; then
		ulimit -Hn "$1" 2>/dev/null ||
			echo "cannot raise RLIMIT_NOFILE above $(ulimit -Hn) here (no CAP_SYS_RESOURCE)" >&2
	fi
	ulimit -Sn "$(ulimit -Hn)"
}

# Builds the tree $1, checks that it holds $2 (a benchmark's main.js) and the agent, raises
# RLIMIT_NOFILE, then runs $2 with the remaining arguments; should it fail, its `cleanup` runs
# (main.js cleans up after itself, also on SIGINT/SIGTERM; this catches a hard kill of it).
build_and_run() {
	local tree=$1 main=$2 status=0
	shift 2
	build_tree "$tree"
	[ -f "$main" ] && [ -f "$tree/dist/src/cli/main.js" ] || { echo "the build produced no $main" >&2; return 1; }
	raise_nofile "${BENCH_NOFILE:-262144}"
	node "$main" "$@" || status=$?
	[ "$status" = 0 ] || node "$main" cleanup || true
	return "$status"
}
