#!/usr/bin/env bash
# Installs the Debian packages the embedded cluster needs, only those that are missing.
# Safe to run on every `make` invocation: when everything is present it only runs dpkg queries.
# With arguments, installs those packages instead (e.g. `chromium` for the browser tests).
set -euo pipefail

packages=(
  postgresql-15                           # the server (Supabase runs 15 and up)
  postgresql-15-cron                      # pg_cron 1.4 (minute schedules)
  postgresql-15-pgtap                     # pgTAP for supabase/tests
  libtap-parser-sourcehandler-pgtap-perl  # pg_prove
  postgresql-15-plpgsql-check             # used by `supabase db lint`
)

[ $# -gt 0 ] && packages=("$@")

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
# Node.js and npm for the Supabase CLI (npm package `supabase`), unless some Node.js is there.
[ $# -gt 0 ] || command -v npm >/dev/null || missing+=(nodejs npm)
[ ${#missing[@]} -eq 0 ] && exit 0

echo "installing missing system packages: ${missing[*]}" >&2
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
# Do not create or start Debian's default cluster: ours is private and started on demand.
if [[ " ${missing[*]} " == *" postgresql-15 "* && ! -e /etc/postgresql-common/createcluster.d/50-opsdata.conf ]]; then
  $sudo mkdir -p /etc/postgresql-common/createcluster.d
  echo "create_main_cluster = false" | $sudo tee /etc/postgresql-common/createcluster.d/50-opsdata.conf >/dev/null
fi
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
