#!/usr/bin/env bash
# Installs the system packages the test suite's real components need (Docker engine,
# busybox, PostgreSQL...). Each component lists its packages in system-deps.d/<name>.sh as
#   PACKAGES+=(pkg ...)
# Best effort: without root or apt-get, nothing is installed and the tests that need a
# missing component skip, printing why.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
PACKAGES=()
for part in "$here"/system-deps.d/*.sh; do
    [ -e "$part" ] && . "$part"
done
missing=()
for pkg in "${PACKAGES[@]}"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    echo "system-deps: not installing ${missing[*]} (needs root and apt-get); their tests skip" >&2
    exit 0
fi
echo "system-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null 2>&1 || true
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
    || echo "system-deps: apt-get install failed; the tests needing ${missing[*]} skip" >&2
exit 0
