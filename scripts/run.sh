#!/usr/bin/env bash
# run.sh — the first README command: install packages, build, and start `mailfleet serve` on
# SQLite (./mailfleet.db) at 127.0.0.1:8025 (MAILFLEET_LISTEN / MAILFLEET_DB override).
# On a fresh database it also creates an organisation, an operator and an admin, and prints
# their API tokens once, so the 5-minute tour in README.md can start right away.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
bin=build/mailfleet
export MAILFLEET_DB="${MAILFLEET_DB:-sqlite:./mailfleet.db}"
if [ "$MAILFLEET_DB" = "sqlite:./mailfleet.db" ] && [ ! -e mailfleet.db ]; then
  org=$($bin org create "My organisation")
  $bin user create --email operator@localhost.localdomain --name Operator --role operator >/dev/null
  $bin user create --email admin@localhost.localdomain --name Admin --role admin --org "$org" >/dev/null
  echo "organisation: $org"
  echo "operator token: $($bin token create --user operator@localhost.localdomain)"
  echo "admin token:    $($bin token create --user admin@localhost.localdomain)"
  echo "(tokens are shown once; make more with: $bin token create --user EMAIL)"
fi
exec "$bin" serve "$@"
