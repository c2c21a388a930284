#!/usr/bin/env bash
# The Debian packages the test suites run for real: nats-server, redis-server, chromium.
# Idempotent: installs only what is missing.
set -euo pipefail
missing=()
command -v nats-server >/dev/null || missing+=(nats-server)
command -v redis-server >/dev/null || missing+=(redis-server)
command -v chromium >/dev/null || missing+=(chromium)
if ((${#missing[@]})); then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
