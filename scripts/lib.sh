# Shared by scripts/serve and scripts/test: find Python 3.11+ and keep .venv installed.
# shellcheck shell=bash

repo_root() { cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd; }

find_python() {
  for candidate in python3.13 python3.12 python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1 &&
      "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      echo "$candidate"
      return 0
    fi
  done
  echo "kindkoppeling needs Python 3.11 or newer" >&2
  return 1
}

# ensure_venv [extras]: create .venv if needed and install the project (editable) into it.
ensure_venv() {
  local extras="${1:-}" spec="."
  [ -n "$extras" ] && spec=".[$extras]"
  if [ ! -x .venv/bin/python ]; then
    "$(find_python)" -m venv .venv
    .venv/bin/python -m pip install --quiet --upgrade pip
  fi
  .venv/bin/python -m pip install --quiet --editable "$spec"
}

# ensure_node NAME: node and npm, from Debian packages when absent (needs root).
ensure_node() {
  if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
    return 0
  fi
  if [ "$(id -u)" -ne 0 ]; then
    echo "$1: node and npm are not installed and installing them needs root" >&2
    return 1
  fi
  echo "$1: installing node and npm from Debian packages" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq nodejs npm >&2
}

# npm_pinned NAME PINNED TARGET: the packages of PINNED/package-lock.json installed into TARGET
# (a cache folder), again only when the lock changed. Install scripts are not run.
npm_pinned() {
  local name="$1" pinned="$2" target="$3"
  ensure_node "$name"
  if ! cmp -s "$pinned/package-lock.json" "$target/package-lock.json" ||
    [ ! -d "$target/node_modules" ]; then
    echo "$name: installing from $pinned/package-lock.json" >&2
    rm -rf "$target"
    mkdir -p "$target"
    cp "$pinned/package.json" "$pinned/package-lock.json" "$target/"
    (cd "$target" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >&2)
  fi
}
