#!/usr/bin/env bash
# What the browser tests need, installed when missing: Debian's Chromium,
# Node.js, a Korean font (the UI is tested in Korean; without one Chromium
# draws empty boxes), and the test driver (playwright-core, pinned in
# tests/browser/package-lock.json; it drives the system Chromium, so no
# browser download).
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
fc-list :lang=ko 2>/dev/null | grep -q . || missing+=(fonts-nanum)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing ${missing[*]} (Debian packages)"
  as_root apt-get update -q
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -q "${missing[@]}"
fi
if [ ! -d tests/browser/node_modules/playwright-core ]; then
  (cd tests/browser && npm ci --no-audit --no-fund)
fi
