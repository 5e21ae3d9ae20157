#!/usr/bin/env bash
# Installs the Debian packages the benchmarks need when they are missing: Mosquitto 2 (the reference
# peer, and its clients for manual checks), a C compiler (the harness compiles bench/loadgen/*.c
# at run time), Qpid Proton's C library and headers (the AMQP load generator,
# bench/loadgen/amqp-loadgen.c), OpenSSL's headers (the storm generator's TLS client) and RabbitMQ (the AMQP 1.0 peer, with its rabbitmq_amqp1_0 plugin). Idempotent and quick when everything is present. Needs root (or sudo) only when
# something is actually missing.
set -euo pipefail

# command -> Debian package
declare -A needed=(
  [mosquitto]=mosquitto
  [mosquitto_pub]=mosquitto-clients
  [cc]=gcc
)

have() {
  command -v "$1" >/dev/null 2>&1 && return 0
  # Debian installs the broker in /usr/sbin, which is not on every user's PATH.
  [ -x "/usr/sbin/$1" ]
}

missing=()
for cmd in "${!needed[@]}"; do
  have "$cmd" || missing+=("${needed[$cmd]}")
done
# file -> Debian package (libraries and a server that are not commands on PATH)
declare -A needed_files=(
  [/usr/include/proton/proactor.h]=libqpid-proton11-dev
  [/usr/include/openssl/ssl.h]=libssl-dev
  [/usr/lib/rabbitmq/bin/rabbitmq-server]=rabbitmq-server
)
for file in "${!needed_files[@]}"; do
  [ -e "$file" ] || missing+=("${needed_files[$file]}")
done
[ "${#missing[@]}" -eq 0 ] && exit 0

echo "install-bench-deps: installing ${missing[*]}" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "install-bench-deps: need root or sudo to install ${missing[*]}" >&2; exit 1; }
  SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# The Debian package enables a system-wide broker on 1883; the harness starts its own, so stop
# that one where a service manager exists (none in a container; harmless when it fails).
# RabbitMQ likewise (the harness starts a node of its own per scenario).
if command -v systemctl >/dev/null 2>&1; then
  $SUDO systemctl disable --now mosquitto >/dev/null 2>&1 || true
  $SUDO systemctl disable --now rabbitmq-server >/dev/null 2>&1 || true
fi
