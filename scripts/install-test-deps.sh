#!/usr/bin/env bash
# Installs the Debian packages the test suite needs, when they are missing. Idempotent and quick
# when everything is present, so `npm test` can call it on every run. Needs root (or sudo) only
# when something is actually missing.
set -euo pipefail

# command -> Debian package
declare -A needed=(
  [openssl]=openssl
  [mosquitto_pub]=mosquitto-clients
  [mosquitto_sub]=mosquitto-clients
  # systemd-analyze verify checks packaging/outpost.service; setpriv and prlimit (util-linux, always
  # present) run its ExecStart as the unit would.
  [systemd-analyze]=systemd
  # promtool checks the /metrics exposition with Prometheus' own parser (test/metrics).
  [promtool]=prometheus
  # Debian's Chromium, driven by playwright-core (test/dashboard): playwright's own browser
  # download is not used.
  [chromium]=chromium
)

missing=()
for cmd in "${!needed[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("${needed[$cmd]}")
done
# Python paho from Debian, for the system interpreter (not any pyenv one on PATH).
/usr/bin/python3 -c 'import paho.mqtt.client' >/dev/null 2>&1 || missing+=(python3-paho-mqtt)

if [ "${#missing[@]}" -gt 0 ]; then
  mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
  echo "install-test-deps: installing ${missing[*]}" >&2
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || { echo "install-test-deps: need root or sudo to install ${missing[*]}" >&2; exit 1; }
    SUDO="sudo"
  fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The benchmark peers (Mosquitto) and the C compiler are used by the harness's own tests too.
bash "$(dirname "$0")/install-bench-deps.sh"

# podman's Docker-compatible API, for the agent's docker runtime tests.
bash "$(dirname "$0")/install-podman.sh"
