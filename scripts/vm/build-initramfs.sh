#!/usr/bin/env bash
# Builds the initramfs of the cstats test VM (see tests/integration/vm/harness.ts):
# static busybox with its applet links, node (stripped) and runc (for a container under a real
# runtime, tests/integration/vm/agent-v2.test.ts) with the libraries ldd lists for them,
# the compiled project (dist/, package.json and the runtime dependencies) in /cstats, the fuse and brd kernel modules,
# and scripts/vm/init as /init.
# Usage: build-initramfs.sh OUT.cpio.gz   (run `npm run build` first)
set -euo pipefail

die() { echo "build-initramfs: $*" >&2; exit 1; }

out=${1:-}
[[ -n $out ]] || die "usage: build-initramfs.sh OUT.cpio.gz"
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
[[ -d $root/dist ]] || die "$root/dist is missing: run npm run build"
for tool in cpio gzip strip; do
  command -v "$tool" > /dev/null || die "$tool is not installed"
done
node=$(command -v node) || die "node is not installed"
runc=$(PATH=$PATH:/usr/sbin:/sbin command -v runc) || die "runc is not installed (apt-get install runc)"
busybox=$(command -v busybox) || die "busybox is not installed (apt-get install busybox-static)"
if ldd "$busybox" > /dev/null 2>&1; then
  die "$busybox is dynamically linked (apt-get install busybox-static)"
fi

stage=$(mktemp -d)
tmp="$out.tmp.$$"
trap 'rm -rf "$stage" "$tmp"' EXIT
mkdir -p "$stage"/{bin,dev,proc,sys,tmp,root,etc,usr,cstats}
ln -s bin "$stage/sbin"
ln -s ../bin "$stage/usr/bin"
ln -s ../bin "$stage/usr/sbin"

cp "$busybox" "$stage/bin/busybox"
for applet in $("$busybox" --list); do
  [[ $applet == busybox ]] || ln -s busybox "$stage/bin/$applet"
done

strip -o "$stage/bin/node" "$node"
cp "$runc" "$stage/bin/runc"
# Every path ldd prints: the libraries after "=>" and the dynamic loader itself.
for lib in $({ ldd "$node"; ldd "$runc"; } | grep -o '/[^ ]*' | sort -u); do
  mkdir -p "$stage$(dirname "$lib")"
  cp -L "$lib" "$stage$lib"
done

# Modules the cloud kernel builds as such (the harness boots the newest one): fuse, which /init
# loads for procview's FUSE tests, and brd (RAM block devices), which tests load for block I/O.
kver=$(find /boot -maxdepth 1 -name 'vmlinuz-*-cloud-amd64' -printf '%f\n' | sed 's/^vmlinuz-//' | sort -V | tail -n1)
for mod in kernel/fs/fuse/fuse.ko kernel/drivers/block/brd.ko; do
  for file in "/lib/modules/$kver/$mod"*; do
    if [[ -e $file ]]; then install -D -m 0644 "$file" "$stage$file"; fi
  done
done

cp -r "$root/dist" "$root/package.json" "$stage/cstats/"
# The agent's runtime dependencies (package.json "dependencies"; dev dependencies stay out).
mkdir -p "$stage/cstats/node_modules"
for dep in $(node -e 'console.log(Object.keys(require(process.argv[1]).dependencies ?? {}).join(" "))' "$root/package.json"); do
	cp -r "$root/node_modules/$dep" "$stage/cstats/node_modules/"
done
install -m 0755 "$here/init" "$stage/init"
echo 'root:x:0:0:root:/root:/bin/sh' > "$stage/etc/passwd"
echo 'root:x:0:' > "$stage/etc/group"
printf '127.0.0.1 localhost\n::1 localhost\n' > "$stage/etc/hosts"

(cd "$stage" && find . -mindepth 1 | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0 --reproducible) \
  | gzip -1 > "$tmp"
mv -f "$tmp" "$out"
