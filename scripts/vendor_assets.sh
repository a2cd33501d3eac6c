#!/usr/bin/env bash
# Vendor Apache ECharts from its npm package (no CDN: pages load it from our own static
# folder). Fetches echarts@VERSION with `npm pack`, copies dist/echarts.min.js and the
# licence into core/web/static/vendor/echarts/, and records the version, the tarball's
# integrity (from the registry) and the file's sha256 in VERSION and SHA256SUMS.
#
#   scripts/vendor_assets.sh            # the version in core/web/static/vendor/echarts/VERSION
#   scripts/vendor_assets.sh 6.1.0      # another version (then commit the three files)
#   scripts/vendor_assets.sh --check    # re-fetch the recorded version and verify the files
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dest="$root/core/web/static/vendor/echarts"
recorded=$(sed -n 's/^version=//p' "$dest/VERSION" 2>/dev/null || true)
check=0
version="${1:-$recorded}"
if [ "${1:-}" = "--check" ]; then check=1; version="$recorded"; fi
[ -n "$version" ] || { echo "usage: $0 [VERSION|--check]"; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "echarts@$version" >/dev/null)
tarball=$(ls "$tmp"/echarts-*.tgz)
tar -xzf "$tarball" -C "$tmp"
integrity=$(cd "$tmp" && npm view "echarts@$version" dist.integrity)
sum=$(sha256sum "$tmp/package/dist/echarts.min.js" | cut -d' ' -f1)
if [ "$check" = 1 ]; then
  (cd "$dest" && sha256sum --check --quiet SHA256SUMS) || { echo "vendored files differ from SHA256SUMS"; exit 1; }
  grep -q "^sha256=$sum$" "$dest/VERSION" || { echo "echarts@$version on npm differs from the vendored file"; exit 1; }
  echo "echarts $version: vendored files match npm ($sum)"
  exit 0
fi
mkdir -p "$dest"
cp "$tmp/package/dist/echarts.min.js" "$dest/echarts.min.js"
cp "$tmp/package/LICENSE" "$dest/LICENSE"
cat > "$dest/VERSION" <<REC
# Apache ECharts, vendored by scripts/vendor_assets.sh from the npm package (no CDN).
package=echarts
version=$version
source=https://registry.npmjs.org/echarts/-/$(basename "$tarball")
integrity=$integrity
file=dist/echarts.min.js
sha256=$sum
REC
(cd "$dest" && sha256sum echarts.min.js LICENSE > SHA256SUMS)
echo "echarts $version vendored into ${dest#$root/} (sha256 $sum)"
