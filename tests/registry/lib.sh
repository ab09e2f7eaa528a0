# Shared fixture for the grafos-registry server tests (TAP). Sourced by each *_test.sh.
# Certificates come from grafos-ca (init-ca, issue-cert, issue-server-cert). The openssl CLI makes
# only the deliberately bad ones grafos-ca refuses to issue on purpose (expired, serverAuth-only or
# no EKU, two URN SANs, case/percent variants, no URN), signed with the same grafos-ca CA key.
set -u
REGISTRY=${GRAFOS_REGISTRY:?GRAFOS_REGISTRY must point at the grafos-registry binary}
GCA=${GRAFOS_CA:?GRAFOS_CA must point at the grafos-ca binary}
export SSL_CERT_FILE=/dev/null
T=$(mktemp -d "${TMPDIR:-/tmp}/grafos-reg.XXXXXX")
SERVER_PID=""
_n=0
_failed=0
EXTRA_PIDS=()
cleanup() {
  stop_server
  for p in "${EXTRA_PIDS[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  rm -rf "$T"
}
trap cleanup EXIT

ok() { _n=$((_n + 1)); echo "ok $_n - $*"; }
not_ok() { _n=$((_n + 1)); _failed=$((_failed + 1)); echo "not ok $_n - $*"; }
check() { # check "description" command...
  local d=$1; shift
  if "$@" >"$T/check.out" 2>&1; then ok "$d"; else not_ok "$d"; sed 's/^/# /' "$T/check.out" | head -20; fi
}
finish() { echo "1..$_n"; [ "$_failed" -eq 0 ]; }

# ---- PKI ----
_key() { openssl ecparam -name prime256v1 -genkey -noout -out "$1" 2>/dev/null; chmod 600 "$1"; }
_ext() { # file, san-line-or-empty, eku
  {
    echo "basicConstraints=critical,CA:FALSE"; echo "keyUsage=critical,digitalSignature"
    [ -n "$3" ] && echo "extendedKeyUsage=$3"
    [ -n "$2" ] && echo "subjectAltName=$2"
    echo "subjectKeyIdentifier=hash"; echo "authorityKeyIdentifier=keyid"
  } >"$1"
}
# bad NAME CN SAN EKU [days]: a certificate grafos-ca refuses to make, signed by the fabric CA key
# with the openssl CLI -> $T/pki/NAME.pem, NAME-key.pem
bad() {
  local name=$1 cn=$2 san=$3 eku=$4 days=${5:-30}
  local d=$T/pki
  _key "$d/$name-key.pem"
  openssl req -new -key "$d/$name-key.pem" -subj "/CN=$cn" -out "$d/$name.csr" 2>/dev/null
  _ext "$d/$name.ext" "$san" "$eku"
  openssl x509 -req -in "$d/$name.csr" -CA "$d/ca.pem" -CAkey "$d/ca-key.pem" \
    -CAcreateserial -days "$days" -sha256 -extfile "$d/$name.ext" -out "$d/$name.pem" 2>/dev/null
}
# gca NAME [CA-PREFIX] -- grafos-ca issue-cert flags: -> $T/pki/NAME.pem, NAME-key.pem
gca() {
  local name=$1 ca=ca; shift
  [ "${1-}" != -- ] && { ca=$1; shift; }
  shift # --
  local d=$T/pki
  "$GCA" issue-cert --ca-cert "$d/$ca.pem" --ca-key "$d/$ca-key.pem" --out "$d/$name.d" "$@" \
    >"$d/$name.log" 2>&1 || { echo "# grafos-ca issue-cert $*: $(cat "$d/$name.log")"; return 1; }
  mv "$d/$name.d/client.pem" "$d/$name.pem"; mv "$d/$name.d/client-key.pem" "$d/$name-key.pem"
  rmdir "$d/$name.d"
}
make_pki() {
  local d=$T/pki
  mkdir -p "$d"
  "$GCA" init-ca --out "$d" >"$d/ca.log" 2>&1 || { echo "# grafos-ca init-ca: $(cat "$d/ca.log")"; return 1; }
  # The foreign CA is a second, unrelated grafos-ca CA.
  "$GCA" init-ca --out "$d/foreign" --cn "Some Other CA" >"$d/foreign.log" 2>&1 ||
    { echo "# grafos-ca init-ca (foreign): $(cat "$d/foreign.log")"; return 1; }
  mv "$d/foreign/ca.pem" "$d/foreign-ca.pem"; mv "$d/foreign/ca-key.pem" "$d/foreign-ca-key.pem"
  "$GCA" issue-server-cert --ca-cert "$d/ca.pem" --ca-key "$d/ca-key.pem" --san 127.0.0.1,localhost \
    --out "$d" >"$d/server.log" 2>&1 || { echo "# grafos-ca issue-server-cert: $(cat "$d/server.log")"; return 1; }
  gca tenant-acme -- --tenant acme
  gca tenant-beta -- --tenant beta
  gca observer -- --role fabric-observer
  gca admin -- --role fabric-admin
  gca cell -- --role cell --provider aws --cell-id 7
  gca foreign foreign-ca -- --role fabric-admin
  # What grafos-ca will not issue, on purpose:
  bad expired fabric-admin "URI:urn:fabricbios:fabric-admin" clientAuth -1
  bad server-eku fabric-admin "URI:urn:fabricbios:fabric-admin" serverAuth
  bad no-eku fabric-admin "URI:urn:fabricbios:fabric-admin" ""
  bad two-urn fabric-admin "URI:urn:fabricbios:fabric-admin,URI:urn:fabricbios:tenant:acme" clientAuth
  bad case-urn fabric-admin "URI:urn:fabricbios:Fabric-Admin" clientAuth
  bad upper-urn fabric-admin "URI:URN:fabricbios:fabric-admin" clientAuth
  bad pct-urn acme "URI:urn:fabricbios:tenant:ac%6de" clientAuth
  bad no-urn fabric-admin "DNS:admin.example" clientAuth
  # CA-as-client: the fabric CA's own certificate and key.
  cp "$d/ca.pem" "$d/ca-as-client.pem"; cp "$d/ca-key.pem" "$d/ca-as-client-key.pem"
}

# ---- server ----
# start_server DBFILE [extra serve args...]; sets PORT, SERVER_PID, URL.
# SERVER_CERT / SERVER_KEY override the server's certificate and key (path or pkcs11: URI).
start_server() {
  local db=$1; shift
  rm -f "$T/ready"
  SERVER_LOG=$T/server-$RANDOM.log
  "$REGISTRY" serve --listen 127.0.0.1:0 --db "$db" --cert "${SERVER_CERT:-$T/pki/server.pem}" \
    --key "${SERVER_KEY:-$T/pki/server-key.pem}" --client-ca "$T/pki/ca.pem" --ready-file "$T/ready" \
    --threads "${REG_THREADS:-8}" "$@" >"$SERVER_LOG" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 100); do
    [ -s "$T/ready" ] && break
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.05
  done
  PORT=$(cat "$T/ready" 2>/dev/null || echo 0)
  URL=https://127.0.0.1:$PORT
  cp "$SERVER_LOG" "$T/server.log" 2>/dev/null
  [ "$PORT" != 0 ]
}
# detach_server: keep the running server out of stop_server (cleanup still stops it)
detach_server() { EXTRA_PIDS+=("$SERVER_PID"); SERVER_PID=""; }
stop_server() {
  if [ -n "$SERVER_PID" ]; then
    kill "$SERVER_PID" 2>/dev/null
    wait "$SERVER_PID" 2>/dev/null
    SERVER_PID=""
  fi
}

# req WHO METHOD PATH [BODY] -> prints HTTP status on line 1 of $T/status, body in $T/body.
# WHO: a cert name under $T/pki, "none" (no client cert), or "bearer:TOKEN" (no client cert).
req() {
  local who=$1 method=$2 path=$3 body=${4-}
  local args=(-sS --max-time 10 --cacert "$T/pki/ca.pem" -o "$T/body" -w '%{http_code}' -X "$method")
  case "$who" in
    none) ;;
    bearer:*) args+=(-H @"$T/authhdr"); printf 'Authorization: Bearer %s\n' "${who#bearer:}" >"$T/authhdr" ;;
    *+bearer:*)
      local c=${who%%+bearer:*}
      args+=(--cert "$T/pki/$c.pem" --key "$T/pki/$c-key.pem" -H @"$T/authhdr")
      printf 'Authorization: Bearer %s\n' "${who#*+bearer:}" >"$T/authhdr" ;;
    *) args+=(--cert "$T/pki/$who.pem" --key "$T/pki/$who-key.pem") ;;
  esac
  # POST/DELETE always carry a Content-Length (0 when there is no body), as real clients do.
  if [ -n "$body" ]; then args+=(-H 'Content-Type: application/json' --data-binary "$body")
  elif [ "$method" = POST ]; then args+=(--data-binary ''); fi
  curl "${args[@]}" "$URL/api/v1$path" >"$T/status" 2>"$T/curl.err" || true
  cat "$T/status"
}
# expect_status DESC WANT WHO METHOD PATH [BODY]
expect_status() {
  local d=$1 want=$2; shift 2
  local got
  got=$(req "$@")
  if [ "$got" = "$want" ]; then ok "$d ($want)"; else
    not_ok "$d: want $want got $got"; echo "# body: $(head -c 300 "$T/body" 2>/dev/null)"; echo "# curl: $(head -c 300 "$T/curl.err")"; fi
}
jq_body() { jq -r "$1" "$T/body"; }
sql() { sqlite3 "$1" "$2"; }
# expect_refused_tls DESC WHO METHOD PATH [BODY]: the handshake (or first read) fails, no HTTP answer.
expect_refused_tls() {
  local d=$1; shift
  local got
  got=$(req "$@")
  # 000 = no HTTP answer. Under TLS 1.3 the refusal shows on the first read: an alert, a reset,
  # an empty reply or a broken pipe. A dead server (connection refused) or a hang is not a pass.
  if [ "$got" = "000" ] && [ -s "$T/curl.err" ] && ! grep -qiE 'Connection refused|timed out' "$T/curl.err"; then
    ok "$d (TLS refused)"
  else
    not_ok "$d: want a TLS refusal, got HTTP $got"; echo "# body: $(head -c 200 "$T/body" 2>/dev/null)"
  fi
}
# mint TENANT-CERT TENANT BODY -> prints lease id
mint() {
  local body='{"mem":1}'
  [ $# -ge 3 ] && body=$3
  req "$1" POST "/tenants/$2/leases" "$body" >/dev/null
  jq -r .lease_id "$T/body"
}
# audit_count FILTER_JQ: number of audit entries (via the admin API, which flushes first)
audit_count() {
  req admin GET "/admin/audit?limit=1000&$1" >/dev/null
  jq '.entries | length' "$T/body"
}
