#!/usr/bin/env bash
# The prepared device run of issue 16, from the repository root, with no network and no pip index:
# the carried packages (tests/gpu/pack.sh -> build/gpu-carry) go on PYTHONPATH, then
# `ingest bench --device cuda` times the torch engine on generated ImageNet-size images (end to end,
# decode-only ceiling, per-stage GPU time, peak GPU memory, batch sweep) and compares its answers with
# the onnxruntime CPU path's; the report is one JSON line on stdout (and $OUT/gpu-bench.json when $OUT
# is set). About 2-4 minutes on one H100 for 2,000 images.
#
#   tests/gpu/check.sh                                   # on the GPU machine
#   CHECK_DEVICE=cpu CHECK_IMAGES=40 tests/gpu/check.sh   # the same run on a CPU (the torch path there)
# Other knobs: CHECK_BATCH (128), CHECK_SWEEP (32,64,128,256), CHECK_AGREEMENT (64), CHECK_TIMEOUT (480 s),
# CHECK_CARRY (build/gpu-carry), PYTHON (python3).
set -euo pipefail
cd "$(dirname "$0")/../.."
CARRY=${CHECK_CARRY:-build/gpu-carry}
DEVICE=${CHECK_DEVICE:-cuda}
PY=${PYTHON:-python3}
if [ ! -d "$CARRY/site" ]; then
    echo "no $CARRY/site: run tests/gpu/pack.sh where the packages are installed, and carry $CARRY" >&2
    exit 2
fi
export PYTHONPATH="$PWD:$PWD/$CARRY/site${PYTHONPATH:+:$PYTHONPATH}"
export CENSUS_BENCH_FACES="$PWD/$CARRY/bench_faces"
export PIP_NO_INDEX=1 PYTHONDONTWRITEBYTECODE=1

echo "== $(date -u +%FT%TZ) $(uname -n), $(nproc) CPUs" >&2
if command -v nvidia-smi >/dev/null; then
    nvidia-smi >&2 || true
else
    echo "no nvidia-smi here" >&2
fi
"$PY" - >&2 <<'PY'
import platform, torch
try:
    import torchvision
    vision = torchvision.__version__
except Exception as error:  # noqa: BLE001
    vision = f"not importable ({type(error).__name__})"
print(f"python {platform.python_version()}, torch {torch.__version__} (cuda {torch.version.cuda}, "
      f"available {torch.cuda.is_available()}), torchvision {vision}")
PY

if [ "$DEVICE" = cpu ]; then engine=(--device cpu --engine torch); else engine=(--device "$DEVICE"); fi
report=$(timeout "${CHECK_TIMEOUT:-480}" "$PY" -m ingest.cli bench "${engine[@]}" --json \
    --images "${CHECK_IMAGES:-2000}" --batch-size "${CHECK_BATCH:-128}" \
    --batch-sizes "${CHECK_SWEEP:-32,64,128,256}" --agreement-images "${CHECK_AGREEMENT:-64}")
echo "$report"
if [ -n "${OUT:-}" ]; then echo "$report" > "$OUT/gpu-bench.json"; fi
