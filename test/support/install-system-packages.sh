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

# The current nats-server release, built once from its Go module (Debian's is 2.9); the test
# setup does the same when it is missing, this only does it up front.
npx --no-install tsx -e "import('./test/support/nats-server.ts').then((m) => m.currentNatsServerBinary())"
