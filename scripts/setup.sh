#!/usr/bin/env bash
# Sets up .venv/ (a virtual environment in the repository) with colorkeras and the
# extras named: `bash scripts/setup.sh` for the dashboard and CLIs,
# `bash scripts/setup.sh test` for the tests too. Safe to run again.
#
# Debian and Ubuntu mark their own Python "externally managed", so pip refuses to
# install into it; a virtual environment is the way they intend. Their python3
# lacks the venv module until python3-venv is installed: as root (or with sudo)
# this script installs it, otherwise it says which package to ask for.
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-python3}
if ! command -v "$python" >/dev/null; then
  echo "error: $python not found; install Python 3.10 or newer" >&2
  exit 1
fi
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 10))'; then
  echo "error: colorkeras needs Python 3.10 or newer; $python is $("$python" -V 2>&1)" >&2
  exit 1
fi

if [ ! -x .venv/bin/python ]; then
  if ! "$python" -m venv .venv 2>/dev/null; then
    rm -rf .venv
    version=$("$python" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
    sudo=""
    if [ "$(id -u)" != 0 ]; then
      if command -v sudo >/dev/null; then sudo=sudo; else
        echo "error: $python cannot make virtual environments; ask for the python3-venv (or python$version-venv) package" >&2
        exit 1
      fi
    fi
    echo "Installing python3-venv (Debian/Ubuntu's venv module) ..." >&2
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "python$version-venv" >/dev/null \
      || DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq python3-venv >/dev/null
    "$python" -m venv .venv
  fi
fi

extras=""
if [ $# -gt 0 ]; then extras="[$(IFS=,; echo "$*")]"; fi
.venv/bin/python -m pip install -q --upgrade pip >/dev/null 2>&1 || true
.venv/bin/python -m pip install -q -e ".$extras"
echo "Ready: .venv/ holds colorkeras$extras" >&2
