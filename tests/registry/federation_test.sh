#!/usr/bin/env bash
# Federation (seed 001, issue 14) against real registries on loopback: two fabrics A and B, each
# with its own CA, online enrollment intermediate and seal secret. Grants, scope refusals,
# single-use tokens (second use, expired, revoked grant, expired grant, flipped token: distinct
# errors, audited), `--ttl 901`, `peer add` both ways with TLS pinned by the URL's fingerprint,
# scoped reads (out of scope 403, row limit, revoked 401), the intermediate's CRL, `openssl
# verify`, no key or token in clear in either database, the wrong-OID test hook refused by
# `peer add`, 50 concurrent enrollments with one token and with 50 tokens of one grant.
. "$(dirname "$0")/lib.sh"
ADMIN=${GRAFOS_ADMIN:?GRAFOS_ADMIN must point at the grafos-admin binary}
export NO_COLOR=1

make_pki || { echo "Bail out! PKI"; exit 1; }

# ---- fabric B: a second CA, its server and admin certificates ----
B=$T/pkiB
mkdir -p "$B"
"$GCA" init-ca --out "$B" --cn "Fabric B CA" >"$B/ca.log" 2>&1 || { echo "Bail out! B CA"; exit 1; }
"$GCA" issue-server-cert --ca-cert "$B/ca.pem" --ca-key "$B/ca-key.pem" --san 127.0.0.1,localhost \
  --out "$B" >"$B/server.log" 2>&1 || { echo "Bail out! B server"; exit 1; }
"$GCA" issue-cert --ca-cert "$B/ca.pem" --ca-key "$B/ca-key.pem" --role fabric-admin \
  --out "$B/admin.d" >"$B/admin.log" 2>&1 || { echo "Bail out! B admin"; exit 1; }
mv "$B/admin.d/client.pem" "$B/admin.pem"; mv "$B/admin.d/client-key.pem" "$B/admin-key.pem"

# make_intermediate DIR: the online enrollment intermediate of the CA in DIR -> DIR/int/
make_intermediate() {
  local d=$1
  "$GCA" issue-intermediate --ca-cert "$d/ca.pem" --ca-key "$d/ca-key.pem" \
    --out "$d/int" >"$d/int.log" 2>&1 || { echo "# issue-intermediate: $(cat "$d/int.log")"; return 1; }
}
make_intermediate "$T/pki" || { echo "Bail out! A intermediate"; exit 1; }
make_intermediate "$B" || { echo "Bail out! B intermediate"; exit 1; }
INT_A_CERT=$T/pki/int/intermediate.pem; INT_A_KEY=$T/pki/int/intermediate-key.pem
INT_B_CERT=$B/int/intermediate.pem; INT_B_KEY=$B/int/intermediate-key.pem

head -c 32 /dev/urandom | base64 >"$T/sealA"; chmod 600 "$T/sealA"
head -c 32 /dev/urandom | base64 >"$T/sealB"; chmod 600 "$T/sealB"

# start_fabric NAME PKI-DIR DB INT-CERT INT-KEY SEAL [extra...]: sets URL_<NAME>, PID_<NAME>
start_fabric() {
  local name=$1 d=$2 db=$3 ic=$4 ik=$5 seal=$6; shift 6
  rm -f "$T/ready-$name"
  [ -n "$seal" ] && set -- --seal-secret-file "$seal" "$@"
  "$REGISTRY" serve --listen 127.0.0.1:0 --db "$db" --cert "$d/server.pem" --key "$d/server-key.pem" \
    --client-ca "$d/ca.pem" --ready-file "$T/ready-$name" --threads 8 --enroll-ca-cert "$ic" \
    --enroll-ca-key "$ik" "$@" >"$T/server-$name.log" 2>&1 &
  local pid=$!
  EXTRA_PIDS+=("$pid")
  for _ in $(seq 1 100); do
    [ -s "$T/ready-$name" ] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  local port
  port=$(cat "$T/ready-$name" 2>/dev/null || echo 0)
  eval "URL_$name=https://127.0.0.1:$port; PID_$name=$pid"
  [ "$port" != 0 ] || { echo "# server $name: $(cat "$T/server-$name.log")"; return 1; }
}
stop_fabric() { local pid; eval "pid=\$PID_$1"; kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; }

DB_A=$T/a.db; DB_B=$T/b.db
start_fabric A "$T/pki" "$DB_A" "$INT_A_CERT" "$INT_A_KEY" "$T/sealA" || { echo "Bail out! A"; exit 1; }
start_fabric B "$B" "$DB_B" "$INT_B_CERT" "$INT_B_KEY" "$T/sealB" || { echo "Bail out! B"; exit 1; }

# adm A|B SUBCOMMAND... : grafos-admin as that fabric's admin against its own registry
adm() {
  local f=$1; shift
  local url d
  if [ "$f" = A ]; then url=$URL_A; d=$T/pki; else url=$URL_B; d=$B; fi
  local sub=("$1" "$2"); shift 2
  "$ADMIN" "${sub[@]}" --scheduler "$url" --cert "$d/admin.pem" --key "$d/admin-key.pem" \
    --ca "$d/ca.pem" "$@"
}
# rawreq URL CAFILE METHOD PATH [BODY]: no client certificate; status -> stdout, body -> $T/body
rawreq() {
  local url=$1 ca=$2 method=$3 path=$4 body=${5-}
  local args=(-sS --max-time 20 --cacert "$ca" -o "$T/body" -w '%{http_code}' -X "$method")
  [ -n "$body" ] && args+=(-H 'Content-Type: application/json' --data-binary "$body")
  curl "${args[@]}" "$url/api/v1$path" 2>"$T/curl.err" || true
}
csr() { # csr NAME -> $T/NAME.csr (PEM) and the JSON-escaped text in $T/NAME.csr.json
  openssl ecparam -name prime256v1 -genkey -noout -out "$T/$1.key" 2>/dev/null
  openssl req -new -key "$T/$1.key" -subj "/CN=$1" -out "$T/$1.csr" 2>/dev/null
  jq -Rs . <"$T/$1.csr" >"$T/$1.csr.json"
}
enroll_body() { printf '{"token":"%s","csr":%s}' "$1" "$(cat "$T/$2.csr.json")"; }
token_of() { sed -n 's/.*[?&]token=\([^&]*\).*/\1/p' <<<"$1"; }
audit_has() { # audit_has DB TEXT: an audit row whose detail holds TEXT (after the flush)
  sleep 0.3
  [ "$(sqlite3 "$1" "SELECT count(*) FROM audit WHERE instr(detail, '$2') > 0")" -ge 1 ]
}

# ---- grants and scope refusals (on A) ----
scope() { printf '%s' "$2" >"$T/$1.json"; }
scope bad-name '{"resources":["tenants","secrets"]}'
scope both '{"resources":["tenants","audit"],"excluded_resources":["audit"]}'
scope rows0 '{"resources":["tenants"],"max_rows_per_query":0}'
scope rows10001 '{"resources":["tenants"],"max_rows_per_query":10001}'
scope extra '{"resources":["tenants"],"columns":["x"]}'
for s in bad-name:"unknown resource 'secrets'" both:"both in 'resources' and 'excluded_resources'" \
  rows0:"must be from 1 to 10000" rows10001:"must be from 1 to 10000" extra:"unknown key 'columns'"; do
  f=${s%%:*}; want=${s#*:}
  adm A grant create --user alice --peer fabric-b --scope "$T/$f.json" >"$T/out" 2>&1; rc=$?
  if [ $rc = 3 ] && grep -qF "$want" "$T/out"; then ok "scope $f refused with the rule named (exit 3)"
  else not_ok "scope $f: rc $rc"; sed 's/^/# /' "$T/out"; fi
done
check "no grant was written by the refused scopes" test "$(sqlite3 "$DB_A" 'SELECT count(*) FROM fed_grants')" = 0

scope good '{"resources":["tenants","leases","audit"],"excluded_resources":["cells"],"max_rows_per_query":2}'
adm A grant create --user alice --peer fabric-b --scope "$T/good.json" --json >"$T/grant.json" 2>"$T/err"
G1=$(jq -r .id "$T/grant.json")
check "grant create: pending, 365 days by default" \
  test "$(jq -r '.status + " " + ((.expires_at - .created_at) | tostring)' "$T/grant.json")" = "pending 31536000"
adm A grant list --status pending --json >"$T/out" 2>&1
check "grant list --status pending shows it" test "$(jq -r '.grants[0].id' "$T/out")" = "$G1"
check "grant show" bash -c "'$ADMIN' grant show '$G1' --scheduler '$URL_A' --cert '$T/pki/admin.pem' --key '$T/pki/admin-key.pem' --ca '$T/pki/ca.pem' | grep -q fabric-b"
adm A grant create --user alice --peer 'bad/peer' --scope "$T/good.json" >"$T/out" 2>&1
check "a peer id outside the grammar is refused (exit 3)" test $? = 3

# ---- roles: fabric-admin only; every other caller refused ----
URL=$URL_A
expect_status "observer may not create grants" 403 observer POST /admin/federation/grants '{"user_id":"u","peer_id":"p","scope":{"resources":["tenants"]}}'
expect_status "a cell may not list grants" 403 cell GET /admin/federation/grants
expect_status "cert-less caller may not list grants" 401 none GET /admin/federation/grants
expect_status "observer may not list grants either (fabric-admin only)" 403 observer GET /admin/federation/grants
expect_status "observer may not list peers" 403 observer GET /admin/federation/peers
"$REGISTRY" admin-token add fed --db "$T/m.db" >"$T/m.tok" 2>&1
MTOK=$(grep -oE 'gfa_[0-9a-f]{64}' "$T/m.tok")
start_fabric M "$T/pki" "$T/m.db" "$INT_A_CERT" "$INT_A_KEY" "$T/sealA" --auth mtls+token ||
  { echo "Bail out! M"; exit 1; }
URL=$URL_M
expect_status "mtls+token: a grant without the FabricAdmin bearer is refused" 401 admin POST /admin/federation/grants '{"user_id":"u","peer_id":"p","scope":{"resources":["tenants"]}}'
expect_status "mtls+token: with the bearer it is created" 201 "admin+bearer:$MTOK" POST /admin/federation/grants '{"user_id":"u","peer_id":"p","scope":{"resources":["tenants"]}}'
stop_fabric M
"$REGISTRY" serve --listen 127.0.0.1:0 --db "$T/bad.db" --cert "$T/pki/server.pem" --key "$T/pki/server-key.pem" \
  --client-ca "$T/pki/ca.pem" --enroll-ca-cert "$INT_A_CERT" --enroll-ca-key "$T/pki/admin-key.pem" >"$T/out" 2>&1
rc=$?
check "an --enroll-ca-key that is not the intermediate's is refused at startup (exit 5), no database" \
  bash -c "[ $rc = 5 ] && grep -q 'enroll' '$T/out' && [ ! -e '$T/bad.db' ]"
"$REGISTRY" serve --listen 127.0.0.1:0 --db "$T/bad.db" --cert "$T/pki/server.pem" --key "$T/pki/server-key.pem" \
  --client-ca "$B/ca.pem" --enroll-ca-cert "$INT_A_CERT" --enroll-ca-key "$INT_A_KEY" >"$T/out" 2>&1
rc=$?
check "an intermediate not signed by --client-ca is refused at startup, no database" \
  bash -c "[ $rc != 0 ] && grep -q 'not signed by the fabric CA' '$T/out' && [ ! -e '$T/bad.db' ]"
URL=$URL_A

# ---- tokens ----
adm A grant token "$G1" --ttl 901 >"$T/out" 2>&1
rc=$?
check "--ttl 901 is refused (exit 2, never capped)" bash -c "[ $rc = 2 ] && grep -q 'never live longer than 15 minutes' '$T/out'"
expect_status "the server refuses ttl 901 too" 400 admin POST "/admin/federation/grants/$G1/tokens" '{"ttl":901}'
check "  and audits the refusal" audit_has "$DB_A" "token ttl must be 1 to 900 seconds"
check "no token row from the refusals" test "$(sqlite3 "$DB_A" 'SELECT count(*) FROM fed_tokens')" = 0
adm A grant token "$G1" --json >"$T/tok.json" 2>"$T/err"
URL1=$(jq -r .enrollment_url "$T/tok.json"); TOK1=$(jq -r .token "$T/tok.json")
FP_A=$(openssl x509 -in "$T/pki/ca.pem" -outform DER | sha256sum | cut -d' ' -f1)
check "token: default TTL 900" test "$(jq -r .ttl "$T/tok.json")" = 900
check "the enrollment URL carries the fabric CA fingerprint" grep -q "ca_sha256=$FP_A" <<<"$URL1"
check "only the token's SHA-256 is stored" test "$(sqlite3 "$DB_A" 'SELECT digest FROM fed_tokens')" = "$(printf %s "$TOK1" | sha256sum | cut -d' ' -f1)"

# ---- the enrollment path needs no certificate; every other path still does ----
check "GET /federation/ca without a client certificate" test "$(rawreq "$URL_A" "$T/pki/ca.pem" GET /federation/ca)" = 200
for p in /tenants /admin/audit /admin/federation/grants /admin/federation/peers /federation/tenants /cells/work/poll; do
  got=$(rawreq "$URL_A" "$T/pki/ca.pem" GET "$p")
  if [ "$got" = 401 ]; then ok "cert-less GET $p refused (401)"; else not_ok "cert-less GET $p: $got"; fi
done

# ---- peer add on B, pinned to A ----
adm B peer add "$URL1" >"$T/add.out" 2>&1
check "peer add (B enrolls with A)" grep -q "enrolled peer fabric-b" "$T/add.out" || cat "$T/add.out" | sed 's/^/# /'
adm B peer list --json >"$T/peers.json" 2>&1
check "peer list: active, fingerprint, not-after" \
  test "$(jq -r '.peers[0] | .status + " " + (.cert_sha256 | length | tostring) + " " + (.not_after > 0 | tostring)' "$T/peers.json")" = "active 64 true"
adm B peer list >"$T/peers.txt" 2>&1
check "peer list table" grep -q "fabric-b.*active" "$T/peers.txt"
check "A: grant active after enrollment" test "$(sqlite3 "$DB_A" "SELECT status FROM fed_grants WHERE id='$G1'")" = active
check "A: the issued certificate is recorded (serial, grant, peer, not-after, state)" \
  test "$(sqlite3 "$DB_A" "SELECT count(*) FROM fed_issued WHERE grant_id='$G1' AND peer_id='fabric-b' AND state='issued' AND not_after > 0")" = 1
sqlite3 "$DB_B" "SELECT cert_pem FROM fed_peers WHERE peer_id='fabric-b'" >"$T/peer.pem"
check "openssl verify with the root and the intermediate accepts the peer certificate" \
  openssl verify -CAfile "$T/pki/ca.pem" -untrusted "$INT_A_CERT" -purpose sslclient "$T/peer.pem"
openssl x509 -in "$T/peer.pem" -noout -text >"$T/peer.txt"
check "openssl x509 -text shows both OIDs" bash -c "grep -q '2.25.22471549674437839168046222397920535751.1' '$T/peer.txt' && grep -q '2.25.22471549674437839168046222397920535751.2' '$T/peer.txt'"
check "the peer certificate names urn:fabricbios:peer:fabric-b" grep -q "URI:urn:fabricbios:peer:fabric-b" "$T/peer.txt"
sqlite3 "$DB_B" "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null 2>&1
sqlite3 "$DB_A" "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null 2>&1
check "B's database holds no private key in clear" bash -c "! grep -qa 'PRIVATE KEY' '$DB_B' '$DB_B-wal' 2>/dev/null"
check "B's database holds the key sealed" test "$(sqlite3 "$DB_B" "SELECT length(sealed_key) > 100 FROM fed_peers")" = 1
check "A's database holds no token in clear" bash -c "! grep -qaF '$TOK1' '$DB_A' '$DB_A-wal' 2>/dev/null"
check "B's database holds no token in clear" bash -c "! grep -qaF '$TOK1' '$DB_B' '$DB_B-wal' 2>/dev/null"

# ---- token refusals: distinct, clear, audited ----
csr extra
got=$(rawreq "$URL_A" "$T/pki/ca.pem" POST /federation/enroll "$(enroll_body "$TOK1" extra)")
check "a second use of the token is refused (409 already used)" bash -c "[ $got = 409 ] && grep -q 'was already used' '$T/body'"
check "  with its own wire code enrollment_token_used" test "$(jq -r .error "$T/body")" = enrollment_token_used
check "  and audited" audit_has "$DB_A" "was already used"
FLIP=${TOK1:0:10}$( [ "${TOK1:10:1}" = a ] && echo b || echo a )${TOK1:11}
got=$(rawreq "$URL_A" "$T/pki/ca.pem" POST /federation/enroll "$(enroll_body "$FLIP" extra)")
check "a token with one flipped character is refused (401 not recognised)" bash -c "[ $got = 401 ] && grep -q 'not recognised' '$T/body'"
check "  with its own wire code enrollment_token_unknown" test "$(jq -r .error "$T/body")" = enrollment_token_unknown
check "  and audited" audit_has "$DB_A" "not recognised"

adm A grant create --user bob --peer fabric-x --scope "$T/good.json" --json >"$T/g2.json" 2>&1
G2=$(jq -r .id "$T/g2.json")
adm A grant token "$G2" --ttl 1 --json >"$T/t2.json" 2>&1
sleep 2.2
got=$(rawreq "$URL_A" "$T/pki/ca.pem" POST /federation/enroll "$(enroll_body "$(jq -r .token "$T/t2.json")" extra)")
check "an expired token is refused (401 has expired)" bash -c "[ $got = 401 ] && grep -q 'token for grant .* has expired' '$T/body'"
check "  with its own wire code enrollment_token_expired" test "$(jq -r .error "$T/body")" = enrollment_token_expired
check "  and audited" audit_has "$DB_A" "token for grant $G2 has expired"

adm A grant token "$G2" --json >"$T/t3.json" 2>&1
adm A grant revoke "$G2" --yes --reason "test" >/dev/null 2>&1
got=$(rawreq "$URL_A" "$T/pki/ca.pem" POST /federation/enroll "$(enroll_body "$(jq -r .token "$T/t3.json")" extra)")
check "a token of a revoked grant is refused (403 revoked)" bash -c "[ $got = 403 ] && grep -q 'is revoked' '$T/body'"
check "  with its own wire code grant_revoked" test "$(jq -r .error "$T/body")" = grant_revoked
check "  and audited" audit_has "$DB_A" "grant $G2 is revoked"
check "the refused token stays unused and the grant revoked" \
  test "$(sqlite3 "$DB_A" "SELECT count(*) FROM fed_tokens WHERE grant_id='$G2' AND used_at IS NULL") $(sqlite3 "$DB_A" "SELECT status FROM fed_grants WHERE id='$G2'")" = "2 revoked"

rawreq "$URL_A" "$T/pki/ca.pem" GET /federation/ca >/dev/null
req admin POST /admin/federation/grants '{"user_id":"carol","peer_id":"fabric-y","scope":{"resources":["tenants"]},"expires_in":2}' >/dev/null
G3=$(jq_body .id)
req admin POST "/admin/federation/grants/$G3/tokens" '{}' >/dev/null
T3=$(jq_body .token)
sleep 2.5
got=$(rawreq "$URL_A" "$T/pki/ca.pem" POST /federation/enroll "$(enroll_body "$T3" extra)")
check "a token of an expired grant is refused (403 grant has expired)" bash -c "[ $got = 403 ] && grep -q 'grant .* has expired' '$T/body'"
check "  with its own wire code grant_expired" test "$(jq -r .error "$T/body")" = grant_expired
check "  and audited" audit_has "$DB_A" "grant $G3 has expired"
adm A grant list --status expired --json >"$T/out" 2>&1
check "grant list --status expired" test "$(jq -r '.grants[0].id' "$T/out")" = "$G3"

# ---- scoped reads by the enrolled peer (through B's registry, which opens the sealed key) ----
for t in t1 t2 t3; do req admin POST /tenants "{\"name\":\"$t\",\"quota_mem\":0}" >/dev/null; done
adm B peer read fabric-b tenants --json >"$T/read.json" 2>"$T/err"
check "the peer reads tenants (in scope)" test "$(jq -r '.remote.resource' "$T/read.json")" = tenants
check "at most max_rows_per_query (2) rows" test "$(jq -r '.remote.rows | length' "$T/read.json")" = 2
adm B peer read fabric-b cells >"$T/out" 2>&1; rc=$?
check "an excluded resource is refused (403, exit 13)" bash -c "[ $rc = 13 ] && grep -q 'not in the scope' '$T/out'"
adm B peer read fabric-b fenced-leases >"$T/out" 2>&1; rc=$?
check "a resource outside the scope is refused (403)" bash -c "[ $rc = 13 ] && grep -q 'not in the scope' '$T/out'"
URL=$URL_A
expect_status "a fabric-admin certificate is no peer" 401 admin GET /federation/tenants

# ---- the other way round: A enrolls with B ----
scope bscope '{"resources":["cells"],"max_rows_per_query":5}'
adm B grant create --user dave --peer fabric-a --scope "$T/bscope.json" --json >"$T/gb.json" 2>&1
adm B grant token "$(jq -r .id "$T/gb.json")" --json >"$T/tb.json" 2>&1
jq -r .enrollment_url "$T/tb.json" | adm A peer add - >"$T/out" 2>&1
check "peer add - (A enrolls with B, the URL read from stdin)" grep -q "enrolled peer fabric-a" "$T/out"
adm A peer read fabric-a cells --json >"$T/out" 2>&1
check "A reads B's cells" test "$(jq -r '.remote.resource' "$T/out")" = cells

# ---- a fabric whose peer keys live in a PKCS#11 token (serve --peer-key-token) ----
eval "$(sh "$GRAFOS_SOURCE_ROOT/tests/support/softhsm-token.sh" "$T/tok" peers 2>"$T/tok.err")"
start_fabric C "$B" "$T/c.db" "$INT_B_CERT" "$INT_B_KEY" "" --peer-key-token "$GRAFOS_TEST_PKCS11_URI" ||
  { echo "Bail out! C"; exit 1; }
scope tscope '{"resources":["tenants"],"max_rows_per_query":1}'
adm A grant create --user hsm --peer fabric-c --scope "$T/tscope.json" --json >"$T/gc.json" 2>&1
adm A grant token "$(jq -r .id "$T/gc.json")" --json >"$T/tc.json" 2>&1
"$ADMIN" peer add "$(jq -r .enrollment_url "$T/tc.json")" --scheduler "$URL_C" --cert "$B/admin.pem" \
  --key "$B/admin-key.pem" --ca "$B/ca.pem" >"$T/out" 2>&1
check "peer add with the key generated in the token" grep -q "enrolled peer fabric-c" "$T/out"
"$ADMIN" peer read fabric-c tenants --json --scheduler "$URL_C" --cert "$B/admin.pem" \
  --key "$B/admin-key.pem" --ca "$B/ca.pem" >"$T/out" 2>&1
check "  the token key serves the peer's reads (row limit 1)" test "$(jq -r '.remote.rows | length' "$T/out")" = 1
check "  the database holds only the key's reference (no sealed key, no PIN)" \
  test "$(sqlite3 "$T/c.db" "SELECT sealed_key = '' AND instr(key_ref, 'object=peer-fabric-c') > 0 AND instr(key_ref, 'pin-value') = 0 FROM fed_peers")" = 1
stop_fabric C

# ---- revocation: 401 on the next request, certificate on the intermediate's CRL ----
SERIAL=$(openssl x509 -in "$T/peer.pem" -noout -serial | cut -d= -f2)
adm A grant revoke "$G1" --yes --reason "offboarded" >/dev/null 2>&1
adm B peer read fabric-b tenants >"$T/out" 2>&1; rc=$?
check "after revoke the peer's next request is refused (401, exit 12)" bash -c "[ $rc = 12 ] && grep -q 'revoked' '$T/out'"
got=$(curl -sS --max-time 20 --cacert "$T/pki/ca.pem" -o "$T/int.crl.der" \
  -w '%{http_code} %{content_type}' "$URL_A/api/v1/federation/crl" 2>"$T/curl.err")
check "GET /federation/crl answers 200 application/pkix-crl ($got)" test "$got" = "200 application/pkix-crl"
openssl crl -inform DER -in "$T/int.crl.der" -out "$T/int.crl" 2>/dev/null
check "GET /federation/crl serves a DER CRL signed by the intermediate" \
  openssl crl -in "$T/int.crl" -CAfile "$INT_A_CERT" -noout
n1=$(openssl crl -in "$T/int.crl" -noout -crlnumber)
curl -sS --max-time 20 --cacert "$T/pki/ca.pem" -o "$T/int2.crl.der" "$URL_A/api/v1/federation/crl" 2>/dev/null
n2=$(openssl crl -inform DER -in "$T/int2.crl.der" -noout -crlnumber 2>&1)
check "a second fetch with nothing revoked since is the same CRL, not a new signature ($n1, $n2)" \
  cmp -s "$T/int.crl.der" "$T/int2.crl.der"
check "  listing the revoked peer certificate" bash -c "openssl crl -in '$T/int.crl' -noout -text | tr -d ' :' | grep -qi 'SerialNumber$SERIAL'"
cat "$T/pki/ca.pem" "$INT_A_CERT" >"$T/chainA.pem"
check "openssl verify -crl_check refuses the revoked peer certificate" \
  bash -c "! openssl verify -CAfile '$T/pki/ca.pem' -untrusted '$INT_A_CERT' -CRLfile '$T/int.crl' -crl_check '$T/peer.pem'"
adm A grant revoke "$G1" --yes >"$T/out" 2>&1
check "revoking again is a conflict (exit 14)" test $? = 14

# ---- a registry told to issue a wrong certificate is refused by peer add ----
start_fabric W "$T/pki" "$T/w.db" "$INT_A_CERT" "$INT_A_KEY" "$T/sealA" --enroll-test-wrong-oids ||
  { echo "Bail out! W"; exit 1; }
URL=$URL_W
req admin POST /admin/federation/grants '{"user_id":"erin","peer_id":"fabric-w","scope":{"resources":["tenants"]}}' >/dev/null
req admin POST "/admin/federation/grants/$(jq_body .id)/tokens" '{}' >/dev/null
adm B peer add "$(jq_body .enrollment_url)" >"$T/out" 2>&1; rc=$?
check "peer add refuses a certificate whose grant OID does not match (exit 3)" bash -c "[ $rc = 3 ] && grep -q 'is refused' '$T/out'"
check "  and stores no certificate" test "$(sqlite3 "$DB_B" "SELECT status FROM fed_peers WHERE peer_id='fabric-w'")" = pending
stop_fabric W

# ---- a wrong pin is refused before anything is sent ----
URL=$URL_A
req admin POST /admin/federation/grants '{"user_id":"f","peer_id":"fabric-z","scope":{"resources":["tenants"]}}' >/dev/null
req admin POST "/admin/federation/grants/$(jq_body .id)/tokens" '{}' >/dev/null
BADURL=$(jq_body .enrollment_url | sed "s/ca_sha256=$FP_A/ca_sha256=$(printf '%064d' 0)/")
adm B peer add "$BADURL" >"$T/out" 2>&1; rc=$?
check "a URL pinning another CA is refused (TLS, exit 11)" bash -c "[ $rc = 11 ] && grep -q 'not the fingerprint' '$T/out'"
check "  and B made no key for it" test "$(sqlite3 "$DB_B" "SELECT count(*) FROM fed_peers WHERE peer_id='fabric-z'")" = 0

# ---- races: 50 enrollments with one token; 50 tokens of one grant ----
req admin POST /admin/federation/grants '{"user_id":"g","peer_id":"race-1","scope":{"resources":["tenants"]}}' >/dev/null
GR=$(jq_body .id)
req admin POST "/admin/federation/grants/$GR/tokens" '{}' >/dev/null
TR=$(jq_body .token)
enroll_body "$TR" extra >"$T/rbody.json"
for i in $(seq 1 50); do
  curl -sS --max-time 30 --cacert "$T/pki/ca.pem" -o /dev/null -w '%{http_code}\n' -X POST \
    -H 'Content-Type: application/json' --data-binary @"$T/rbody.json" "$URL_A/api/v1/federation/enroll" >"$T/race.$i" 2>/dev/null &
done
wait_curls() { for _ in $(seq 1 300); do [ "$(cat "$T"/"$1".* 2>/dev/null | wc -l)" -ge 50 ] && return; sleep 0.1; done; }
wait_curls race
check "50 concurrent enrollments with one token: exactly one certificate" \
  test "$(cat "$T"/race.* | grep -c '^201$') $(sqlite3 "$DB_A" "SELECT count(*) FROM fed_issued WHERE grant_id='$GR'")" = "1 1"
check "  the other 49 are refused as already used" test "$(cat "$T"/race.* | grep -c '^409$')" = 49

req admin POST /admin/federation/grants '{"user_id":"g","peer_id":"race-2","scope":{"resources":["tenants"]}}' >/dev/null
GR2=$(jq_body .id)
for i in $(seq 1 50); do
  req admin POST "/admin/federation/grants/$GR2/tokens" '{}' >/dev/null
  enroll_body "$(jq_body .token)" extra >"$T/many.body.$i"
done
for i in $(seq 1 50); do
  curl -sS --max-time 30 --cacert "$T/pki/ca.pem" -o "$T/many.out.$i" -w '%{http_code}\n' -X POST \
    -H 'Content-Type: application/json' --data-binary @"$T/many.body.$i" "$URL_A/api/v1/federation/enroll" >"$T/many.$i" 2>/dev/null &
done
wait_curls many
check "50 tokens of one grant racing: the grant is activated exactly once" \
  test "$(cat "$T"/many.? "$T"/many.?? | grep -c '^201$') $(sqlite3 "$DB_A" "SELECT count(*) FROM fed_issued WHERE grant_id='$GR2'")" = "1 1"
check "  the others are refused with 'already active'" \
  test "$(grep -l 'already active' "$T"/many.out.* | wc -l)" = 49

# ---- the seal secret from GRAFOS_SEAL_SECRET opens the same sealed key ----
stop_fabric A
GRAFOS_SEAL_SECRET=$(cat "$T/sealA") start_fabric A "$T/pki" "$DB_A" "$INT_A_CERT" "$INT_A_KEY" "" ||
  { echo "Bail out! A2"; exit 1; }
adm A peer read fabric-a cells --json >"$T/out" 2>&1
check "GRAFOS_SEAL_SECRET instead of --seal-secret-file opens the sealed key" test "$(jq -r '.remote.resource' "$T/out")" = cells

# ---- seal: another secret cannot open the key (clear error, no garbage key) ----
stop_fabric B
head -c 32 /dev/urandom | base64 >"$T/sealB2"; chmod 600 "$T/sealB2"
start_fabric B "$B" "$DB_B" "$INT_B_CERT" "$INT_B_KEY" "$T/sealB2" || { echo "Bail out! B2"; exit 1; }
adm B peer read fabric-b tenants >"$T/out" 2>&1; rc=$?
stop_fabric A
sqlite3 "$DB_A" "UPDATE fed_peers SET sealed_key = substr(sealed_key, 1, 40) || (CASE substr(sealed_key, 41, 1) WHEN 'A' THEN 'B' ELSE 'A' END) || substr(sealed_key, 42) WHERE peer_id = 'fabric-a'"
start_fabric A "$T/pki" "$DB_A" "$INT_A_CERT" "$INT_A_KEY" "$T/sealA" || { echo "Bail out! A3"; exit 1; }
adm A peer read fabric-a cells >"$T/out2" 2>&1; rc2=$?
check "a modified sealed row is a clear error, never a garbage key (exit 14)" bash -c "[ $rc2 = 14 ] && grep -q 'does not open with this registry' '$T/out2'"
check "a wrong seal secret is a clear error, never a garbage key (exit 14)" bash -c "[ $rc = 14 ] && grep -q 'does not open with this registry' '$T/out'"
check "seal-secret file wider than 0600 is refused at startup" bash -c "chmod 644 '$T/sealB2'; ! '$REGISTRY' serve --listen 127.0.0.1:0 --db '$T/x.db' --cert '$B/server.pem' --key '$B/server-key.pem' --client-ca '$B/ca.pem' --seal-secret-file '$T/sealB2' 2>&1 | tee /dev/stderr | grep -q listening"

finish
