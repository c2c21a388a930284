#!/usr/bin/env bash
# The Debian packages the test suites run for real: nats-server, redis-server, chromium, and Java 17
# with Maven for the Apache Kafka broker (its jars come from Maven Central).
# Idempotent: installs only what is missing.
set -euo pipefail
missing=()
command -v nats-server >/dev/null || missing+=(nats-server)
command -v redis-server >/dev/null || missing+=(redis-server)
command -v chromium >/dev/null || missing+=(chromium)
command -v java >/dev/null || missing+=(openjdk-17-jre-headless)
command -v mvn >/dev/null || missing+=(maven)
if ((${#missing[@]})); then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The current nats-server release, built once from its Go module (Debian's is 2.9); the test
# setup does the same when it is missing, this only does it up front.
npx --no-install tsx -e "import('./test/support/nats-server.ts').then((m) => m.currentNatsServerBinary())"

# The Kafka broker's jars, fetched once from Maven Central into .cache/ (the test setup does the same when missing).
npx --no-install tsx -e "import('./test/support/kafka/kafka-broker.ts').then((m) => m.fetchKafkaJars())"
