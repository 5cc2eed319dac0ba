#!/usr/bin/env bash
# The GPU check on a machine with a real GPU and no registry (the `device` tool's H200 machines), from
# the payload that pack.mjs made here. Run from the repository root there, carrying '.device':
#
#   node packages/backend-gpu/device/pack.mjs          # here, after `pnpm build` (again after code changes)
#   bash packages/backend-gpu/device/run.sh            # there: run(command=..., carry=['.device'], timeout_s=300)
#
# The check itself takes well under a minute on the GPU; the machine's start takes minutes.
# Unpacks the payload, makes the Vulkan loader and NVIDIA's Vulkan driver visible to Dawn, and runs
# check.mjs (the shared conformance suite and the attention benchmark in WebGPU mode, next to the cpu
# backend). Arguments go to check.mjs; the report also lands in $OUT (the device tool's output folder).
set -euo pipefail
repo=$(cd "$(dirname "$0")/../../.." && pwd)
payload="$repo/.device/payload.tar.xz"
if [ ! -f "$payload" ]; then
  echo "no $payload: run 'node packages/backend-gpu/device/pack.mjs' on the machine you work on, and carry .device" >&2
  exit 2
fi
work=$(mktemp -d)
if command -v xz >/dev/null; then
  tar -xJf "$payload" -C "$work"
else # an image without xz: Python's tarfile reads it too
  python3 -c 'import sys, tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2], filter="tar")' "$payload" "$work"
fi

# NVIDIA's driver is mounted read-only at /usr/local/nvidia; the image may lack the Vulkan loader.
nvidia_icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
if [ -f "$nvidia_icd" ]; then
  export VK_DRIVER_FILES="${VK_DRIVER_FILES:-$nvidia_icd}"
  # Without libglvnd's libGLdispatch the loader finds the ICD but cannot open it ("Found no drivers").
  if ! ldconfig -p | grep 'libvulkan.so.1 ' >/dev/null || ! ldconfig -p | grep 'libGLdispatch.so.0 ' >/dev/null; then
    for deb in "$work"/debs/*.deb; do dpkg -x "$deb" /; done
    ldconfig
  fi
fi
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true

exec "$work/node" "$work/check.mjs" --out "${OUT:-$repo/bench-results}" "$@"
