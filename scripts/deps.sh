#!/usr/bin/env bash
# Debian packages Ferrex needs at run time and in tests. Installs only what is missing.
set -euo pipefail
need=()
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || need+=(python3-venv)
# ffprobe analyses media files (MediaAnalyze) at run time; the tests also encode with ffmpeg
command -v ffprobe >/dev/null 2>&1 || need+=(ffmpeg)
if [ "${1:-}" = "--test" ]; then
  # the unit-file test runs systemd-analyze verify
  command -v systemd-analyze >/dev/null 2>&1 || need+=(systemd)
  # tests/test_packaging.py checks the built .deb for errors
  command -v lintian >/dev/null 2>&1 || need+=(lintian)
fi
if [ ${#need[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "installing Debian packages: ${need[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
