#!/usr/bin/env bash
# Federation enrollment benchmark (issue 14): N enrollments against one grafos-registry whose
# enrollment intermediate key is in a private SoftHSMv2 token. Each enrollment is: mint a token for
# a pending grant (POST /api/v1/admin/federation/grants/{id}/tokens, fabric-admin mTLS), then
# redeem it with a CSR (POST /api/v1/federation/enroll: token check, issuance by the intermediate
# in SoftHSM, grant activation and certificate record in one SQLite transaction). The grants are
# created before the clock starts; the CSR (the peer's own work) is made once and reused. The
# client is Python's http.client over keep-alive TLS connections, CLIENTS threads in parallel.
# Prints enrollments/s end to end and the server's peak RSS (VmHWM). Targets: >= 200/s, < 100 MB.
# Usage: bench/federation.sh [BUILD_DIR] (default build). Env: N (default 1000), CLIENTS (default
# 8), REG_THREADS (server threads, default nproc).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(realpath "${1:-$ROOT/build}")
export GRAFOS_REGISTRY=$BUILD/tools/grafos-registry/grafos-registry
export GRAFOS_CA=$BUILD/tools/grafos-ca/grafos-ca
INIT_TOKEN=$BUILD/tests/support/p11_init_token
for f in "$GRAFOS_REGISTRY" "$GRAFOS_CA" "$INIT_TOKEN"; do
  [ -x "$f" ] || { echo "federation.sh: error: $f not built (ninja -C $BUILD)" >&2; exit 2; }
done
N=${N:-1000}
CLIENTS=${CLIENTS:-8}
. "$ROOT/tests/registry/lib.sh"
set +u
make_pki >/dev/null

echo "# grafos-registry federation enrollment benchmark"
echo "date:        $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "host:        $(nproc) CPUs, load before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "enrollments: $N, client threads: $CLIENTS"

# The intermediate's key in a private SoftHSM token (PINs in 0600 files, never argv).
mkdir -p "$T/softhsm/tokens"
printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' \
  "$T/softhsm/tokens" >"$T/softhsm/softhsm2.conf"
export SOFTHSM2_CONF="$T/softhsm/softhsm2.conf"
MODULE=/usr/lib/softhsm/libsofthsm2.so
[ -e "$MODULE" ] || MODULE=$(ls /usr/lib/*/softhsm/libsofthsm2.so | head -1)
(umask 077 && od -An -N12 -tx1 /dev/urandom | tr -d ' \n' >"$T/softhsm/user.pin" &&
  od -An -N8 -tx1 /dev/urandom | tr -d ' \n' >"$T/softhsm/so.pin")
"$INIT_TOKEN" "$MODULE" bench-int "$T/softhsm/so.pin" "$T/softhsm/user.pin" >/dev/null
INT_KEY="pkcs11:token=bench-int;object=int-key?module-path=$MODULE&pin-source=file:$T/softhsm/user.pin"
"$GRAFOS_CA" issue-intermediate --ca-cert "$T/pki/ca.pem" --ca-key "$T/pki/ca-key.pem" \
  --key "$INT_KEY" --out "$T/int" >"$T/int.log" 2>&1 || { cat "$T/int.log"; exit 1; }

REG_THREADS=${REG_THREADS:-$(nproc)} start_server "$T/db" --enroll-ca-cert "$T/int/intermediate.pem" \
  --enroll-ca-key "$INT_KEY" || { echo "registry did not start"; cat "$SERVER_LOG"; exit 1; }

openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=bench" \
  -keyout /dev/null -out "$T/peer.csr" 2>/dev/null

python3 - "$PORT" "$T" "$N" "$CLIENTS" <<'PY'
import http.client, json, ssl, sys, threading, time
port, t, n, clients = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
csr = open(f"{t}/peer.csr").read()

def ctx(admin):
    c = ssl.create_default_context(cafile=f"{t}/pki/ca.pem")
    if admin:
        c.load_cert_chain(f"{t}/pki/admin.pem", f"{t}/pki/admin-key.pem")
    return c

def call(conn, method, path, body):
    conn.request(method, "/api/v1" + path, body=json.dumps(body),
                 headers={"Content-Type": "application/json"})
    r = conn.getresponse()
    data = r.read()
    return r.status, json.loads(data) if data else None

admin = http.client.HTTPSConnection("127.0.0.1", port, context=ctx(True))
grants = []
for i in range(n):
    s, g = call(admin, "POST", "/admin/federation/grants",
                {"user_id": f"user{i}", "peer_id": f"peer-{i}", "scope": {"resources": ["tenants"]}})
    assert s == 201, (s, g)
    grants.append(g["id"])

failures = []
def worker(part):
    a = http.client.HTTPSConnection("127.0.0.1", port, context=ctx(True))
    p = http.client.HTTPSConnection("127.0.0.1", port, context=ctx(False))
    for gid in part:
        s, tok = call(a, "POST", f"/admin/federation/grants/{gid}/tokens", {"ttl": 900})
        if s != 201:
            failures.append((gid, s, tok)); continue
        s, cert = call(p, "POST", "/federation/enroll", {"token": tok["token"], "csr": csr})
        if s != 201:
            failures.append((gid, s, cert))

parts = [grants[i::clients] for i in range(clients)]
threads = [threading.Thread(target=worker, args=(p,)) for p in parts]
t0 = time.monotonic()
for th in threads: th.start()
for th in threads: th.join()
dt = time.monotonic() - t0
ok = n - len(failures)
print(f"enrollments: {ok} ok, {len(failures)} failed in {dt:.2f} s = {ok / dt:.0f}/s (target >= 200/s)")
if failures:
    print("first failure:", failures[0])
    sys.exit(1)
PY
RSS_KB=$(awk '/VmHWM/ {print $2}' "/proc/$SERVER_PID/status")
echo "server peak RSS (VmHWM): $((RSS_KB / 1024)) MB (target < 100 MB)"
ISSUED=$(sqlite3 "$T/db" "SELECT count(*) FROM fed_issued")
ACTIVE=$(sqlite3 "$T/db" "SELECT count(*) FROM fed_grants WHERE status='active'")
echo "recorded: $ISSUED certificates, $ACTIVE active grants"
