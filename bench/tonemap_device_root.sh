#!/bin/bash
# Makes .gpuroot/root.tar.xz for bench/tonemap_device.sh (run as root here, ~3 min): Debian 12 with
# GStreamer 1.22's GL elements and python3-gi, which the GPU machine's image lacks. Mesa's
# drivers (LLVM), ICU data, gconv and docs are left out to stay under the device tool's 64 MiB:
# on the GPU machine the NVIDIA driver's own libraries are the GL implementation.
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=$(mktemp -d /tmp/fx-gpuroot.XXXX)
trap 'rm -rf "$WORK"' EXIT
MIRROR=${FERREX_MIRROR:-http://deb.debian.org/debian}
debootstrap --variant=minbase \
    --include=python3-gi,gir1.2-gstreamer-1.0,gir1.2-gst-plugins-base-1.0,gstreamer1.0-gl,gstreamer1.0-plugins-base,libegl1,libgles2,libgl1,libopengl0,xvfb,xauth \
    bookworm "$WORK/root" "$MIRROR" > "$WORK/debootstrap.log"
rm -rf "$WORK"/root/var/cache/apt/archives/*.deb "$WORK"/root/var/lib/apt/lists/* \
    "$WORK"/root/usr/share/{doc,man,locale,info}
mkdir -p .gpuroot
L=./usr/lib/x86_64-linux-gnu
tar -C "$WORK/root" --exclude=./proc --exclude=./sys --exclude=./dev \
    --exclude=$L/libLLVM-15.so.1 --exclude=$L/dri --exclude=$L/libz3.so.4 \
    --exclude=$L/libicudata.so.72.1 --exclude=$L/gconv --exclude=./usr/lib/python3.11/test \
    -cf - . | xz -8 -T2 > .gpuroot/root.tar.xz
grep -qx '/.gpuroot/' .git/info/exclude 2>/dev/null || echo /.gpuroot/ >> .git/info/exclude
ls -l .gpuroot/root.tar.xz
