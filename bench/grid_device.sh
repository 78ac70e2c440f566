#!/bin/bash
# The grid bench on the GPU machine (the `device` tool's `run`, headless EGL), this tree against an
# older one when BASE (a folder holding that tree's ui/ bench/ sync/ tests/) is given, interleaved,
# ROUNDS times at 4K and 1080p. Results (JSON per run) go to $OUT/results.tgz.
#
# Carried (ignored folders, named in `carry`): .gl (glvnd loaders, and .gl/fc: libfontconfig with
# its libraries, which vispy loads through ctypes), .whl (vispy 0.17, PyOpenGL 3.1.10, hsluv,
# msgspec wheels for cp312), and BASE. See bench/README.md (grid) for how they were fetched.
#   run: bash bench/grid_device.sh .base 3
set -u
BASE=${1:-}
ROUNDS=${2:-3}
for f in .gl/*.deb; do dpkg -x "$f" /; done; ldconfig
mkdir -p /tmp/fc; for f in .gl/fc/*.deb; do dpkg -x "$f" /tmp/fc; done
# ctypes.util.find_library reads ldconfig's cache, not LD_LIBRARY_PATH
echo /tmp/fc/usr/lib/x86_64-linux-gnu > /etc/ld.so.conf.d/zz-fc.conf; ldconfig
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=/tmp/site PYOPENGL_PLATFORM=egl VISPY_GL_LIB=libOpenGL.so.0 PYTHONUNBUFFERED=1
if [ -f /usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json ] \
        && ! ls /usr/share/glvnd/egl_vendor.d/*nvidia* >/dev/null 2>&1; then
    export __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
fi
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader; python3 --version; nproc
R=/tmp/grid-results; mkdir -p $R
summary() {
    python3 -c 'import json, sys
r = json.load(open(sys.argv[1]))
print(sys.argv[1].rsplit("/", 1)[-1], "p50 %.2f p99 %.2f max %.1f over %.2f%% gc max %.1f ms" % (
    r["p50_ms"], r["p99_ms"], r["max_ms"], 100 * r["over_budget_share"], r["gc_pause_max_ms"]))' "$1"
}
for round in $(seq "$ROUNDS"); do
    for size in 3840x2160 1920x1080; do
        python3 -m bench.grid --gl-backend egl --grid-size $size --json $R/new-$size-$round.json \
            > $R/new-$size-$round.log 2>&1 && summary $R/new-$size-$round.json
        if [ -n "$BASE" ]; then
            (cd "$BASE" && python3 -m bench.grid --gl-backend egl --grid-size $size \
                --json $R/base-$size-$round.json > $R/base-$size-$round.log 2>&1) \
                && summary $R/base-$size-$round.json
        fi
    done
done
tar -czf "$OUT/results.tgz" -C $R .
