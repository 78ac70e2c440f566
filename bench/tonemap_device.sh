#!/bin/bash
# The tone-mapping bench (bench.tonemap) on the GPU machine (the `device` tool's `run`), whose image
# has no GStreamer: a Debian 12 root with GStreamer 1.22's GL elements and python3-gi travels as
# .gpuroot/root.tar.xz (named in `carry`) and the bench runs in it by chroot, with the NVIDIA
# driver's own libraries and device nodes from the host. Mesa is left out of the root (the 64 MiB
# limit), so a GL context there is the GPU's or none. It first asks GStreamer for a GL context in
# each headless way (EGL device, surfaceless, GBM; GLX and EGL on Xvfb) and prints the renderer,
# then times the first that reaches the GPU, ROUNDS times at 4K and 1080p.
#   make the root: bash bench/tonemap_device_root.sh
#   run: VARIANTS="1:0 8:1" bash bench/tonemap_device.sh 3   (threads:split pairs, ROUNDS)
set -u
ROUNDS=${1:-3}
R=/tmp/gpuroot
mkdir -p $R && tar -C $R -xJf .gpuroot/root.tar.xz || exit 1
mkdir -p $R/proc $R/sys $R/dev $R/repo $R/nv $R/tmp
mount -t proc proc $R/proc; mount --rbind /sys $R/sys; mount --rbind /dev $R/dev
mount --bind "$PWD" $R/repo
# the driver's user-space libraries, wherever the image keeps them
for lib in libEGL_nvidia.so.0 libGLX_nvidia.so.0 libGLESv2_nvidia.so.2 libnvidia-eglcore.so \
        libnvidia-glcore.so libnvidia-glsi.so libnvidia-tls.so libnvidia-egl-gbm.so.1 \
        libnvidia-gpucomp.so libnvidia-allocator.so.1 libcuda.so.1 libnvidia-ml.so.1; do
    for p in $(ldconfig -p | awk -v l="$lib" '$1 ~ "^"l {print $NF}') \
            /usr/local/nvidia/lib64/$lib* /usr/local/nvidia/lib/$lib*; do
        [ -e "$p" ] && cp -L "$p" $R/nv/ 2>/dev/null
    done
done
for p in /usr/local/nvidia/lib64/libnvidia-*.so.* /usr/local/nvidia/lib64/lib*nvidia*.so.*; do
    [ -e "$p" ] && cp -L "$p" $R/nv/ 2>/dev/null
done
echo /nv > $R/etc/ld.so.conf.d/00-nvidia.conf; chroot $R ldconfig 2>/dev/null
mkdir -p $R/usr/share/glvnd/egl_vendor.d
echo '{"file_format_version":"1.0.0","ICD":{"library_path":"libEGL_nvidia.so.0"}}' \
    > $R/usr/share/glvnd/egl_vendor.d/10_nvidia.json
for f in $(ls /usr/local/nvidia/lib64 2>/dev/null | grep -E '^libnvidia-.*\.so\.[0-9.]+$' ); do
    ln -sf "$f" "$R/nv/${f%%.so.*}.so.1" 2>/dev/null; done
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader; nproc
in_root() { chroot $R env -i PATH=/usr/bin:/bin HOME=/tmp XDG_RUNTIME_DIR=/tmp PYTHONUNBUFFERED=1 "$@"; }
probe='import gi; gi.require_version("Gst", "1.0"); from gi.repository import Gst; Gst.init(None)
p = Gst.parse_launch("gltestsrc num-buffers=2 ! gldownload ! fakesink")
p.set_state(Gst.State.PLAYING)
m = p.get_bus().timed_pop_filtered(20 * Gst.SECOND, Gst.MessageType.EOS | Gst.MessageType.ERROR)
print("ok" if m and m.type == Gst.MessageType.EOS else "fail: %s" % (m.parse_error()[0].message if m else "timeout"))
p.set_state(Gst.State.NULL)'
WAYS=("GST_GL_PLATFORM=egl GST_GL_WINDOW=egl-device DISPLAY=:none"
      "GST_GL_PLATFORM=egl GST_GL_WINDOW=surfaceless DISPLAY=:none"
      "GST_GL_PLATFORM=egl GST_GL_WINDOW=gbm DISPLAY=:none"
      "GST_GL_PLATFORM=glx GST_GL_WINDOW=x11 __GLX_VENDOR_LIBRARY_NAME=nvidia XVFB=1"
      "GST_GL_PLATFORM=egl GST_GL_WINDOW=x11 XVFB=1")
CHOSEN=""
for way in "${WAYS[@]}"; do
    if [[ $way == *XVFB=1* ]]; then
        out=$(in_root $way GST_DEBUG=glcontext:4,gldisplay:4 bash -c 'Xvfb :7 -nolisten tcp -screen 0 64x64x24 2>/dev/null & sleep 2; DISPLAY=:7 timeout 60 python3 -c "$0" 2>&1; kill %1' "$probe")
    else
        out=$(in_root $way GST_DEBUG=glcontext:4,gldisplay:4 timeout 60 python3 -c "$probe" 2>&1)
    fi
    renderer=$(echo "$out" | grep -oE "GL_RENDERER: [^,]*|renderer: [^,]*" | head -1)
    verdict=$(echo "$out" | grep -E "^(ok|fail: .*)$" | tail -1)
    echo "[$way] $verdict $renderer"
    [ "$verdict" = ok ] || echo "$out" | grep -iE "error|could not" | head -2
    if [ -z "$CHOSEN" ] && [ "$verdict" = ok ]; then CHOSEN=$way; fi
done
[ -n "$CHOSEN" ] || { echo "no GL context in any way"; exit 1; }
echo "chosen: $CHOSEN"
for round in $(seq "$ROUNDS"); do
  for variant in ${VARIANTS:-1:0 4:1 8:1}; do   # threads:split (see ToneMapFilter)
    threads=${variant%:*}; split=${variant#*:}
    for size in 3840x2160 1920x1080; do
        w=${size%x*}; h=${size#*x}
        code="from bench.tonemap import run, Params
r = run(Params($w, $h, 120, 20, threads=$threads, split=bool($split)))
print('$size threads $threads split $split round $round: ' + '; '.join('%s %.2f %s' % (f.name, f.value, f.unit) for f in r.figures))"
        if [[ $CHOSEN == *XVFB=1* ]]; then
            in_root $CHOSEN bash -c 'cd /repo; Xvfb :7 -nolisten tcp -screen 0 64x64x24 2>/dev/null & sleep 2; DISPLAY=:7 python3 -c "$0" 2>&1 | tail -1; kill %1' "$code"
        else
            in_root $CHOSEN bash -c 'cd /repo; python3 -c "$0" 2>&1 | tail -1' "$code"
        fi
    done
  done
done
