#!/usr/bin/env bash
# A minimal Debian root (12 "bookworm" or 13 "trixie") to install the package into
# (tests/test_package_install.py) and to build its venv with that suite's own interpreter
# (packaging/build-deb.sh --suite), made once and kept as a tarball; prints the tarball's path.
#
#   bash packaging/test-root.sh [--suite bookworm|trixie] [--arch amd64|arm64] [--cache DIR]
#
# What it holds: debootstrap --variant=minbase <suite>, plus systemd (so that the root can be
# booted with systemd-nspawn before the package is installed), apt's lists, and the .debs of the
# package's Depends in /var/cache/apt/archives, downloaded but NOT installed: `apt-get install
# ./ferrex-appliance_*.deb` in the root then has to resolve the Depends itself (a missing one shows)
# and needs no network. /usr/sbin/policy-rc.d (exit 101) keeps the postinsts of postgresql and
# redis-server from starting daemons while the root is a plain chroot, as in any build chroot.
#
# The tarball's name carries a hash of everything that shapes it (suite, arch, mirror, the Depends
# line of packaging/debian/control.in, this script), so a change of any of them makes a new one.
# The mirror is the one this machine's apt uses (/etc/apt/sources.list*), deb.debian.org otherwise.
# Measured on the 2-core dev machine: about 35 s to make (debootstrap ~30 s), 0.4 GB.
#
# --arch arm64 on an amd64 machine needs qemu-user-static (binfmt_misc with the F flag, as
# Debian's package registers it): debootstrap then runs the second stage under emulation.
set -euo pipefail
SELF=$(realpath "$0")
cd "$(dirname "$SELF")/.."
# the chroot's /proc and /dev mounts stay in a private mount namespace
if [ -z "${FERREX_TEST_ROOT_NS:-}" ]; then
  FERREX_TEST_ROOT_NS=1 exec unshare --mount --propagation private bash "$SELF" "$@"
fi

ARCH=$(dpkg --print-architecture)
CACHE=${FERREX_TEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ferrex}
SUITE=bookworm
while [ $# -gt 0 ]; do
  case "$1" in
    --suite) SUITE=$2; shift 2 ;;
    --arch) ARCH=$2; shift 2 ;;
    --cache) CACHE=$2; shift 2 ;;
    *) echo "usage: $0 [--suite bookworm|trixie] [--arch amd64|arm64] [--cache DIR]" >&2
       exit 2 ;;
  esac
done
# each suite's one python3.X (what the package's Depends name; build-deb.sh checks it against
# the interpreter it finds in the root)
case "$SUITE" in
  bookworm) PYVER=3.11 ;;
  trixie) PYVER=3.13 ;;
  *) echo "unsupported suite $SUITE (bookworm, trixie)" >&2; exit 2 ;;
esac

mirror() {
  # the first Debian (not -security) archive that apt here uses for the suite
  local url
  url=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null | awk -v suite="$SUITE" '
      /^URIs:/ { uri = $2 } /^Suites:/ { for (i = 2; i <= NF; i++) if ($i == suite) print uri }
    ' | grep -v -- '-security' | head -1 || true)
  if [ -z "$url" ]; then
    url=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null \
      | awk -v suite="$SUITE" '$1 == "deb" && $0 ~ " " suite " " { for (i = 2; i <= NF; i++)
          if ($i ~ "^https?://") { print $i; exit } }' | grep -v -- '-security' | head -1 || true)
  fi
  echo "${url:-http://deb.debian.org/debian}"
}
MIRROR=$(mirror)

DEPENDS=$(sed -n 's/^Depends: //p' packaging/debian/control.in | sed "s/@PYVER@/$PYVER/g")
# build-deb.sh --suite makes the venv in this root with its python$PYVER (and nothing else)
# package names only: "python3 (>= 3.11)" -> python3
PACKAGES=$(echo "$DEPENDS" | tr ',' '\n' | sed 's/(.*)//; s/|.*//; s/ //g' | sort -u | tr '\n' ' ')
KEY=$(printf '%s\n' "$SUITE" "$ARCH" "$MIRROR" "$DEPENDS" | cat - "$SELF" | sha256sum | cut -c1-12)
TARBALL=$CACHE/$SUITE-$ARCH-$KEY.tar

mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"
flock 9   # one build at a time; a second caller waits and then finds the tarball
if [ -f "$TARBALL" ]; then
  echo "$TARBALL"
  exit 0
fi

WORK=$(mktemp -d "$CACHE/.root.XXXXXX")
ROOT=$WORK/root
cleanup() {
  for m in "$ROOT/proc" "$ROOT/dev"; do umount -l "$m" 2>/dev/null || true; done
  rm -rf --one-file-system "$WORK"
}
trap cleanup EXIT

echo "== debootstrap $SUITE $ARCH from $MIRROR" >&2
debootstrap --variant=minbase --arch "$ARCH" --include=systemd "$SUITE" "$ROOT" "$MIRROR" \
  > "$WORK/debootstrap.log" 2>&1 || { tail -20 "$WORK/debootstrap.log" >&2; exit 1; }
printf '#!/bin/sh\n# no daemons start while this is a chroot (see packaging/test-root.sh)\nexit 101\n' \
  > "$ROOT/usr/sbin/policy-rc.d"
chmod 0755 "$ROOT/usr/sbin/policy-rc.d"
echo "deb $MIRROR $SUITE main" > "$ROOT/etc/apt/sources.list"
cp /etc/resolv.conf "$ROOT/etc/resolv.conf" 2>/dev/null || true

echo "== download (not install) the Depends: $PACKAGES" >&2
mount -t proc proc "$ROOT/proc"
mount --rbind /dev "$ROOT/dev"
chroot "$ROOT" apt-get update -qq
# shellcheck disable=SC2086  # a word list on purpose
chroot "$ROOT" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --download-only \
  --no-install-recommends $PACKAGES >/dev/null
umount -l "$ROOT/proc" "$ROOT/dev"
rm -f "$ROOT/etc/resolv.conf"

tar -C "$ROOT" --numeric-owner -cf "$TARBALL.partial" .
mv "$TARBALL.partial" "$TARBALL"
# older tarballs of this suite and arch are stale now
find "$CACHE" -maxdepth 1 -name "$SUITE-$ARCH-*.tar" ! -name "$(basename "$TARBALL")" -delete
echo "$TARBALL"
