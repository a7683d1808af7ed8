#!/usr/bin/env bash
# GPU check for the face engine: which execution providers load (and why not), images/s of the
# fixture models and of the release-sized stand-ins (fp32 and fp16), and whether the GPU's
# embeddings match the CPU's (cosine of the same crops).
#
#   scripts/gpu-check.sh pack   (here, on the dev machine) packs what a bare GPU machine without
#                               network needs into tmp/gpu-check/ (git-ignored, ~41 MB): a slim
#                               linux-x64 node_modules and the fixtures. Carry "tmp/gpu-check".
#                               The stand-in models (IResNet-100 is 260 MB) are NOT packed: the GPU
#                               machine generates them itself from scripts/make-standin-models.ts
#                               (part of the working tree; needs only node), reproducibly.
#   scripts/gpu-check.sh        (on the GPU machine, repo root) unpacks them if node_modules or the
#                               fixtures are missing, then:
#                                 1. machine, libraries (CUDA provider, CUDA 12 / cuDNN 9 runtime,
#                                    Vulkan loader and NVIDIA ICD)
#                                 2. providers: cpu, cuda, webgpu each loaded through the project's
#                                    ScrfdDetector; for a failure, onnxruntime's own reason and a hint
#                                 3. stand-ins generated into tmp/standins and verified (shapes)
#                                 4. bench:embed's fixture section (SCRFD-500M + MobileFaceNet, per
#                                    stage) per provider that loads, on auto, and on cpu
#                                 5. bench:standins per GPU provider that loads (IResNet-100 and
#                                    SCRFD-10G stand-ins, fp32 and fp16, batch 1/8/32, cosine parity
#                                    with the CPU), and a quick CPU run for comparison
#                               Exit 0 when every step that could run ran (a provider that does not
#                               load is a finding, reported, not a failure); 1 when a step broke.
#                               GPU_CHECK_QUICK=1 shortens the benches; GPU_CHECK_OUT=DIR (default
#                               $OUT when set) keeps each bench's JSON and the full log there.
set -uo pipefail
cd "$(dirname "$0")/.."
PACK=tmp/gpu-check
CARRY_LIMIT_MB=64

if [ "${1:-}" = "pack" ]; then
  mkdir -p "$PACK"
  # Only what the benchmarks load (tsx, sharp, onnxruntime-node, transformers.js and their
  # dependencies), linux-x64 binaries only: the whole node_modules is far over the carry limit.
  # transformers.node.mjs bundles its onnxruntime-web part itself, so that package stays out.
  # The stand-in generator (scripts/make-standin-models.ts, scripts/onnx-writer.ts) uses only
  # node's built-ins; bench-standins.ts needs sharp and onnxruntime-node, both packed.
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
    --exclude='*.map' node_modules/.bin/tsx $packages || exit 1
  FIX="${IDCLUSTERS_FIXTURES:-../shared/fixtures}"
  tar czf "$PACK/fixtures.tar.gz" -C "$(dirname "$FIX")" "$(basename "$FIX")" || exit 1
  for f in scripts/make-standin-models.ts scripts/onnx-writer.ts scripts/bench-standins.ts; do
    [ -f "$f" ] || { echo "missing $f: the GPU machine generates the stand-ins with it"; exit 1; }
    if git check-ignore -q "$f"; then echo "$f is git-ignored: it would not travel with the working tree"; exit 1; fi
    git ls-files --error-unmatch "$f" >/dev/null 2>&1 || echo "note: $f is not committed yet (it travels as an untracked file of the working tree)"
  done
  du -sh "$PACK"/*
  total_kb=$(du -sk "$PACK" | cut -f1)
  echo "total $((total_kb / 1024)) MiB of the ${CARRY_LIMIT_MB} MiB carry limit (the working tree travels too)"
  [ "$total_kb" -lt $((CARRY_LIMIT_MB * 1024)) ] || { echo "too big to carry"; exit 1; }
  echo "carry: $PACK"
  exit 0
fi

QUICK="${GPU_CHECK_QUICK:-0}"
SAVE="${GPU_CHECK_OUT:-${OUT:-}}"
if [ -n "$SAVE" ]; then
  mkdir -p "$SAVE"
  exec > >(tee "$SAVE/gpu-check.log") 2>&1
fi
started=$(date +%s)
problems=0
problem() { echo "!! $*"; problems=$((problems + 1)); }
elapsed() { echo "$(( $(date +%s) - started )) s"; }

echo "== machine ($(date -u +%FT%TZ))"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null || echo "nvidia-smi: not found"
echo "cpu: $(lscpu 2>/dev/null | sed -n 's/^Model name:[[:space:]]*//p' | head -1), $(nproc) cpus, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "node $(node --version 2>/dev/null || echo 'not found')"

if [ ! -d node_modules ]; then
  if [ -f "$PACK/node_modules.tar.gz" ]; then tar xzf "$PACK/node_modules.tar.gz" || { problem "cannot unpack $PACK/node_modules.tar.gz"; exit 1; }
  else npm ci --ignore-scripts --no-audit --no-fund || { echo "no node_modules: run 'scripts/gpu-check.sh pack' and carry $PACK"; exit 1; }
  fi
fi
if [ -z "${IDCLUSTERS_FIXTURES:-}" ] && [ ! -d ../shared/fixtures ] && [ -f "$PACK/fixtures.tar.gz" ]; then
  tar xzf "$PACK/fixtures.tar.gz" -C "$PACK"
  export IDCLUSTERS_FIXTURES="$PWD/$PACK/fixtures"
fi

ORT_BIN=$(ls -d node_modules/onnxruntime-node/bin/napi-v*/linux/x64 2>/dev/null | head -1)
lib() { ldconfig -p 2>/dev/null | grep -o -m1 "$1[^ ]*" || echo "absent"; }
echo "== libraries"
echo "onnxruntime-node CUDA provider: $(ls "$ORT_BIN"/libonnxruntime_providers_cuda.so 2>/dev/null || echo "absent (.npmrc skips it; see README, GPU)")"
echo "NVIDIA driver libcuda.so.1: $(lib libcuda.so.1)"
echo "CUDA 12 runtime: cudart $(lib libcudart.so.12), cublasLt $(lib libcublasLt.so.12), cufft $(lib libcufft.so.11), curand $(lib libcurand.so.10)"
echo "cuDNN 9: $(lib libcudnn.so.9)"
echo "vulkan loader (WebGPU via Dawn): $(lib libvulkan.so.1)"
echo "vulkan ICDs: $(ls /usr/share/vulkan/icd.d/ /etc/vulkan/icd.d/ 2>/dev/null | grep -i json | tr '\n' ' ' || true)"

echo "== providers (through ScrfdDetector; onnxruntime's reason for a failure)"
probe=$(timeout 300 node --import tsx scripts/bench-standins.ts --probe 2>/dev/null)
status=$?
echo "$probe"
[ "$status" = 0 ] || problem "provider probe failed (exit $status)"
gpus=$(echo "$probe" | awk '$1 == "provider" && $3 == "ok" && $2 != "cpu" { printf "%s ", $2 }')
echo "GPU providers that load: ${gpus:-none}"

echo "== stand-in models (generated here: node only, reproducible; sha256 prefixes below)"
timeout 300 node --import tsx scripts/make-standin-models.ts --verify || problem "stand-in generation or verification failed"

repeat=5; quick_flag=""
if [ "$QUICK" = 1 ]; then repeat=2; quick_flag="--quick"; fi
# bench:embed's CLI: its fixture section alone is `--fixtures-only --stages-repeat N` (older
# versions: `--repeat N`); the realistic-photo section needs Python and is not run here.
if grep -q '"fixtures-only"' scripts/bench-embed.ts; then embed_flags="--fixtures-only --stages-repeat"; else embed_flags="--repeat"; fi
for device in $gpus auto cpu; do
  echo "== bench:embed --device $device (fixture SCRFD-500M + MobileFaceNet)   [$(elapsed)]"
  # shellcheck disable=SC2086
  out=$(timeout 180 node --import tsx scripts/bench-embed.ts --device "$device" $embed_flags "$repeat" --no-python 2>&1)
  status=$?
  echo "$out" | grep -E 'bench:embed|machine|providers|stage|decode|detect|align|embed|end.?to.?end|endToEnd|face engine|Error|cannot run' | head -16
  [ "$status" = 0 ] || problem "bench:embed on $device failed (exit $status)"
done

for device in $gpus cpu; do
  flags="$quick_flag"
  [ "$device" = cpu ] && flags="--quick --no-threads --no-calibrate"
  echo "== bench:standins --device $device $flags (IResNet-100 and SCRFD-10G stand-ins)   [$(elapsed)]"
  [ -n "$SAVE" ] && flags="$flags --json-file $SAVE/bench-standins-$device.json"
  # shellcheck disable=SC2086
  timeout 300 node --import tsx scripts/bench-standins.ts --device "$device" $flags 2>&1 | grep -v '^progress: '
  status=${PIPESTATUS[0]}
  [ "$status" = 0 ] || problem "bench:standins on $device failed (exit $status)"
done

echo "== gpu-check done in $(elapsed): ${gpus:+GPU providers $gpus; }$problems problem(s)"
[ "$problems" = 0 ]
