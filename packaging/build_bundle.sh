#!/usr/bin/env bash
# Build the IMR Desk desktop bundle: a self-contained folder DIST_DIR/imr-desk (default dist/)
# whose `imr-desk` runs like the installed command.
#   bash packaging/build_bundle.sh [DIST_DIR]
# Needs the virtual environment of packaging/bootstrap.sh; installs PyInstaller (the `bundle`
# extra) into it when missing. Intermediate files go to build/ (or $IMR_DESK_BUILD_DIR).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dist="${1:-$root/dist}"
work="${IMR_DESK_BUILD_DIR:-$root/build/pyinstaller}"
py="$root/.venv/bin/python"

fail() { echo "build_bundle: error: $*" >&2; exit 1; }

[ -x "$py" ] || fail "no virtual environment at $root/.venv; run 'bash packaging/bootstrap.sh' first"
mkdir -p "$dist" "$work" 2>/dev/null || fail "cannot create the folders $dist and $work; choose another place"
dist="$(cd "$dist" && pwd)"
if ! "$py" -c "import PyInstaller" >/dev/null 2>&1; then
  echo "Installing PyInstaller (the bundle extra) into .venv"
  "$py" -m pip install -q --disable-pip-version-check -e "$root[bundle]" \
    || fail "could not install PyInstaller; check the network or run: .venv/bin/pip install -e '.[bundle]'"
fi

start=$(date +%s)
"$py" -m PyInstaller --noconfirm --clean --log-level WARN \
  --distpath "$dist" --workpath "$work" "$root/packaging/imr-desk.spec" \
  || fail "PyInstaller failed (see the messages above)"
[ -x "$dist/imr-desk/imr-desk" ] || fail "PyInstaller finished but $dist/imr-desk/imr-desk is missing"
"$dist/imr-desk/imr-desk" --version >/dev/null || fail "the bundle was built but does not start"

size=$(du -sh "$dist/imr-desk" | cut -f1)
echo "Built $dist/imr-desk in $(( $(date +%s) - start )) s; size $size"
echo "Run it: $dist/imr-desk/imr-desk"
