#!/usr/bin/env bash
# TAP: grafos-ca links no network code and opens no AF_INET/AF_INET6 socket (DESIGN.md section 1).
set -u
ca_tool=${GRAFOS_CA_TOOL:?GRAFOS_CA_TOOL not set}
tmp=$(mktemp -d /tmp/grafos-nonet-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
echo "1..8"
n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() { n=$((n + 1)); echo "not ok $n - $1"; [ -n "${2:-}" ] && echo "# $2"; }
skip() { n=$((n + 1)); echo "ok $n - $1 # SKIP $2"; }

needed=$(readelf -d "$ca_tool" | grep NEEDED)
if echo "$needed" | grep -Eiq 'curl|httplib|nghttp|ssh2'; then
  notok "grafos-ca has no network library in NEEDED" "$needed"
else ok "grafos-ca has no network library in NEEDED"; fi

# Everything the loader maps at start, not only direct dependencies: no HTTP, SSH, TLS-socket,
# Kerberos or resolver library (libgit2 would bring all of those; image-provenance loads it only
# when it reads a repository).
libs=$(ldd "$ca_tool")
if echo "$libs" | grep -Eiq 'libcurl|httplib|http_parser|nghttp|ssh2|libssl\.|mbedtls|gnutls|gssapi|krb5|libresolv|libgit2'; then
  notok "ldd grafos-ca shows no network, TLS-socket or git-transport library" "$libs"
else ok "ldd grafos-ca shows no network, TLS-socket or git-transport library"; fi

syms=$(nm -C "$ca_tool" 2>/dev/null | grep -Eic 'httplib::|curl_easy' || true)
if [ "$syms" -ne 0 ]; then notok "no httplib/libcurl symbols linked into grafos-ca" "$syms found"
else ok "no httplib/libcurl symbols linked into grafos-ca"; fi

# A control: strace sees AF_INET when a program does open one (proves the check can fail).
if ! command -v strace >/dev/null; then
  skip "strace control" "strace not installed"; skip "grafos-ca opens no inet socket" "no strace"
  exit 0
fi
strace -f -e trace=socket -o "$tmp/control.trace" curl -s --max-time 1 http://127.0.0.1:1/ >/dev/null 2>&1
if grep -Eq 'AF_INET6?' "$tmp/control.trace"; then ok "strace control sees curl's AF_INET socket"
else notok "strace control sees curl's AF_INET socket" "$(cat "$tmp/control.trace")"; fi

if ! "$ca_tool" init-ca --out "$tmp/probe" >/dev/null 2>&1; then
  skip "grafos-ca init-ca/issue-cert open no AF_INET/AF_INET6 socket" "waiting for grafos-ca init-ca"
  exit 0
fi
rm -rf "$tmp/probe"
strace -f -e trace=socket,openat -o "$tmp/ca.trace.open" "$ca_tool" init-ca --out "$tmp/ca" >/dev/null 2>"$tmp/err1"
s1=$?
strace -f -e trace=socket -o "$tmp/cert.trace" "$ca_tool" issue-cert --ca-cert "$tmp/ca/ca.pem" \
  --ca-key "$tmp/ca/ca-key.pem" --tenant acme --out "$tmp/acme" >/dev/null 2>"$tmp/err2"
s2=$?
strace -f -e trace=socket -o "$tmp/srv.trace" "$ca_tool" issue-server-cert --ca-cert "$tmp/ca/ca.pem" \
  --ca-key "$tmp/ca/ca-key.pem" --san 127.0.0.1 --out "$tmp/srv" >/dev/null 2>"$tmp/err3"
s3=$?
if [ $s1 -ne 0 ] || [ $s2 -ne 0 ] || [ $s3 -ne 0 ]; then
  notok "grafos-ca init-ca/issue-cert/issue-server-cert open no AF_INET/AF_INET6 socket" \
    "a command failed: $s1 $s2 $s3 $(cat "$tmp"/err*)"
elif grep -E "AF_INET6?" "$tmp/ca.trace.open" "$tmp/cert.trace" "$tmp/srv.trace"; then
  notok "grafos-ca init-ca/issue-cert/issue-server-cert open no AF_INET/AF_INET6 socket"
else
  ok "grafos-ca init-ca/issue-cert/issue-server-cert open no AF_INET/AF_INET6 socket"
fi

# image-provenance build reads a git repository through libgit2 (loaded at run time) and verify
# re-hashes: neither opens an inet socket either.
if ! command -v git >/dev/null; then
  skip "image-provenance build/verify open no AF_INET/AF_INET6 socket" "git not installed"
  skip "image-provenance build recorded the repository's commit" "git not installed"
  skip "libgit2 is loaded only by image-provenance" "git not installed"
  exit 0
fi
mkdir -p "$tmp/repo" && (cd "$tmp/repo" && git init -q . && echo v1 >f && git add f &&
  git -c user.name=t -c user.email=t@e commit -q -m init)
printf 'binary' >"$tmp/bin1"
strace -f -e trace=socket,connect,openat -o "$tmp/prov.trace" "$ca_tool" image-provenance build \
  --image-kind lab --image-name probe --repo "$tmp/repo" --binary "$tmp/bin1" \
  --output "$tmp/prov.json" >/dev/null 2>"$tmp/err4"
s4=$?
strace -f -e trace=socket,connect -o "$tmp/provv.trace" "$ca_tool" image-provenance verify \
  --input "$tmp/prov.json" >/dev/null 2>"$tmp/err5"
s5=$?
if [ $s4 -ne 0 ] || [ $s5 -ne 0 ]; then
  notok "image-provenance build/verify open no AF_INET/AF_INET6 socket" \
    "a command failed: $s4 $s5 $(cat "$tmp/err4" "$tmp/err5")"
elif grep -E "AF_INET6?" "$tmp/prov.trace" "$tmp/provv.trace"; then
  notok "image-provenance build/verify open no AF_INET/AF_INET6 socket"
else
  ok "image-provenance build/verify open no AF_INET/AF_INET6 socket"
fi
head=$(git -C "$tmp/repo" rev-parse HEAD)
if grep -q "\"commit\": *\"$head\"" "$tmp/prov.json"; then
  ok "image-provenance build recorded the repository's commit"
else
  notok "image-provenance build recorded the repository's commit" "$(cat "$tmp/prov.json")"
fi
if grep -q 'libgit2' "$tmp/prov.trace" && ! grep -q 'libgit2' "$tmp/ca.trace.open" 2>/dev/null; then
  ok "libgit2 is loaded only by image-provenance"
else
  notok "libgit2 is loaded only by image-provenance" "$(grep -c libgit2 "$tmp/prov.trace") opens"
fi
