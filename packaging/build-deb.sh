#!/usr/bin/env bash
# Build ferrex-appliance_<version>_<arch>.deb with dpkg-deb; no root, no container, no debhelper.
#
#   bash packaging/build-deb.sh [--suite bookworm|trixie] [--arch amd64|arm64] [--out DIR]
#
# --suite: the Debian release the package is for (default: this machine's). Its venv must be made
# by that suite's own python3.X (Debian 12: 3.11, Debian 13: 3.13): a venv holds the
# interpreter's version in its paths and pyvenv.cfg, and compiled wheels are chosen for that
# version's ABI. For this machine's own suite that interpreter is /usr/bin/python3 here; for
# another one the venv is made inside a debootstrap root of that suite (packaging/test-root.sh,
# cached; this machine's architecture, so its python runs natively; root needed for chroot): apt
# installs the suite's python3 there, `python3.X -m venv` makes the venv at its final path, and
# pip, run by that same interpreter, installs the wheels (downloaded here first, then
# --no-index), so environment markers and wheel tags are those of the suite's interpreter.
#
# How the private venv ends up correct at /opt/ferrex/venv although it is built in a staging dir:
#  * the venv is created with the Debian interpreter (/usr/bin/python3.X, the one the package
#    depends on) and --without-pip; its bin/python3 is re-pointed at /usr/bin/python3.X so that a
#    later change of /usr/bin/python3 cannot silently swap the interpreter under it;
#  * the app with its `appliance` extra (the server's libraries; nothing of the player's Qt,
#    vispy or PyGObject) and their dependencies are installed as wheels with `pip install
#    --target` into the venv's site-packages, for the target platform (`--platform
#    manylinux..._aarch64` on an amd64 host works: every dependency ships binary wheels; nothing
#    is compiled here), pinned to the
#    versions of the dev venv that CI tests (`pip freeze` of .venv, when it exists); markers are
#    evaluated for the Debian interpreter (pip --python); platform_machine markers would follow the
#    build host on a cross build (none of the dependencies has one today);
#  * the one launcher, bin/ferrex-appliance, is written by this script with the final shebang
#    (#!/opt/ferrex/venv/bin/python); pyvenv.cfg and the activate scripts get the final path;
#  * no byte-code is shipped (Debian policy, as for dh_python3): postinst compiles the venv, prerm
#    removes the __pycache__ dirs again, so the service (which cannot write /opt) starts fast.
# Nothing under the staging dir names the staging dir afterwards (the script checks).
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD

ARCH=$(dpkg --print-architecture)
OUT=""
HOST_SUITE=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
SUITE=$HOST_SUITE
while [ $# -gt 0 ]; do
  case "$1" in
    --suite) SUITE=$2; shift 2 ;;
    --arch) ARCH=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    *) echo "usage: $0 [--suite bookworm|trixie] [--arch amd64|arm64] [--out DIR]" >&2; exit 2 ;;
  esac
done
case "$SUITE" in
  bookworm|trixie) ;;
  *) echo "unsupported suite ${SUITE:-?} (bookworm, trixie)" >&2; exit 2 ;;
esac
OUT=${OUT:-$REPO/dist/$SUITE}  # one file name per version and arch: a folder per suite
case "$ARCH" in
  amd64) PLATFORM=x86_64 ;;
  arm64) PLATFORM=aarch64 ;;
  *) echo "unsupported arch $ARCH (amd64, arm64)" >&2; exit 2 ;;
esac

PIP=(python3 -m pip)
[ -x .venv/bin/pip ] && PIP=(.venv/bin/python -m pip)
VERSION=$(sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml | head -1)
DEBVERSION=${VERSION}-1
PKG=ferrex-appliance
PREFIX=/opt/ferrex
VENV=$PREFIX/venv

WORK=$(mktemp -d /tmp/ferrex-deb.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
STAGE=$WORK/root
SRC=$WORK/src
mkdir -p "$STAGE" "$SRC" "$WORK/wheels" "$OUT"

echo "== project wheel (from the tracked and untracked-not-ignored files)" >&2
git ls-files -co --exclude-standard -z \
  | while IFS= read -r -d '' f; do [ -f "$f" ] && printf '%s\0' "$f"; done \
  | xargs -0 cp --parents -t "$SRC"
"${PIP[@]}" wheel -q --no-deps -w "$WORK/wheels" "$SRC" 2>&1 | grep -v '^WARNING: Location' >&2 || true
WHEEL=$(ls "$WORK"/wheels/ferrex-*.whl)

CONSTRAINTS=()
if [ -x .venv/bin/pip ]; then
  .venv/bin/pip freeze --exclude-editable | grep -iv '^ferrex' > "$WORK/constraints.txt"
  CONSTRAINTS=(-c "$WORK/constraints.txt")
fi

if [ "$SUITE" = "$HOST_SUITE" ]; then
PY=${FERREX_DEB_PYTHON:-/usr/bin/python3}
PYVER=$("$PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
echo "== venv at $VENV (python $PYVER of $SUITE, this machine's; $ARCH)" >&2
"$PY" -m venv --without-pip "$STAGE$VENV"
SITE=$STAGE$VENV/lib/python$PYVER/site-packages
# --python: pip evaluates environment markers for Debian's interpreter (redis needs async-timeout
# below 3.11.3, and bookworm has 3.11.2), not for whatever python runs this script.
"${PIP[@]}" --python "$PY" install -q --root-user-action=ignore --no-compile --target "$SITE" --only-binary=:all: \
  --platform "manylinux2014_$PLATFORM" --platform "manylinux_2_28_$PLATFORM" \
  --platform "manylinux_2_17_$PLATFORM" --implementation cp --python-version "$PYVER" \
  "${CONSTRAINTS[@]}" "$WHEEL[appliance]" 2>&1 | grep -v '^WARNING: Location' >&2 || true
else
[ "$(id -u)" -eq 0 ] || { echo "--suite $SUITE on $HOST_SUITE: needs root (chroot)" >&2; exit 2; }
echo "== $SUITE root (packaging/test-root.sh)" >&2
TARBALL=$(bash packaging/test-root.sh --suite "$SUITE" | tail -1)
BROOT=$WORK/buildroot
mkdir -p "$BROOT"
tar -C "$BROOT" -xf "$TARBALL"
# the Depends' .debs are in the root's apt cache: python3 of the suite installs offline
in_root() { chroot "$BROOT" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
              DEBIAN_FRONTEND=noninteractive "$@"; }
unshare --mount --propagation private sh -ec '
  mount -t proc proc "$1/proc"; mount --rbind /dev "$1/dev"
  chroot "$1" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends -o Dpkg::Options::=--force-unsafe-io python3
' sh "$BROOT" > "$WORK/apt.log" 2>&1 || { tail -20 "$WORK/apt.log" >&2; exit 1; }
PYVER=$(in_root python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')
echo "== venv at $VENV (python $PYVER of $SUITE, in its root; $ARCH)" >&2
# pip as a wheel run by that interpreter (the dev venv's pip may predate it); wheels for its
# version and the target platform, downloaded here (markers are re-evaluated by the install)
"${PIP[@]}" download -q --no-deps --only-binary=:all: -d "$BROOT/build/pip" "pip>=24.2" 2>&1 \
  | grep -v '^WARNING: Location' >&2 || true
"${PIP[@]}" download -q --only-binary=:all: -d "$BROOT/build/wheels" \
  --platform "manylinux2014_$PLATFORM" --platform "manylinux_2_28_$PLATFORM" \
  --platform "manylinux_2_17_$PLATFORM" --implementation cp --python-version "$PYVER" \
  "${CONSTRAINTS[@]}" "$WHEEL[appliance]" 2>&1 | grep -v '^WARNING: Location' >&2 || true
cp "$WHEEL" "$BROOT/build/wheels/"
[ -f "$WORK/constraints.txt" ] && cp "$WORK/constraints.txt" "$BROOT/build/"
PLATFORM_ARGS=()
if [ "$ARCH" != "$(dpkg --print-architecture)" ]; then
  # a cross build: the tags of the target platform, for this same interpreter version
  PLATFORM_ARGS=(--platform "manylinux2014_$PLATFORM" --platform "manylinux_2_28_$PLATFORM"
                 --platform "manylinux_2_17_$PLATFORM" --implementation cp
                 --python-version "$PYVER")
fi
in_root "python$PYVER" -m venv --without-pip "$VENV"
in_root "python$PYVER" "$(cd "$BROOT" && ls build/pip/pip-*.whl | sed 's|^|/|')/pip" install -q \
  --disable-pip-version-check --root-user-action=ignore --no-compile --no-index \
  --find-links /build/wheels --only-binary=:all: --target "$VENV/lib/python$PYVER/site-packages" \
  "${PLATFORM_ARGS[@]}" ${CONSTRAINTS:+-c /build/constraints.txt} \
  "/build/wheels/$(basename "$WHEEL")[appliance]" >&2
mkdir -p "$STAGE$PREFIX"
cp -a "$BROOT$VENV" "$STAGE$VENV"
rm -f "$STAGE$VENV/.gitignore"  # python >= 3.13 venv writes one; nothing for a package
rm -rf --one-file-system "$BROOT"
SITE=$STAGE$VENV/lib/python$PYVER/site-packages
fi
PYNEXT=$(echo "$PYVER" | awk -F. '{ printf "%d.%d", $1, $2 + 1 }')
[ -d "$SITE/appliance" ] || { echo "pip install into the staged venv failed" >&2; exit 1; }
rm -rf "$SITE/bin" "$STAGE$VENV/bin/Activate.ps1"
# nothing in site-packages is run directly; shared objects are mapped, not executed
find "$SITE" -type f -perm /111 -exec chmod 0644 {} +
ln -sf "/usr/bin/python$PYVER" "$STAGE$VENV/bin/python3"
cat > "$STAGE$VENV/bin/ferrex-appliance" <<LAUNCHER
#!$VENV/bin/python
import sys

from appliance.entry import main

if __name__ == "__main__":
    sys.exit(main())
LAUNCHER
chmod 0755 "$STAGE$VENV/bin/ferrex-appliance"
sed -i "s|$STAGE||g" "$STAGE$VENV/pyvenv.cfg" "$STAGE$VENV"/bin/activate*
# pip's record of where the wheel came from (PEP 610) names the scratch dir; nothing needs it
rm -f "$SITE"/ferrex-*.dist-info/direct_url.json
sed -i '/direct_url.json/d' "$SITE"/ferrex-*.dist-info/RECORD
if grep -rlF "$WORK" "$STAGE" >/dev/null; then
  echo "build path leaked into:" >&2; grep -rlF "$WORK" "$STAGE" >&2; exit 1
fi

echo "== system files" >&2
install -D -m 0644 systemd/ferrex.service "$STAGE/lib/systemd/system/ferrex.service"
install -D -m 0644 packaging/ferrex.sysusers "$STAGE/usr/lib/sysusers.d/ferrex.conf"
install -D -m 0644 packaging/ferrex.tmpfiles "$STAGE/usr/lib/tmpfiles.d/ferrex.conf"
install -D -m 0640 packaging/ferrex.toml "$STAGE/etc/ferrex/ferrex.toml"  # postinst: root:ferrex
install -D -m 0644 README.md "$STAGE$PREFIX/README.md"
# the README's links into docs/ (operations, configuration, API, ...) resolve next to it
for doc in docs/*.md; do install -D -m 0644 "$doc" "$STAGE$PREFIX/$doc"; done
# `sudo ferrex-appliance status|backup|restore` on the host: the service's config by default
install -D -m 0755 packaging/ferrex-appliance.sh "$STAGE/usr/bin/ferrex-appliance"
DOC=$STAGE/usr/share/doc/$PKG
install -D -m 0644 packaging/copyright "$DOC/copyright"
install -d "$DOC"
gzip -9n < packaging/changelog > "$DOC/changelog.Debian.gz"
install -D -m 0644 packaging/lintian-overrides "$STAGE/usr/share/lintian/overrides/$PKG"

mkdir -p "$STAGE/DEBIAN"
for script in postinst prerm postrm; do
  sed "s/@PYVER@/$PYVER/g" "packaging/debian/$script" > "$STAGE/DEBIAN/$script"
  chmod 0755 "$STAGE/DEBIAN/$script"
done
install -m 0644 packaging/debian/conffiles "$STAGE/DEBIAN/conffiles"
SIZE=$(du -sk --exclude=DEBIAN "$STAGE" | cut -f1)
sed -e "s/@VERSION@/$DEBVERSION/" -e "s/@ARCH@/$ARCH/" -e "s/@SIZE@/$SIZE/" \
    -e "s/@PYVER@/$PYVER/g" -e "s/@PYNEXT@/$PYNEXT/g" \
    packaging/debian/control.in > "$STAGE/DEBIAN/control"
(cd "$STAGE" && find . -type f ! -path './DEBIAN/*' -printf '%P\0' | sort -z \
   | xargs -0 md5sum) > "$STAGE/DEBIAN/md5sums"
chmod 0644 "$STAGE/DEBIAN/md5sums"

DEB=$OUT/${PKG}_${DEBVERSION}_${ARCH}.deb
# --root-owner-group: every file root:root without fakeroot; -Zxz: what every dpkg can read
dpkg-deb --root-owner-group -Zxz --build "$STAGE" "$DEB" >/dev/null
echo "$DEB"
