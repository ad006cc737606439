#!/usr/bin/env bash
# Set up IMR Desk on a fresh Debian/Ubuntu machine: system libraries Qt needs, a virtual
# environment at .venv in the repository root, and the package installed into it.
#   bash packaging/bootstrap.sh          the application
#   bash packaging/bootstrap.sh --dev    the application plus the test and lint tools, PyInstaller
#                                        and the desktop-file/AppStream validators (for the bundle tests)
set -euo pipefail
cd "$(dirname "$0")/.."
extras=""
dev=0
[ "${1:-}" = "--dev" ] && dev=1 && extras="[dev,bundle]"

# Qt's xcb and offscreen platforms need these shared libraries; python3-venv makes the venv;
# Tesseract reads scanned letters (without it a scan is stored for review by hand).
apt_packages=(python3-venv python3-pip libegl1 libgl1 libglib2.0-0 libfontconfig1 libdbus-1-3
  libxkbcommon0 libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-shape0
  libxcb-xinerama0 libxcb-randr0 libxcb-render-util0 libxcb-image0 libxcb-xkb1 fonts-dejavu-core
  tesseract-ocr tesseract-ocr-eng)  # OCR of scanned letters (the engine and its English data)
# The bundle tests validate packaging/*.desktop and the AppStream metainfo with these tools; the store's
# tests run against a real PostgreSQL server too (Debian's server package: the tests start a throwaway
# cluster of their own from its binaries, so the package's default cluster need not run); the window's
# fit on a real screen is tested under an X server with a window manager (Xvfb, openbox).
[ "$dev" = 1 ] && apt_packages+=(desktop-file-utils appstream postgresql xvfb openbox)
missing=()
if command -v dpkg-query >/dev/null 2>&1; then
  for p in "${apt_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
fi
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1 && sudo="sudo"
  echo "Installing system packages: ${missing[*]}"
  $sudo apt-get update -qq || true
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null \
    || echo "warning: could not install ${missing[*]}; the window may not open, scans may not be read" >&2
fi

python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip
.venv/bin/python -m pip install -q --disable-pip-version-check -e ".${extras}"
