#!/usr/bin/env bash
# Installs podman and what it needs to serve the Docker Engine API in this kind of sandbox (no
# systemd, cgroups v1 hybrid, no CAP_SYS_RESOURCE): runc (crun refuses hybrid cgroups), conmon,
# the CNI plugins with dnsname, iptables, and busybox-static for the tiny test image. Idempotent
# and quick when everything is present, so `npm test` and `.ci/run` can call it on every run.
# The engine itself is started per test run by test/agent/docker/podman-engine.ts (settings from
# shared/reference/container-engine-recipe.sh); nothing under /etc is changed.
set -euo pipefail

packages=(podman runc conmon containernetworking-plugins golang-github-containernetworking-plugin-dnsname iptables busybox-static)
if command -v podman >/dev/null 2>&1 && command -v runc >/dev/null 2>&1 && [ -x /usr/lib/cni/dnsname ] && [ -x /bin/busybox ]; then
  exit 0
fi

echo "install-podman: installing ${packages[*]}" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "install-podman: need root or sudo to install ${packages[*]}" >&2; exit 1; }
  SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
command -v podman >/dev/null 2>&1 || { echo "install-podman: podman is still missing after apt-get install" >&2; exit 1; }
