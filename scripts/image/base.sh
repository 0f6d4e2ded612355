#!/usr/bin/env bash
# Builds a minimal base image for the cstats agent image from this machine's own files (no image
# registry is reachable here): node (stripped) and mount(8), umount(8) and env(1), each with the
# shared libraries ldd lists for it, an /etc/passwd with root and nobody, and empty /proc, /sys,
# /dev, /tmp. Everywhere else the Dockerfile's default base (node:20-bookworm-slim) does instead.
# The image carries a hash of what went into it; an unchanged recipe is not built again.
# Usage: base.sh TAG
set -euo pipefail

tag=${1:?usage: base.sh TAG}
tools=(/usr/bin/node /usr/bin/mount /usr/bin/umount /usr/bin/env)
recipe=$(cat "${BASH_SOURCE[0]}" "${tools[@]}" | sha256sum | cut -c1-16)
if [ "$(docker image inspect -f '{{index .Config.Labels "cstats.recipe"}}' "$tag" 2>/dev/null || true)" = "$recipe" ]; then
	exit 0
fi

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{usr/bin,proc,sys,dev,etc,tmp}
chmod 1777 "$root/tmp"
ln -s usr/bin "$root/bin"
for tool in "${tools[@]}"; do
	strip -o "$root$tool" "$tool"
	# ldd lines: "libx.so => /lib/.../libx.so (0x...)" or "/lib64/ld-linux-x86-64.so.2 (0x...)".
	for lib in $(ldd "$tool" | grep -o '/[^ ]*'); do
		[ -e "$root$lib" ] && continue
		mkdir -p "$root$(dirname "$lib")"
		cp -L "$lib" "$root$lib"
	done
done
cat >"$root/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/usr/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
PASSWD
printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
printf '127.0.0.1 localhost\n::1 localhost\n' >"$root/etc/hosts"

tar -C "$root" -cf - . | docker import --change "LABEL cstats.recipe=$recipe" \
	--change 'ENV PATH=/usr/local/bin:/usr/bin' - "$tag" >/dev/null
