#!/usr/bin/env bash
# Installs every Debian package EPIC desktop needs to build, run and test. Idempotent, non-interactive.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config ccache git
  libsentencepiece-dev sentencepiece
  libzstd-dev libxxhash-dev libsqlite3-dev libpoppler-cpp-dev poppler-utils libpcre2-dev libutf8proc-dev
  libxml2-dev nlohmann-json3-dev libcli11-dev
  qt6-base-dev libgl1-mesa-dev xvfb xauth
  libgtest-dev googletest
  # installer/install-check.sh: package checks and tracing the installed programs' writes
  dpkg-dev appstream desktop-file-utils strace
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "install-deps: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
