#!/usr/bin/env bash
# Renders epic-desktop.svg into the PNG sizes the hicolor icon theme wants. The PNGs are committed
# (so building and packaging need no SVG renderer); run this again after editing the SVG.
# Needs rsvg-convert (Debian: librsvg2-bin).
set -euo pipefail
cd "$(dirname "$0")"
command -v rsvg-convert >/dev/null || { echo "render.sh: rsvg-convert not found (apt-get install librsvg2-bin)" >&2; exit 1; }
for s in 16 32 48 64 128 256; do
  rsvg-convert -w "$s" -h "$s" epic-desktop.svg -o "epic-desktop-$s.png"
done
ls -l epic-desktop-*.png
