#!/usr/bin/env bash
# Durability: a stream of writes (tenant creates) is cut by SIGKILL; after a restart every
# acknowledged write is present and PRAGMA integrity_check is ok. Repeated a few times.
. "$(dirname "$0")/lib.sh"
make_pki
DB=$T/db
start_server "$DB" || { echo "Bail out! server did not start"; exit 1; }
req admin POST /tenants '{"name":"base"}' >/dev/null
: >"$T/acked"
writer() { # writes tenants w<round>-<i> until the server dies; logs acknowledged names
  local round=$1 i=0
  while :; do
    i=$((i + 1))
    st=$(curl -s --max-time 5 --cacert "$T/pki/ca.pem" --cert "$T/pki/admin.pem" --key "$T/pki/admin-key.pem" \
      -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
      --data-binary "{\"name\":\"w$round-$i\",\"quota_mem\":$i}" "$URL/api/v1/tenants" || true)
    [ "$st" = 201 ] && echo "w$round-$i" >>"$T/acked"
    [ "$st" = 000 ] && break
  done
}
for round in 1 2 3; do
  writer "$round" &
  wpid=$!
  sleep 1.5
  kill -KILL "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null; SERVER_PID=""
  wait "$wpid"
  n=$(grep -c "^w$round-" "$T/acked")
  check "round $round: writes were acknowledged before the kill ($n)" test "$n" -gt 0
  check "round $round: integrity_check ok after SIGKILL" test "$(sqlite3 "$DB" 'PRAGMA integrity_check')" = ok
  start_server "$DB" || { echo "Bail out! restart failed"; cat "$T/server.log"; exit 1; }
  req admin GET /tenants >/dev/null
  jq -r '.tenants[].name' "$T/body" | sort >"$T/present"
  missing=$(sort "$T/acked" | comm -23 - "$T/present" | wc -l)
  check "round $round: every acknowledged write present after restart" test "$missing" = 0
  audited=$(sqlite3 "$DB" "SELECT COUNT(*) FROM audit WHERE action='POST /api/v1/tenants' AND outcome='allowed'")
  check "round $round: each acknowledged create has its audit entry" test "$audited" -ge "$(($(wc -l <"$T/acked") + 1))"
done
check "schema version recorded" test "$(sqlite3 "$DB" 'SELECT version FROM schema_version')" = 4
check "journal mode is WAL" test "$(sqlite3 "$DB" 'PRAGMA journal_mode')" = wal
check "database file is private (0600)" test "$(stat -c %a "$DB")" = 600
finish
