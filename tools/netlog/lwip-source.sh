#!/bin/bash
# tools/netlog/lwip-source.sh -- print the directory of Debian's lwIP sources (bookworm's
# `lwip` source package, unmodified), fetching them once into ~/.cache/xmhf/lwip with
# `apt-get source` (enables deb-src for the suites of /etc/apt/sources.list.d/debian.sources
# if no deb-src entry exists; needs dpkg-dev). Idempotent; the build compiles from there.
set -euo pipefail
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/xmhf/lwip
src=$(ls -d "$CACHE"/lwip-*/src/core 2>/dev/null | head -n1 || true)
if [ -n "$src" ]; then dirname "$(dirname "$src")"; exit 0; fi
SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
if ! grep -rqs '^Types:.*deb-src\|^deb-src' /etc/apt/sources.list /etc/apt/sources.list.d/; then
  echo "lwip-source: enabling deb-src (/etc/apt/sources.list.d/xmhf-deb-src.sources)" >&2
  sed 's/^Types: deb$/Types: deb-src/' /etc/apt/sources.list.d/debian.sources |
    $SUDO tee /etc/apt/sources.list.d/xmhf-deb-src.sources >/dev/null
  $SUDO apt-get update -q >&2
fi
command -v dpkg-source >/dev/null || $SUDO env DEBIAN_FRONTEND=noninteractive \
  apt-get install -y -q --no-install-recommends dpkg-dev >&2
mkdir -p "$CACHE"
(cd "$CACHE" && apt-get source -q lwip >&2)
src=$(ls -d "$CACHE"/lwip-*/src/core | head -n1)
dirname "$(dirname "$src")"
