#!/usr/bin/env bash
# Build the local test image from this machine's binaries (no registry is reachable):
# busybox with a link per applet in /bin, plus Debian's procps `free` and `top` in /usr/bin
# with the shared libraries they load. procps reads /proc/meminfo and /proc/<pid>/stat,
# whereas busybox's free asks sysinfo(2): the two tell a procfs view from the kernel's.
# Docker's default PATH puts /usr/bin before /bin, so a bare `free` or `top` runs procps;
# busybox's own stay at /bin/free and /bin/top.
# Usage: build.sh TAG [LABEL=VALUE...]   (labels go onto the image, e.g. a recipe hash)
set -euo pipefail

tag=${1:?usage: build.sh TAG [LABEL=VALUE...]}
shift

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT

mkdir -p "$root"/{bin,usr/bin,proc,sys,dev,etc,tmp}
chmod 1777 "$root/tmp"

cp /bin/busybox "$root/bin/busybox"
for applet in $(/bin/busybox --list); do
	[ "$applet" = busybox ] || ln -s busybox "$root/bin/$applet"
done

for tool in /usr/bin/free /usr/bin/top; do
	cp "$tool" "$root/usr/bin/"
	# ldd lines: "libx.so => /lib/.../libx.so (0x...)" or "/lib64/ld-linux-x86-64.so.2 (0x...)".
	for lib in $(ldd "$tool" | grep -o '/[^ ]*'); do
		mkdir -p "$root$(dirname "$lib")"
		cp -L "$lib" "$root$lib"
	done
done
# top gives up ("terminals database is inaccessible") without terminfo, even with -b.
cp -r /lib/terminfo "$root/lib/"
echo 'root:x:0:0:root:/root:/bin/sh' >"$root/etc/passwd"
echo 'root:x:0:' >"$root/etc/group"

changes=()
for label in "$@"; do
	changes+=(--change "LABEL $label")
done
tar -C "$root" -cf - . | docker import "${changes[@]}" - "$tag" >/dev/null
