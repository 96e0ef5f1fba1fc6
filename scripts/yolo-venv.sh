#!/usr/bin/env bash
# `npm run yolo-venv`: the Python that test/interop/yolo-export.test.ts runs scripts/yolo-export.py with —
# a virtual environment in .cache/yolo-venv (gitignored; never the system's python) with torch (CPU build),
# onnx and Pillow. About 200 MB of torch: kept out of `npm test` and .ci/run, needed by `npm run interop`.
# Outside this project's machines pip finds the CPU build on PyTorch's own index; here, in the local index.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.cache/yolo-venv
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -m pip install -q --disable-pip-version-check --extra-index-url https://download.pytorch.org/whl/cpu \
  'torch==2.13.0+cpu' 'onnx==1.23.1' numpy pillow
"$venv/bin/python" -c 'import torch, onnx, numpy, PIL; print(f"{torch.__version__=} {onnx.__version__=}")'
