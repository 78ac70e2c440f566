#!/usr/bin/env bash
# Build ferrex-appliance_<version>_<arch>.deb with dpkg-deb; no root, no container, no debhelper.
#
#   bash packaging/build-deb.sh [--arch amd64|arm64] [--out DIR]
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
OUT=$REPO/dist
while [ $# -gt 0 ]; do
  case "$1" in
    --arch) ARCH=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    *) echo "usage: $0 [--arch amd64|arm64] [--out DIR]" >&2; exit 2 ;;
  esac
done
case "$ARCH" in
  amd64) PLATFORM=x86_64 ;;
  arm64) PLATFORM=aarch64 ;;
  *) echo "unsupported arch $ARCH (amd64, arm64)" >&2; exit 2 ;;
esac

PY=${FERREX_DEB_PYTHON:-/usr/bin/python3}
PYVER=$("$PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
PYNEXT=$("$PY" -c 'import sys; print("%d.%d" % (sys.version_info[0], sys.version_info[1] + 1))')
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

echo "== venv at $VENV (python $PYVER, $ARCH)" >&2
"$PY" -m venv --without-pip "$STAGE$VENV"
SITE=$STAGE$VENV/lib/python$PYVER/site-packages
# --python: pip evaluates environment markers for Debian's interpreter (redis needs async-timeout
# below 3.11.3, and bookworm has 3.11.2), not for whatever python runs this script.
"${PIP[@]}" --python "$PY" install -q --root-user-action=ignore --no-compile --target "$SITE" --only-binary=:all: \
  --platform "manylinux2014_$PLATFORM" --platform "manylinux_2_28_$PLATFORM" \
  --platform "manylinux_2_17_$PLATFORM" --implementation cp --python-version "$PYVER" \
  "${CONSTRAINTS[@]}" "$WHEEL[appliance]" 2>&1 | grep -v '^WARNING: Location' >&2 || true
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
