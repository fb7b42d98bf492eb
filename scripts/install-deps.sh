#!/usr/bin/env bash
# Installs the Debian packages Baton builds and tests against, only when one is missing.
# zlib1g-dev: the test bundle links -lz (Foundation's networking and NIO's compression need it at link
# time), and Swift's own Debian install notes do not guarantee it; without it `make test` fails in ld.
# postgresql: Debian's meta package for the distribution's PostgreSQL (15 on bookworm); the store contract suite
# starts a private cluster from /usr/lib/postgresql/15/bin (initdb, postgres) and fails without it.
set -euo pipefail
packages=(libzmq3-dev libsqlite3-dev libcurl4-openssl-dev zlib1g-dev pkg-config postgresql)
[ "${WITH_COMPOSE:-0}" = 1 ] && packages+=(docker-compose)
[ "${WITH_BENCH:-0}" = 1 ] && packages+=(wrk)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  echo "installing: ${missing[*]}"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}" >/dev/null
fi
command -v swift >/dev/null || { echo "swift is not on PATH (expected a Swift 6.2+ toolchain)"; exit 1; }
