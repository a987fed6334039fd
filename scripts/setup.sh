#!/usr/bin/env bash
# Installs the system programs Recon's engines and tests use, from Debian's packages, when
# running as root on Debian/Ubuntu; otherwise says what to install. npm installs the rest.
#   scripts/setup.sh            what the demo needs (colmap; ffmpeg for video inputs)
#   scripts/setup.sh test       plus what the test suite needs (postgresql, python3-numpy, chromium)
set -euo pipefail

want=(colmap ffmpeg)
if [[ "${1:-}" == "test" ]]; then
  want+=(postgresql python3-numpy chromium)
fi

missing=()
for pkg in "${want[@]}"; do
  case "$pkg" in
    colmap) command -v colmap >/dev/null || missing+=(colmap) ;;
    ffmpeg) command -v ffmpeg >/dev/null || missing+=(ffmpeg) ;;
    postgresql) ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null || missing+=(postgresql) ;;
    python3-numpy) python3 -c 'import numpy' >/dev/null 2>&1 || missing+=(python3-numpy) ;;
    chromium) command -v chromium >/dev/null || missing+=(chromium) ;;
  esac
done

if [[ ${#missing[@]} -eq 0 ]]; then
  exit 0
fi
if [[ $(id -u) -ne 0 || ! -x /usr/bin/apt-get ]]; then
  echo "Recon needs: ${missing[*]}. Install them with: sudo apt-get install ${missing[*]}" >&2
  exit 1
fi
echo "Installing ${missing[*]} with apt-get…"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
