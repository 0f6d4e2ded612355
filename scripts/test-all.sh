#!/usr/bin/env bash
# The whole test suite on a fresh Debian 12 machine, as root: installs and starts what the tests
# use (Debian packages, dockerd, the busybox:local image, QEMU and a cloud kernel for the
# cgroup v2 VM, Prometheus, LXCFS), installs the npm dev dependencies, builds, and runs every
# unit and integration test. Integration tests fail rather than skip when a component is missing.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/testbed.sh
npm ci --no-audit --no-fund
npm test
