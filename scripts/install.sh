#!/usr/bin/env bash
# Install Shuyu and everything it needs on a fresh Debian machine: bubblewrap for the job sandbox,
# then the Python package with its test extras. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v bwrap >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing bubblewrap (the job sandbox)..."
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap >/dev/null
  else
    echo "bubblewrap is missing: run 'sudo apt-get install -y bubblewrap' (jobs refuse to run without it)" >&2
  fi
fi

# podman: only for `podman-compose config`, which validates docker-compose.yml in the tests (no engine runs).
if ! command -v podman >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing podman (compose file validation in the tests)..."
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman >/dev/null || echo "podman not installed" >&2
fi

PY=${PYTHON:-python3}
pip_install() {
  local log status=0
  log=$(mktemp)
  "$PY" -m pip install --disable-pip-version-check -q "$@" >"$log" 2>&1 || status=$?
  grep -v -e "Running pip as the 'root' user" -e "is ignored: it is neither" "$log" || true
  rm -f "$log"
  return "$status"
}
echo "installing the shuyu package..."
if ! pip_install -e ".[test]"; then
  # Debian's system Python refuses plain pip installs (PEP 668).
  pip_install --break-system-packages -e ".[test]"
fi
command -v pyenv >/dev/null 2>&1 && pyenv rehash || true
"$PY" -c "import gateway.cli" && echo "shuyu installed: $(command -v shuyu || echo "$($PY -c 'import sys; print(sys.prefix)')/bin/shuyu")"
