#!/usr/bin/env bash
# Install what the project needs on a Debian 12 machine (as root): apt packages, the venv, npm.
# Each step is skipped when already done, so a second run takes a second.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(postgresql postgresql-15-postgis-3 postgresql-15-postgis-3-scripts redis-server
  gdal-bin libgdal-dev libgeos-dev libproj-dev binutils gettext chromium fonts-noto-cjk nodejs)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  # nodejs may come from elsewhere (nodesource); a working node and npm are enough.
  if [ "$p" = nodejs ] && command -v node >/dev/null && command -v npm >/dev/null; then continue; fi
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo ">> apt-get install ${missing[*]}"
  if [ "$(id -u)" != 0 ]; then echo "Run as root, or install: ${missing[*]}" >&2; exit 1; fi
  apt-get update -qq
  # Debian's npm comes with its nodejs only when node is missing altogether.
  for i in "${!missing[@]}"; do [ "${missing[$i]}" = nodejs ] && missing+=(npm); done
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null || PY=python3
if [ ! -x .venv/bin/python ]; then
  echo ">> creating .venv"
  "$PY" -m venv .venv || { apt-get install -y -qq python3-venv >/dev/null && "$PY" -m venv .venv; }
fi
stamp=.venv/.deps-$(sha1sum pyproject.toml | cut -c1-12)
if [ ! -f "$stamp" ]; then
  echo ">> pip install (pyproject.toml)"
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/python - <<'PY' > .venv/requirements.txt
import tomllib
p = tomllib.load(open("pyproject.toml", "rb"))["project"]
print("\n".join(p["dependencies"] + p["optional-dependencies"]["dev"]))
PY
  .venv/bin/pip install -q -r .venv/requirements.txt
  rm -f .venv/.deps-* && touch "$stamp"
fi

nstamp=node_modules/.deps-$(sha1sum package.json package-lock.json 2>/dev/null | sha1sum | cut -c1-12)
if [ ! -f "$nstamp" ]; then
  echo ">> npm install"
  npm ci --no-audit --no-fund --loglevel=error
  rm -f node_modules/.deps-* && touch "$nstamp"
fi

# Translations: compile every app's .po (zh-hans is the source language, English beside it).
find . -path ./.venv -prune -o -path ./node_modules -prune -o -name django.po -print | while read -r po; do
  mo="${po%.po}.mo"
  if [ ! -f "$mo" ] || [ "$po" -nt "$mo" ]; then msgfmt -o "$mo" "$po"; fi
done
