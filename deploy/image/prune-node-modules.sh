#!/bin/sh
# Image build step: removes from a production node_modules what the worker never loads, to keep
# the image small. Usage: prune-node-modules.sh <node_modules>
set -eu
nm=${1:?usage: prune-node-modules.sh <node_modules>}

# The Temporal core bridge ships a native addon for five platforms and its Rust sources: keep this
# platform's addon only.
bridge=$nm/@temporalio/core-bridge
platform=$(uname -m)-unknown-linux-gnu
[ -f "$bridge/releases/$platform/index.node" ] || { echo "no core bridge for $platform" >&2; exit 1; }
find "$bridge/releases" -mindepth 1 -maxdepth 1 ! -name "$platform" -exec rm -rf {} +
rm -rf "$bridge/sdk-core" "$bridge/src" "$bridge/bridge-macros" "$bridge/scripts" "$bridge/ts" "$bridge"/Cargo.*

# Type declarations, TypeScript sources, source maps and docs (licences stay).
find "$nm" -type f \( -name '*.d.ts' -o -name '*.d.mts' -o -name '*.d.cts' -o -name '*.ts' -o -name '*.map' \
  -o -name '*.md' -o -name '*.markdown' \) -delete

# Debug symbols of native addons, where the build image has binutils.
if command -v strip >/dev/null 2>&1; then
  find "$nm" -type f -name '*.node' -exec strip --strip-unneeded {} +
fi
