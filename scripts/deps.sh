#!/usr/bin/env bash
# Debian packages Ferrex needs at run time and in tests. Installs only what is missing.
set -euo pipefail
need=()
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || need+=(python3-venv)
if [ "${1:-}" = "--test" ] || [ "${1:-}" = "--player" ]; then
  # the player: PyGObject builds against GObject introspection and cairo; Qt's xcb platform
  # plugin needs these X libraries (its wayland plugin libwayland-*; waylandsink embedding
  # needs libgstwayland-1.0); GStreamer plays, GL/EGL (Mesa) draws the poster grid
  for pkg in libgirepository1.0-dev libcairo2-dev pkg-config libxkbcommon-x11-0 libxcb-cursor0 \
      libxcb-icccm4 libxcb-keysyms1 libxcb-shape0 libxcb-image0 libxcb-render-util0 \
      libxcb-xinerama0 libegl1 libgl1 libgl1-mesa-dri libdbus-1-3 libfontconfig1 \
      libwayland-client0 libwayland-cursor0 libwayland-egl1 libxkbcommon0 \
      libgstreamer-plugins-bad1.0-0 \
      gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad \
      gstreamer1.0-libav gstreamer1.0-gl gstreamer1.0-x gir1.2-gstreamer-1.0 \
      gir1.2-gst-plugins-base-1.0 gir1.2-gst-plugins-bad-1.0; do
    dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
  done
fi
# ffprobe analyses media files (MediaAnalyze) at run time; the tests also encode with ffmpeg
command -v ffprobe >/dev/null 2>&1 || need+=(ffmpeg)
if [ "${1:-}" = "--test" ]; then
  # the unit-file test runs systemd-analyze verify
  command -v systemd-analyze >/dev/null 2>&1 || need+=(systemd)
  # tests/test_media_e2e.py plays a stream with GStreamer (playbin, souphttpsrc, avdec_h264)
  # driven from the system Python through PyGObject (python3-gi), so it can seek
  command -v gst-launch-1.0 >/dev/null 2>&1 || need+=(gstreamer1.0-tools)
  command -v gst-play-1.0 >/dev/null 2>&1 || need+=(gstreamer1.0-plugins-base-apps)
  dpkg -s gstreamer1.0-plugins-good >/dev/null 2>&1 || need+=(gstreamer1.0-plugins-good)
  dpkg -s gstreamer1.0-libav >/dev/null 2>&1 || need+=(gstreamer1.0-libav)
  dpkg -s gir1.2-gst-plugins-base-1.0 >/dev/null 2>&1 || need+=(gir1.2-gst-plugins-base-1.0)
  /usr/bin/python3 -c 'import gi' >/dev/null 2>&1 || need+=(python3-gi)
  # tests/test_packaging.py checks the built .deb for errors
  command -v lintian >/dev/null 2>&1 || need+=(lintian)
  # tests/test_package_install.py installs it into a debootstrap root and boots that with nspawn
  command -v debootstrap >/dev/null 2>&1 || need+=(debootstrap)
  command -v systemd-nspawn >/dev/null 2>&1 || need+=(systemd-container)
  # tests/test_discovery.py builds a LAN of its own from network namespaces (ip netns, veth)
  command -v ip >/dev/null 2>&1 || need+=(iproute2)
  # the player tests run Qt and GL on a virtual X screen; playback tests try a headless weston
  command -v Xvfb >/dev/null 2>&1 || need+=(xvfb xauth)
  command -v weston >/dev/null 2>&1 || need+=(weston)
fi
if [ ${#need[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "installing Debian packages: ${need[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
