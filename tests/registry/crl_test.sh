#!/usr/bin/env bash
# grafos-registry serve --crl: a client certificate the fabric CA revoked (grafos-ca revoke +
# gen-crl) is refused in the handshake and audited; a new CRL file applies without a restart, to
# clients that connected before it too (no session resumption); a CRL of another CA or a missing
# one refuses to start, and a bad replacement keeps the old CRL in force.
. "$(dirname "$0")/lib.sh"
make_pki || { echo "1..0 # SKIP no PKI"; exit 1; }
P=$T/pki
# make_pki issued with the ledger beside ca.pem; gen-crl lists what revoke marked.
"$GCA" gen-crl --ca-cert "$P/ca.pem" --ca-key "$P/ca-key.pem" --out "$T/crl.pem" >/dev/null 2>&1
check "an empty CRL from grafos-ca gen-crl" test -s "$T/crl.pem"
start_server "$T/db" --crl "$T/crl.pem"
check "server starts with --crl" kill -0 "$SERVER_PID"
expect_status "create acme" 201 admin POST /tenants '{"name":"acme","quota_mem":1000}'
expect_status "create beta" 201 admin POST /tenants '{"name":"beta","quota_mem":1000}'
expect_status "tenant acme before revocation" 200 tenant-acme GET /tenants
expect_status "tenant beta before revocation" 200 tenant-beta GET /tenants

"$GCA" revoke --ca-cert "$P/ca.pem" --ca-key "$P/ca-key.pem" --cert "$P/tenant-acme.pem" \
  --reason keyCompromise >"$T/revoke.out" 2>&1
check "grafos-ca revoke acme" grep -q 'revoked serial' "$T/revoke.out"
"$GCA" gen-crl --ca-cert "$P/ca.pem" --ca-key "$P/ca-key.pem" --out "$T/crl.pem" --force >/dev/null 2>&1
expect_refused_tls "revoked acme refused with the new CRL, no restart" tenant-acme GET /tenants
expect_status "beta still accepted" 200 tenant-beta GET /tenants
check "the refusal is audited with the CRL number" grep -q "certificate revoked (listed on CRL number 2)" \
  <(req admin GET '/admin/audit?limit=1000&kind=auth' >/dev/null; jq -r '.entries[].detail' "$T/body")

# A replacement that is not this CA's CRL keeps the old one in force.
"$GCA" init-ca --out "$T/other" >/dev/null 2>&1
"$GCA" gen-crl --ca-cert "$T/other/ca.pem" --ca-key "$T/other/ca-key.pem" --out "$T/other-crl.pem" >/dev/null 2>&1
cp "$T/crl.pem" "$T/crl.good"
cp "$T/other-crl.pem" "$T/crl.pem"
expect_refused_tls "a foreign CRL file does not lift the revocation" tenant-acme GET /tenants
check "the bad reload is reported on stderr" grep -q "was not reloaded" "$SERVER_LOG"
printf 'garbage\n' >"$T/crl.pem"
expect_refused_tls "a garbage CRL file does not lift the revocation" tenant-acme GET /tenants
expect_status "beta still accepted after the bad reloads" 200 tenant-beta GET /tenants
stop_server

# Startup refusals: nothing listens, no database.
for c in "missing|$T/none.pem" "foreign|$T/other-crl.pem" "garbage|$T/crl.pem"; do
  name=${c%%|*}
  file=${c#*|}
  rm -f "$T/ready"
  "$REGISTRY" serve --listen 127.0.0.1:0 --db "$T/db-$name" --cert "$P/server.pem" \
    --key "$P/server-key.pem" --client-ca "$P/ca.pem" --ready-file "$T/ready" --crl "$file" \
    >"$T/start.out" 2>&1
  rc=$?
  if [ "$rc" -ne 0 ] && [ ! -e "$T/ready" ] && [ ! -e "$T/db-$name" ] && grep -q -- '--crl' "$T/start.out"; then
    ok "a $name CRL refuses to start (exit $rc): $(head -c 120 "$T/start.out")"
  else
    not_ok "a $name CRL: exit $rc"; sed 's/^/# /' "$T/start.out"
  fi
done
finish
