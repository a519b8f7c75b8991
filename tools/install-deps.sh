#!/usr/bin/env bash
# Installs the Debian 12 packages attnviz needs to build, run and test.
# Idempotent: does nothing when every package is already installed.
set -eu
pkgs="build-essential pkg-config meson ninja-build clang libclang-rt-14-dev
libglib2.0-dev libjson-glib-dev libopenblas-dev libcairo2-dev zlib1g-dev libgtk-4-dev libadwaita-1-dev
python3-numpy python3-torch python3-sentencepiece xvfb xauth imagemagick desktop-file-utils appstream-util
fonts-dejavu-core"
missing=""
for p in $pkgs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends $missing
