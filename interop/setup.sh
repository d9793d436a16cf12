#!/usr/bin/env bash
# Installs what the interop tests need on a fresh Debian machine, quietly and
# idempotently: protoc, protobuf-java, a JDK if javac is missing, Node.js and
# npm only if missing, then `npm ci` in interop/node.
set -euo pipefail
cd "$(dirname "$0")"

pkgs=()
command -v protoc >/dev/null || pkgs+=(protobuf-compiler)
[ -f /usr/share/java/protobuf.jar ] || pkgs+=(libprotobuf-java)
command -v javac >/dev/null || pkgs+=(default-jdk-headless)
command -v node >/dev/null || pkgs+=(nodejs)
command -v npm >/dev/null || pkgs+=(npm)
if [ ${#pkgs[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
fi

if [ ! -f node/node_modules/protobufjs/package.json ]; then
  (cd node && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi
