#!/usr/bin/env bash
# HDR passthrough shown end to end in a Debian sid root (issue 18, item 3): GStreamer 1.28's
# waylandsink on a headless weston 16 with colour management on and its output in PQ/BT.2020.
# Run as root (debootstrap, chroot, mounts):
#
#   bash scripts/hdr-passthrough-sid.sh [--cache DIR] [--out DIR] [--keep-root]
#
# 1. A sid root (debootstrap minbase + weston, GStreamer 1.28 with plugins-bad's waylandsink,
#    python3-gi, Mesa for weston's GL renderer, wayland-utils), made once and cached as a
#    tarball next to the packaging tests' roots (packaging/test-root.sh: the same cache dir,
#    the same mirror rule). Its name hashes the package list and the mirror, so a change of
#    either makes a new one; `rm` it to take newer sid packages.
# 2. The root is unpacked into a tmpfs in a private mount namespace (gone when this exits), the
#    repository bind-mounted read-only at /ferrex.
# 3. A 2 s HEVC Main 10 HDR10 clip with mastering display (1000 nits / 0.005 nits) and
#    MaxCLL/MaxFALL 1000/400 in its SEI, made with this machine's ffmpeg (libx265).
# 4. weston --backend=headless --renderer=gl with `color-management=true` and the headless
#    output set to `eotf-mode=st2084`, `colorimetry-mode=bt2020rgb` (an HDR display).
# 5. In the root, the player's own code: `python3 -m ui.playback.hdr_check --play CLIP` probes
#    the facts (GStreamer version, the compositor's wp_color_manager_v1 and the output's image
#    description), decides the route (ui.playback.hdr_route) and plays the clip through the
#    player's Engine (playbin, no tone-mapping filter: passthrough) into waylandsink, with
#    WAYLAND_DEBUG=1; it prints the caps negotiated at the sink.
# 6. From the protocol trace: the image description waylandsink creates for the video surface
#    (set_tf_named = st2084_pq, set_primaries_named = bt2020, set_mastering_luminance with the
#    file's 0.005/1000 nits, set_max_cll/set_max_fall) and the set_image_description on the
#    surface. Everything goes to --out (default ./hdr-passthrough-out): trace.log, excerpt.txt,
#    check.log, weston.log, versions.txt.
set -euo pipefail
SELF=$(realpath "$0")
REPO=$(cd "$(dirname "$SELF")/.." && pwd)
if [ -z "${FERREX_SID_NS:-}" ]; then
  FERREX_SID_NS=1 exec unshare --mount --propagation private bash "$SELF" "$@"
fi

CACHE=${FERREX_TEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ferrex}
OUT=$PWD/hdr-passthrough-out
KEEP=0
while [ $# -gt 0 ]; do
  case "$1" in
    --cache) CACHE=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --keep-root) KEEP=1; shift ;;
    *) echo "usage: $0 [--cache DIR] [--out DIR] [--keep-root]" >&2; exit 2 ;;
  esac
done
[ "$(id -u)" = 0 ] || { echo "run as root (debootstrap, chroot, mounts)" >&2; exit 2; }
ARCH=$(dpkg --print-architecture)
MIRROR=${FERREX_SID_MIRROR:-http://deb.debian.org/debian}
PACKAGES="weston wayland-utils gstreamer1.0-tools gstreamer1.0-plugins-base
  gstreamer1.0-plugins-good gstreamer1.0-plugins-bad gstreamer1.0-libav libgstreamer-plugins-bad1.0-0
  python3 python3-gi gir1.2-gstreamer-1.0 gir1.2-gst-plugins-base-1.0
  libegl1 libegl-mesa0 libgl1-mesa-dri libgles2 mesa-libgallium"
KEY=$(printf '%s\n' sid "$ARCH" "$MIRROR" $PACKAGES | sha256sum | cut -c1-12)
TARBALL=$CACHE/sid-hdr-$ARCH-$KEY.tar

make_root() {
  local work root
  work=$(mktemp -d "$CACHE/.sid.XXXXXX")
  root=$work/root
  # shellcheck disable=SC2064  # expand now: the trap runs after $work is out of scope
  trap "umount -l '$root/proc' '$root/dev' 2>/dev/null || true; rm -rf --one-file-system '$work'" EXIT
  echo "== debootstrap sid $ARCH from $MIRROR (once; cached as $TARBALL)" >&2
  debootstrap --variant=minbase --arch "$ARCH" sid "$root" "$MIRROR" > "$work/debootstrap.log" 2>&1 \
    || { tail -20 "$work/debootstrap.log" >&2; exit 1; }
  printf '#!/bin/sh\nexit 101\n' > "$root/usr/sbin/policy-rc.d"
  chmod 0755 "$root/usr/sbin/policy-rc.d"
  echo "deb $MIRROR sid main" > "$root/etc/apt/sources.list"
  # a mirror that serves a frozen snapshot (this build machine's does) has an InRelease past
  # its Valid-Until; the packages are still the signed ones
  echo 'Acquire::Check-Valid-Until "false";' > "$root/etc/apt/apt.conf.d/99snapshot"
  cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
  mount -t proc proc "$root/proc"
  mount --rbind /dev "$root/dev"
  echo "== apt-get install $(echo $PACKAGES)" >&2
  chroot "$root" apt-get update -qq
  # shellcheck disable=SC2086  # a word list on purpose
  chroot "$root" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
    --no-install-recommends $PACKAGES > "$work/apt.log" 2>&1 \
    || { tail -30 "$work/apt.log" >&2; exit 1; }
  chroot "$root" apt-get clean
  umount -l "$root/proc" "$root/dev"
  rm -f "$root/etc/resolv.conf"
  tar -C "$root" --numeric-owner -cf "$TARBALL.partial" .
  mv "$TARBALL.partial" "$TARBALL"
  find "$CACHE" -maxdepth 1 -name "sid-hdr-$ARCH-*.tar" ! -name "$(basename "$TARBALL")" -delete
  rm -rf --one-file-system "$work"
  trap - EXIT
}

mkdir -p "$CACHE" "$OUT"
exec 9>"$CACHE/.sid-hdr.lock"
flock 9
[ -f "$TARBALL" ] || make_root
flock -u 9

# --- the run: a tmpfs root in this private mount namespace -----------------------------------
RUN=$(mktemp -d /tmp/ferrex-sid.XXXXXX)
ROOT=$RUN/root
mkdir -p "$ROOT"
WESTON_PID=
cleanup() {
  if [ -n "$WESTON_PID" ]; then
    kill "$WESTON_PID" 2>/dev/null || true
    wait "$WESTON_PID" 2>/dev/null || true
  fi
  if [ "$KEEP" = 1 ]; then echo "root kept (this namespace only): $ROOT" >&2; return; fi
  umount -R "$ROOT" 2>/dev/null || umount -lR "$ROOT" 2>/dev/null || true
  rm -rf --one-file-system "$RUN"
}
trap cleanup EXIT
mount -t tmpfs -o size=4g,mode=0755 ferrex-sid-root "$ROOT"
tar -C "$ROOT" -xf "$TARBALL"
mount -t proc proc "$ROOT/proc"
mount --rbind /dev "$ROOT/dev"
mkdir -p "$ROOT/ferrex" "$ROOT/run/xdg"
mount --bind "$REPO" "$ROOT/ferrex"
mount -o remount,bind,ro "$ROOT/ferrex"
chmod 0700 "$ROOT/run/xdg"

ROOT_ENV=(env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8
  XDG_RUNTIME_DIR=/run/xdg WAYLAND_DISPLAY=wayland-hdr PYTHONPATH=/ferrex
  PYTHONDONTWRITEBYTECODE=1 LIBGL_ALWAYS_SOFTWARE=1)
in_root() { chroot "$ROOT" "${ROOT_ENV[@]}" "$@"; }

{
  echo "root: $(basename "$TARBALL") (made $(date -u -r "$TARBALL" +%Y-%m-%dT%H:%MZ))"
  in_root dpkg-query -W -f '${Package} ${Version}\n' weston gstreamer1.0-plugins-bad \
    libgstreamer1.0-0 python3-gi libwayland-client0 libegl-mesa0
} | tee "$OUT/versions.txt"

# The clip: PQ, BT.2020, mastering display P3-D65 primaries at 1000/0.005 nits, MaxCLL 1000.
CLIP=$ROOT/tmp/hdr10.mkv
ffmpeg -v error -y -f lavfi -i "testsrc2=size=640x360:rate=24,format=yuv420p10le" -t 2 \
  -c:v libx265 -preset ultrafast -pix_fmt yuv420p10le \
  -x265-params "log-level=error:hdr10=1:repeat-headers=1:colorprim=bt2020:transfer=smpte2084:colormatrix=bt2020nc:master-display=G(13250,34500)B(7500,3000)R(34000,16000)WP(15635,16450)L(10000000,50):max-cll=1000,400" \
  -color_primaries bt2020 -color_trc smpte2084 -colorspace bt2020nc "$CLIP"

cat > "$ROOT/tmp/weston.ini" <<'INI'
[core]
color-management=true
idle-time=0

[shell]
locking=false
panel-position=none

[output]
name=headless
eotf-mode=st2084
colorimetry-mode=bt2020rgb
INI
# chroot execs env execs weston: $! is weston itself (a backgrounded shell function would be a
# subshell, and killing that would leave weston and its clients holding our stdout)
chroot "$ROOT" "${ROOT_ENV[@]}" weston --backend=headless --renderer=gl \
  --config=/tmp/weston.ini --socket=wayland-hdr --width=1280 --height=720 \
  --log=/tmp/weston.log < /dev/null > "$RUN/weston.out" 2>&1 &
WESTON_PID=$!
for _ in $(seq 100); do [ -S "$ROOT/run/xdg/wayland-hdr" ] && break; sleep 0.1; done
[ -S "$ROOT/run/xdg/wayland-hdr" ] || { cat "$ROOT/tmp/weston.log" >&2; exit 1; }
sleep 0.5

echo "== wayland-info: the compositor's colour management" >&2
in_root wayland-info -i wp_color_manager_v1 > "$OUT/wayland-info.txt" 2>&1 || true

echo "== the player's route and the clip through it, WAYLAND_DEBUG=1" >&2
set +e
in_root env WAYLAND_DEBUG=1 python3 -m ui.playback.hdr_check --play /tmp/hdr10.mkv \
  --seconds 1.5 > "$OUT/check.log" 2> "$OUT/trace.log"
status=$?
set -e
cp "$ROOT/tmp/weston.log" "$OUT/weston.log"
cat "$OUT/check.log"
[ $status = 0 ] || { tail -30 "$OUT/trace.log" >&2; exit $status; }

# The image description waylandsink made for its video surface, the surface taking it, and
# the first frame's buffer: GStreamer's own queues (the player's probe runs on the default one
# and is summed up in check.log), timestamps cut, codes named.
grep -E '\{GStreamer (display|color manager) queue\} +-> (wp_color_manager_v1#[0-9]+\.(get_surface|create_parametric_creator)|wp_image_description_creator_params_v1#|wp_color_management_surface_v1#|wp_color_representation_surface_v1#|wl_shm_pool#[0-9]+\.create_buffer)|\{GStreamer color manager queue\} wp_image_description_v1#[0-9]+\.(ready|failed)' \
  "$OUT/trace.log" | sed -E 's/^\[[^]]*\] *//' | grep -v '\.destroy()' \
  | awk '/create_buffer/ { if (buffers++) next } { print }' | sed -E \
    -e 's/(set_tf_named\(11\))/\1  # st2084_pq/' \
    -e 's/(set_primaries_named\(6\))/\1  # bt2020/' \
    -e 's/(set_mastering_luminance\(([0-9]+), ([0-9]+)\))/\1  # min \2\/10000 nits, max \3 nits/' \
    -e 's/(set_mastering_display_primaries\(.*\))/\1  # R, G, B, white x,y * 1M/' \
    -e 's/(set_coefficients_and_range\(6, 2\))/\1  # BT.2020 YCbCr, limited range/' \
    -e 's/(create_buffer\(.*, 909193296\))/\1  # P016 (10-bit data in 16-bit words)/' \
  > "$OUT/excerpt.txt" || true
echo "== the image description in the trace ($OUT/excerpt.txt)"
cat "$OUT/excerpt.txt"
grep -q 'set_image_description' "$OUT/excerpt.txt" \
  || { echo "no set_image_description in the trace: passthrough did not happen" >&2; exit 1; }
