#!/usr/bin/env bash
# Builds the initramfs of the cstats test VM (see tests/integration/vm/harness.ts):
# static busybox with its applet links, node (stripped) and the libraries ldd lists for it,
# the compiled project (dist/ and package.json) in /cstats, and scripts/vm/init as /init.
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
# Every path ldd prints: the libraries after "=>" and the dynamic loader itself.
for lib in $(ldd "$node" | grep -o '/[^ ]*'); do
  mkdir -p "$stage$(dirname "$lib")"
  cp -L "$lib" "$stage$lib"
done

cp -r "$root/dist" "$root/package.json" "$stage/cstats/"
install -m 0755 "$here/init" "$stage/init"
echo 'root:x:0:0:root:/root:/bin/sh' > "$stage/etc/passwd"
echo 'root:x:0:' > "$stage/etc/group"
printf '127.0.0.1 localhost\n::1 localhost\n' > "$stage/etc/hosts"

(cd "$stage" && find . -mindepth 1 | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0 --reproducible) \
  | gzip -1 > "$tmp"
mv -f "$tmp" "$out"
