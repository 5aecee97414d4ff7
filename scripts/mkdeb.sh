#!/usr/bin/env bash
# make deb: builds natsec_<VERSION>_<arch>.deb with the Debian tools
# (debian/, debhelper, dpkg-buildpackage) from the tree as it is, into
# OUTDIR (default build/deb). The version is VERSION's: debian/changelog is
# written from it here, so VERSION stays the one place it is set.
#   scripts/mkdeb.sh [OUTDIR]
set -euo pipefail
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=$(mkdir -p "${1:-$src/build/deb}" && cd "${1:-$src/build/deb}" && pwd)
version=$(head -n 1 "$src/VERSION")
[[ $version =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || { echo "mkdeb: VERSION holds '$version'" >&2; exit 1; }
stage=$out/natsec-$version
rm -rf "$stage" "$out"/natsec_"$version"_*
mkdir -p "$stage"

# The tree's files: tracked and new ones, not what .gitignore names (build/).
if git -C "$src" rev-parse --git-dir >/dev/null 2>&1; then
  (cd "$src" && git ls-files -z -co --exclude-standard) |
    (cd "$src" && while IFS= read -r -d '' f; do
      [ -e "$f" ] || [ -L "$f" ] || continue
      cp -P --parents -- "$f" "$stage"
    done)
else
  (cd "$src" && tar --exclude=./build -cf - .) | (cd "$stage" && tar -xf -)
fi

maintainer=$(sed -n 's/^Maintainer: //p' "$src/debian/control")
cat >"$stage/debian/changelog" <<EOC
natsec ($version) unstable; urgency=medium

  * natsec $version, from the file VERSION (make deb).

 -- $maintainer  $(date -R)
EOC

cd "$stage"
export CCACHE_BASEDIR=$stage
DEB_BUILD_OPTIONS="nocheck parallel=${JOBS:-$(nproc)}" dpkg-buildpackage -b -us -uc >"$out/build.log" 2>&1 || {
  tail -n 40 "$out/build.log" >&2
  echo "mkdeb: dpkg-buildpackage failed; the whole log is $out/build.log" >&2
  exit 1
}
deb=$(ls "$out"/natsec_"$version"_*.deb)
echo "$deb"
