#!/usr/bin/env bash
# Builds the Outpost container image with podman from packaging/Containerfile.
# Usage: packaging/build-image.sh <outpost-x.y.z.tgz | npm prefix> [image tag, default localhost/outpost:<version>]
#   a .tgz is installed here; a folder is an npm prefix where that tarball is already installed
#   (`npm install -g --prefix <folder> --omit=dev <tgz>`), copied as it is (the tests use this).
#
# Assembles the build context under a temporary folder: the packed tarball installed with
# `npm install -g --omit=dev` into rootfs/usr/local (the npm registry, or npm's cache, provides the
# run-time dependencies), the host's node binary, every shared library node and the native addons
# load (from ldd), /etc/passwd and /etc/group with the `outpost` user (10001), /tmp, and the data
# directory owned by that user. RocksDB's prebuilt binaries for other platforms are left out.
# podman's own settings (storage, runtime) come from the caller's environment.
set -euo pipefail
source=$(realpath "$1")
here=$(cd "$(dirname "$0")" && pwd)
if [ -d "$source" ]; then
  manifest=$(cat "$source/lib/node_modules/outpost/package.json")
else
  manifest=$(tar -xOzf "$source" package/package.json)
fi
version=$(printf '%s' "$manifest" | node -e 'process.stdout.write(JSON.parse(require("fs").readFileSync(0, "utf8")).version)')
tag=${2:-localhost/outpost:$version}
uid=10001

context=$(mktemp -d "${TMPDIR:-/tmp}/outpost-image-XXXXXX")
trap 'rm -rf "$context"' EXIT
rootfs=$context/rootfs
mkdir -p "$rootfs/usr/local/bin" "$rootfs/etc" "$rootfs/tmp" "$rootfs/var/lib/outpost" "$rootfs/etc/outpost/certs"
chmod 1777 "$rootfs/tmp"

if [ -d "$source" ]; then
  cp -a "$source/." "$rootfs/usr/local/"
else
  npm install -g --prefix "$rootfs/usr/local" --omit=dev --no-audit --no-fund --loglevel=error "$source" >&2
fi
package=$rootfs/usr/local/lib/node_modules/outpost
platform="$(node -p 'process.platform + "-" + process.arch')"
for prebuilds in "$package"/node_modules/*/prebuilds; do
  [ -d "$prebuilds" ] || continue
  find "$prebuilds" -mindepth 1 -maxdepth 1 -type d ! -name "$platform" -exec rm -rf {} +
done
# Intermediate build products of native addons (the linked .node files stay).
find "$package" -type d -name obj.target -prune -exec rm -rf {} +

cp "$(command -v node)" "$rootfs/usr/local/bin/node"
# Every shared library (and the dynamic loader) of node and of each native addon, at its host path.
{
  ldd "$rootfs/usr/local/bin/node"
  find "$package" -name '*.node' -type f -exec ldd {} \;
} | awk '/=> \//{print $3} /^\t\/[^ ]*ld-linux/{print $1}' | sort -u | while read -r lib; do
  mkdir -p "$rootfs$(dirname "$lib")"
  cp -L "$lib" "$rootfs$lib"
done

printf 'root:x:0:0:root:/root:/sbin/nologin\noutpost:x:%s:%s:Outpost:/var/lib/outpost:/sbin/nologin\n' "$uid" "$uid" >"$rootfs/etc/passwd"
printf 'root:x:0:\noutpost:x:%s:\n' "$uid" >"$rootfs/etc/group"
chown -R "$uid:$uid" "$rootfs/var/lib/outpost"
chmod 0750 "$rootfs/var/lib/outpost"

cp "$here/Containerfile" "$context/Containerfile"
podman build --quiet -f "$context/Containerfile" -t "$tag" "$context" >/dev/null
echo "$tag"
