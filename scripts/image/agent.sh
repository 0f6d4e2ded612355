#!/usr/bin/env bash
# Builds the cstats agent image with the real Docker here: a base image made from this machine's
# node and mount (scripts/image/base.sh; no registry is reachable), the npm package of this
# checkout (`npm pack`: built files and bundled dependencies), and the repository's Dockerfile.
# Usage: agent.sh TAG [BASE_TAG]   (BASE_TAG defaults to cstats-base:local; run npm run build first)
set -euo pipefail

tag=${1:?usage: agent.sh TAG [BASE_TAG]}
base=${2:-cstats-base:local}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)

bash "$here/base.sh" "$base"
ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
# The package of what `npm run build` made (npm pack's own "prepare" build is skipped: a whole
# tsc run for a dist/ that the caller built already).
[ -f "$repo/dist/src/cli/main.js" ] || { echo "agent.sh: $repo/dist is missing: run npm run build" >&2; exit 1; }
(cd "$repo" && npm pack --silent --ignore-scripts --pack-destination "$ctx" >/dev/null)
cp "$repo/Dockerfile" "$repo/.dockerignore" "$ctx/"
DOCKER_BUILDKIT=0 docker build -q --build-arg "BASE=$base" -t "$tag" "$ctx" >/dev/null
