#!/usr/bin/env bash
# GPU check for the face engine: which execution provider really runs, and images/s.
#
#   scripts/gpu-check.sh pack   (here, on the dev machine) packs what a bare GPU machine without
#                               network needs into tmp/gpu-check/ (git-ignored, ~41 MB): a slim
#                               linux-x64 node_modules and the fixtures. Carry "tmp/gpu-check".
#   scripts/gpu-check.sh        (on the GPU machine, repo root) unpacks them if node_modules or the
#                               fixtures are missing, then runs `bench:embed` on webgpu, on cuda when
#                               onnxruntime-node's CUDA provider library is present, and on auto, and
#                               prints the provider actually used and images/s for each.
set -uo pipefail
cd "$(dirname "$0")/.."
PACK=tmp/gpu-check

if [ "${1:-}" = "pack" ]; then
  mkdir -p "$PACK"
  # Only what the benchmark loads (tsx, sharp, onnxruntime-node, transformers.js and their
  # dependencies), linux-x64 binaries only: the whole node_modules is far over the carry limit.
  # transformers.node.mjs bundles its onnxruntime-web part itself, so that package stays out.
  packages=$(node -e '
    const fs = require("fs"), path = require("path");
    const seen = new Set(), queue = ["tsx", "sharp", "onnxruntime-node", "@huggingface/transformers"];
    while (queue.length) {
      const name = queue.pop();
      const file = path.join("node_modules", name, "package.json");
      if (seen.has(name) || !fs.existsSync(file)) continue;
      seen.add(name);
      const pkg = JSON.parse(fs.readFileSync(file, "utf8"));
      for (const dep of Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies })) if (dep !== "onnxruntime-web") queue.push(dep);
    }
    console.log([...seen].map((n) => "node_modules/" + n).join("\n"));')
  # shellcheck disable=SC2086
  tar czf "$PACK/node_modules.tar.gz" --exclude='node_modules/onnxruntime-node/bin/napi-v6/darwin' \
    --exclude='node_modules/onnxruntime-node/bin/napi-v6/win32' --exclude='node_modules/onnxruntime-node/bin/napi-v6/linux/arm64' \
    --exclude='*.map' node_modules/.bin/tsx $packages
  FIX="${IDCLUSTERS_FIXTURES:-../shared/fixtures}"
  tar czf "$PACK/fixtures.tar.gz" -C "$(dirname "$FIX")" "$(basename "$FIX")"
  du -sh "$PACK"/*
  echo "carry: $PACK"
  exit 0
fi

echo "== machine"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null || echo "nvidia-smi: not found"
echo "node $(node --version)  cpus $(nproc)  load $(cut -d' ' -f1-3 /proc/loadavg)"

if [ ! -d node_modules ]; then
  if [ -f "$PACK/node_modules.tar.gz" ]; then tar xzf "$PACK/node_modules.tar.gz"
  else npm ci --ignore-scripts --no-audit --no-fund || { echo "no node_modules: run 'scripts/gpu-check.sh pack' and carry $PACK"; exit 1; }
  fi
fi
if [ -z "${IDCLUSTERS_FIXTURES:-}" ] && [ ! -d ../shared/fixtures ] && [ -f "$PACK/fixtures.tar.gz" ]; then
  tar xzf "$PACK/fixtures.tar.gz" -C "$PACK"
  export IDCLUSTERS_FIXTURES="$PWD/$PACK/fixtures"
fi

ORT_BIN=$(ls -d node_modules/onnxruntime-node/bin/napi-v*/linux/x64 2>/dev/null | head -1)
echo "== libraries"
echo "onnxruntime-node CUDA provider: $(ls "$ORT_BIN"/libonnxruntime_providers_cuda.so 2>/dev/null || echo absent)"
echo "vulkan loader (WebGPU via Dawn): $(ldconfig -p 2>/dev/null | grep -m1 -o 'libvulkan.so.1' || echo absent)"
echo "nvidia vulkan ICD: $(ls /usr/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json 2>/dev/null | head -1 || true)"

devices="webgpu"
[ -f "$ORT_BIN/libonnxruntime_providers_cuda.so" ] && devices="$devices cuda" || echo "cuda: skipped (provider library absent)"
for device in $devices auto cpu; do
  echo "== bench:embed --device $device"
  out=$(timeout 180 node --import tsx scripts/bench-embed.ts --device "$device" --repeat "${REPEAT:-5}" --no-python 2>&1)
  status=$?
  echo "$out" | grep -E 'bench:embed|machine|stage|decode|detect|align|embed|endToEnd|face engine|Error|cannot run' | head -12
  [ "$status" = 0 ] || echo "device $device: failed (exit $status)"
done
