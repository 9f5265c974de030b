#!/usr/bin/env bash
# Refreshes the vendored Swagger UI in static/swagger-ui from the npm package swagger-ui-dist.
# Usage: scripts/update-swagger-ui.sh [VERSION]   (default: latest)
set -euo pipefail
version="${1:-latest}"
top="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
npm pack "swagger-ui-dist@${version}" >/dev/null
tar xzf swagger-ui-dist-*.tgz
dest="$top/static/swagger-ui"
cp package/swagger-ui-bundle.js package/swagger-ui.css "$dest/"
cp package/LICENSE "$dest/LICENSE-swagger-ui"
cp package/NOTICE "$dest/NOTICE-swagger-ui"
# The .map files are not shipped, so drop the comments that point at them.
sed -i '/sourceMappingURL/d' "$dest/swagger-ui-bundle.js" "$dest/swagger-ui.css"
echo "swagger-ui-dist $(node -p "require('./package/package.json').version") vendored into $dest"
