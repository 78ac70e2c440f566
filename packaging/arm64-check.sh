#!/usr/bin/env bash
# The arm64 package, built here and run under emulation: install it with apt into a Debian arm64
# root of the suite it is built for and run the installed copy (version, its compiled wheels,
# serve -> /health -> SIGTERM).
#
#   sudo bash packaging/arm64-check.sh [--suite bookworm|trixie] [--keep DIR]
#        (--suite: default bookworm; trixie is Raspberry Pi OS's base today. --keep: leave the
#         root there, reuse it; one DIR per suite)
#
# Not in CI: emulated, it takes far longer than CI allows (figures in docs/packaging.md, "arm64"). Needs root,
# debootstrap and qemu-user-static (apt-get install debootstrap qemu-user-static).
#
# How arm64 binaries run on an amd64 machine without touching it: qemu-aarch64-static is
# registered with binfmt_misc inside a new user namespace (Linux >= 6.7 gives each user namespace
# its own binfmt_misc, so the machine's own table stays empty), whose uids 0-65535 are this
# machine's (written from outside, no newuidmap), with its own mount and PID namespaces. The F
# flag opens the interpreter at registration, so it works inside the chroot too. debootstrap's
# first stage (download, unpack) runs outside; its second stage (dpkg --configure of the base
# system), apt and the appliance run inside, emulated.
set -euo pipefail
SELF=$(realpath "$0")
cd "$(dirname "$SELF")/.."
REPO=$PWD
KEEP=""
SUITE=bookworm
while [ $# -gt 0 ]; do
  case "$1" in
    --suite) SUITE=$2; shift 2 ;;
    --keep) KEEP=$2; shift 2 ;;
    --inside) shift; break ;;
    *) echo "usage: $0 [--suite bookworm|trixie] [--keep DIR]" >&2; exit 2 ;;
  esac
done
case "$SUITE" in
  bookworm|trixie) ;;
  *) echo "unsupported suite $SUITE (bookworm, trixie)" >&2; exit 2 ;;
esac

stamp() { echo "== $(date +%T) $*" >&2; }

if [ "${1:-}" = "stage2" ]; then
  # ---- inside the user namespace: uid 0 here is root outside, binfmt_misc is ours ----
  ROOT=$2 DEB=$3
  mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
  magic='\x7f\x45\x4c\x46\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xb7\x00'
  mask='\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff'
  echo ":qemu-aarch64:M::$magic:$mask:/usr/bin/qemu-aarch64-static:F" \
    > /proc/sys/fs/binfmt_misc/register
  mount -t proc proc "$ROOT/proc"
  mount --rbind /dev "$ROOT/dev"
  in_root() { chroot "$ROOT" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
                DEBIAN_FRONTEND=noninteractive "$@"; }
  in_root uname -m
  t0=$(date +%s)
  if [ -d "$ROOT/debootstrap" ]; then  # (gone once the second stage has completed)
    stamp "debootstrap second stage (emulated)"
    # container=lxc: debootstrap then binds /dev instead of testing mknod, which a user
    # namespace may not do
    in_root env container=lxc /debootstrap/debootstrap --second-stage >/dev/null
  fi
  t1=$(date +%s)
  printf '#!/bin/sh\nexit 101\n' > "$ROOT/usr/sbin/policy-rc.d"
  chmod 0755 "$ROOT/usr/sbin/policy-rc.d"
  if ! cmp -s "$DEB" "$ROOT/srv/ferrex-appliance.deb"; then
    cp "$DEB" "$ROOT/srv/ferrex-appliance.deb"
    stamp "apt-get install ./ferrex-appliance_*_arm64.deb with its Depends (emulated)"
    in_root apt-get update -qq
    in_root apt-get install -y -qq --no-install-recommends \
      -o Dpkg::Options::=--force-unsafe-io /srv/ferrex-appliance.deb >/dev/null
  fi
  # Emulation only: Redis 7 and 8 on arm64 first test the kernel for the ARM64 copy-on-write bug
  # (fork + MADV_FREE); under qemu-user that test cannot run ("Failed to test the kernel for a
  # bug"), and Redis exits. A real Pi's kernel passes it. The embedded Redis never saves to disk,
  # which is what the bug would corrupt, so here the warning is ignored through a diversion.
  if [ ! -e "$ROOT/usr/bin/redis-server.real" ]; then
    in_root dpkg-divert --quiet --local --rename --divert /usr/bin/redis-server.real \
      --add /usr/bin/redis-server
    printf '#!/bin/sh\nexec /usr/bin/redis-server.real "$@" --ignore-warnings ARM64-COW-BUG\n' \
      > "$ROOT/usr/bin/redis-server"
    chmod 0755 "$ROOT/usr/bin/redis-server"
  fi
  t2=$(date +%s)
  stamp "the installed copy"
  in_root ferrex-appliance version
  in_root /opt/ferrex/venv/bin/python -c '
import platform, asyncpg, msgspec, argon2, PIL.Image, greenlet, markupsafe, av, zeroconf
from asyncpg.protocol import protocol
print("machine", platform.machine(), "- compiled wheels import:", protocol.__file__.rsplit("/", 1)[-1])'
  in_root sh -c 'FERREX_SERVER_LISTEN=127.0.0.1:0 FERREX_SCAN_ANALYZE=false \
      /opt/ferrex/venv/bin/ferrex-appliance serve --config /etc/ferrex/ferrex.toml \
      > /var/log/ferrex-serve.log 2>&1 & echo $! > /run/ferrex-serve.pid'
  pid=$(cat "$ROOT/run/ferrex-serve.pid")
  url=""
  for _ in $(seq 1200); do
    url=$(grep -o '"listen": \["[^"]*' "$ROOT/var/log/ferrex-serve.log" 2>/dev/null \
          | sed 's/.*\["//' | head -1 || true)
    [ -n "$url" ] && break
    kill -0 "$pid" 2>/dev/null || { cat "$ROOT/var/log/ferrex-serve.log" >&2; exit 1; }
    sleep 0.5
  done
  [ -n "$url" ] || { echo "not ready in 10 min" >&2; tail "$ROOT/var/log/ferrex-serve.log" >&2; exit 1; }
  t3=$(date +%s)
  in_root python3 -c "import json, urllib.request
h = json.load(urllib.request.urlopen('$url/health', timeout=30))
print('health', h['status'], h['version'], 'postgres ok', h['postgres']['ok'], 'redis ok', h['redis']['ok'])
assert h['status'] == 'ok'"
  kill -TERM "$pid"
  while kill -0 "$pid" 2>/dev/null; do sleep 0.2; done
  grep -q '"msg": "stopped"' "$ROOT/var/log/ferrex-serve.log" || {
    echo "no clean stop" >&2; tail "$ROOT/var/log/ferrex-serve.log" >&2; exit 1; }
  echo "stopped cleanly after SIGTERM"
  echo "seconds: second stage $((t1 - t0)), apt install $((t2 - t1)), serve to ready $((t3 - t2))"
  exit 0
fi

[ "$(id -u)" -eq 0 ] || { echo "needs root" >&2; exit 2; }
for tool in debootstrap qemu-aarch64-static; do
  command -v "$tool" >/dev/null \
    || { echo "$tool missing: apt-get install debootstrap qemu-user-static" >&2; exit 2; }
done
WORK=${KEEP:-$(mktemp -d /var/tmp/ferrex-arm64.XXXXXX)}
mkdir -p "$WORK"
ROOT=$WORK/root
[ -n "$KEEP" ] || trap 'rm -rf --one-file-system "$WORK"' EXIT
START=$(date +%s)

stamp "build the arm64 package for $SUITE"
# (for trixie on a bookworm machine the venv is made by trixie's python3.13: build-deb.sh --suite)
DEB=$(bash packaging/build-deb.sh --suite "$SUITE" --arch arm64 --out "$WORK" 2>/dev/null | tail -1)
dpkg-deb -f "$DEB" Architecture Depends
MIRROR=$(SUITE=$SUITE bash -c 'source <(sed -n "/^mirror() {/,/^}/p" packaging/test-root.sh); mirror')
if [ ! -d "$ROOT" ]; then  # --keep DIR: a second run reuses the root
  stamp "debootstrap --foreign arm64 $SUITE from $MIRROR"
  debootstrap --foreign --variant=minbase --arch arm64 "$SUITE" "$ROOT" "$MIRROR" >/dev/null
  echo "deb $MIRROR $SUITE main" > "$ROOT/etc/apt/sources.list"
  cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
fi

# a user namespace with this machine's uids 0-65535, its own mounts and PIDs; its map is
# written from here once unshare has made it, then the inner part goes on
FIFO=$WORK/go
rm -f "$FIFO"; mkfifo "$FIFO"
unshare --user --mount --propagation private --pid --fork --kill-child \
  sh -c 'read _ < "$0"; exec "$@"' "$FIFO" bash "$SELF" --inside stage2 "$ROOT" "$DEB" &
INNER=$!
while [ "$(readlink /proc/$INNER/ns/user)" = "$(readlink /proc/self/ns/user)" ]; do sleep 0.05; done
echo "0 0 65536" > /proc/$INNER/uid_map
echo "0 0 65536" > /proc/$INNER/gid_map
echo go > "$FIFO"
wait "$INNER"
echo "arm64 check passed in $(( $(date +%s) - START )) s"
