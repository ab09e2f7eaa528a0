#!/usr/bin/env bash
# Interop: every certificate grafos-ca issues (CA, each client role, server) is checked by
# independent verifiers: `openssl verify -x509_strict` with the right -purpose (and refused with
# a wrong one), Botan's x509_path_validate (tests/interop/botan_verify.cpp) and GnuTLS
# `certtool --verify --verify-purpose`; its SAN reads back exactly as requested and its
# extensions match DESIGN.md section 4.
#
# Usage: certs_test.sh file|softhsm BOTAN_VERIFY   (TAP on stdout; run by meson test)
. "$(dirname "$0")/lib.sh"

backend=${1:?backend file|softhsm}
BOTAN=${2:?path of botan_verify}

readonly OID_CLIENT=1.3.6.1.5.5.7.3.2 OID_SERVER=1.3.6.1.5.5.7.3.1 OID_CODE=1.3.6.1.5.5.7.3.3

case "$backend" in
  file) ca_init "$WORK/ca" >"$WORK/init.log" 2>&1 || bail "init-ca: $(cat "$WORK/init.log")" ;;
  softhsm)
    softhsm_token fabric-ca || bail "cannot create a SoftHSMv2 token"
    ca_init "$WORK/ca" "$(softhsm_uri fabric-ca ca-key)" >"$WORK/init.log" 2>&1 ||
      bail "init-ca --key pkcs11: $(cat "$WORK/init.log")"
    expect_eq "softhsm: init-ca wrote no ca-key.pem" "absent" \
      "$([ -e "$WORK/ca/ca-key.pem" ] && echo present || echo absent)"
    ;;
  *) bail "unknown backend $backend" ;;
esac
CA="$WORK/ca/ca.pem"

# ext NAME CERT: the value lines of one extension, joined with '|', after its header line
# "X509v3 <Name>: [critical]" which comes first.
ext() {
  openssl x509 -in "$2" -noout -ext "$1" 2>/dev/null | sed 's/^ *//; s/ *$//' | paste -sd'|'
}

# ski_method1 CERT: RFC 5280 method 1 key identifier (SHA-1 of the subjectPublicKey bits) of a
# P-256 certificate, as openssl prints it (AA:BB:...).
ski_method1() {
  openssl x509 -in "$1" -noout -pubkey | openssl pkey -pubin -outform DER | tail -c 65 |
    openssl dgst -sha1 -binary | od -An -tx1 | tr -d '\n' | sed 's/^ //; s/ /:/g' |
    tr 'a-f' 'A-F'
}

# Checks shared by every certificate: version, algorithms, serial, SKI/AKI, UTF8String subject.
SERIALS=()
check_common() {
  local name=$1 cert=$2 subject=$3 text serial aki
  text=$(openssl x509 -in "$cert" -noout -text 2>&1)
  expect_match "$name: X.509 v3" '^ *Version: 3 \(0x2\)$' "$text"
  expect_eq "$name: ecdsa-with-SHA256 (tbs and outer)" "2" \
    "$(printf '%s\n' "$text" | grep -c 'Signature Algorithm: ecdsa-with-SHA256$')"
  expect_match "$name: P-256 key" '^ *ASN1 OID: prime256v1$' "$text"
  expect_eq "$name: subject is exactly one UTF8String CN" "subject=$subject" \
    "$(openssl x509 -in "$cert" -noout -subject -nameopt RFC2253,show_type)"
  serial=$(openssl x509 -in "$cert" -noout -serial | sed 's/^serial=//')
  # 20 random bytes with the top bit cleared: positive, DER content at most 20 octets; fewer
  # than 17 only with probability < 2^-22.
  if [[ "$serial" =~ ^([0-7][0-9A-F]{39}|([0-9A-F]{2}){17,19})$ ]]; then
    tap_result 0 "$name: serial positive, 17-20 octets, top bit clear ($serial)"
  else
    tap_result 1 "$name: serial positive, 17-20 octets, top bit clear" "serial=$serial"
  fi
  local s
  for s in "${SERIALS[@]}"; do
    [ "$s" == "$serial" ] && tap_result 1 "$name: serial unique in this run" "reused $serial"
  done
  SERIALS+=("$serial")
  expect_eq "$name: SKI is RFC 5280 method 1" "X509v3 Subject Key Identifier:|$(ski_method1 "$cert")" \
    "$(ext subjectKeyIdentifier "$cert")"
  aki=$(ext authorityKeyIdentifier "$cert" | sed 's/keyid://')
  expect_eq "$name: AKI keyid is the CA's SKI" "X509v3 Authority Key Identifier:|$(ski_method1 "$CA")" \
    "$aki"
}

# check_leaf NAME CERT SUBJECT SAN OSSL_PURPOSE OSSL_WRONG BOTAN_USAGE BOTAN_WRONG OID OID_WRONG
#            EKU_TEXT [HOSTNAMES]
check_leaf() {
  local name=$1 cert=$2 subject=$3 san=$4 purpose=$5 wrong=$6 busage=$7 bwrong=$8 oid=$9
  local oid_wrong=${10} eku_text=${11} hosts=${12:-} host beku=() botan_out
  [ "$oid" == "$OID_CODE" ] && beku=(--eku "$OID_CODE")

  expect_ok "$name: openssl verify -x509_strict -purpose $purpose" \
    openssl verify -x509_strict -CAfile "$CA" -purpose "$purpose" "$cert"
  local w
  for w in $wrong; do
    expect_fail "$name: openssl verify -purpose $w refuses it" \
      openssl verify -x509_strict -CAfile "$CA" -purpose "$w" "$cert"
  done
  expect_ok "$name: Botan x509_path_validate $busage" "$BOTAN" "${beku[@]}" "$CA" "$cert" "$busage"
  expect_fail "$name: Botan x509_path_validate $bwrong refuses it" "$BOTAN" "$CA" "$cert" "$bwrong"
  expect_ok "$name: certtool --verify --verify-purpose=$oid" \
    certtool --verify --load-ca-certificate "$CA" --infile "$cert" --verify-purpose="$oid"
  expect_fail "$name: certtool --verify-purpose=$oid_wrong refuses it" \
    certtool --verify --load-ca-certificate "$CA" --infile "$cert" --verify-purpose="$oid_wrong"
  expect_fail "$name: openssl verify against another CA refuses it" \
    openssl verify -x509_strict -CAfile "$WORK/other-ca/ca.pem" -purpose "$purpose" "$cert"

  expect_eq "$name: SAN reads back exactly" "X509v3 Subject Alternative Name:|$san" \
    "$(ext subjectAltName "$cert")"
  expect_eq "$name: critical basicConstraints CA:FALSE (no pathlen)" \
    "X509v3 Basic Constraints: critical|CA:FALSE" "$(ext basicConstraints "$cert")"
  expect_eq "$name: critical keyUsage digitalSignature only" \
    "X509v3 Key Usage: critical|Digital Signature" "$(ext keyUsage "$cert")"
  expect_eq "$name: EKU exactly $eku_text" "$eku_text" \
    "$(ext extendedKeyUsage "$cert" | cut -d'|' -f2-)"
  check_common "$name" "$cert" "$subject"

  # Botan's own decoding of the same fields.
  botan_out=$("$BOTAN" --print "${beku[@]}" "$CA" "$cert" "$busage" 2>&1)
  expect_match "$name: Botan sees a critical CA:FALSE" '^ca false$' "$botan_out"
  expect_match "$name: Botan sees a critical basicConstraints" \
    '^basic_constraints_critical true$' "$botan_out"
  expect_match "$name: Botan sees a critical keyUsage" '^key_usage_critical true$' "$botan_out"
  expect_match "$name: Botan sees EKU $oid" "^eku ${oid//./\\.}\$" "$botan_out"
  expect_eq "$name: Botan reads the same serial" \
    "serial $(openssl x509 -in "$cert" -noout -serial | sed 's/^serial=//')" \
    "$(printf '%s\n' "$botan_out" | grep '^serial ')"
  if [[ "$san" == URI:* ]]; then
    expect_eq "$name: Botan reads the same URI SAN" "san $san" \
      "$(printf '%s\n' "$botan_out" | grep '^san ')"
  fi

  for host in $hosts; do
    local flag=-verify_hostname
    [[ "$host" =~ ^[0-9.]+$|: ]] && flag=-verify_ip
    expect_ok "$name: openssl verify $flag $host" \
      openssl verify -x509_strict -CAfile "$CA" -purpose "$purpose" "$flag" "$host" "$cert"
    expect_fail "$name: openssl verify -verify_hostname wrong.example refuses it" \
      openssl verify -x509_strict -CAfile "$CA" -purpose "$purpose" -verify_hostname wrong.example "$cert"
    expect_ok "$name: Botan validates hostname $host" "$BOTAN" --hostname "$host" "$CA" "$cert" "$busage"
    expect_fail "$name: Botan refuses hostname wrong.example" \
      "$BOTAN" --hostname wrong.example "$CA" "$cert" "$busage"
    expect_ok "$name: certtool --verify-hostname=$host" certtool --verify \
      --load-ca-certificate "$CA" --infile "$cert" --verify-purpose="$oid" --verify-hostname="$host"
    expect_fail "$name: certtool --verify-hostname=wrong.example refuses it" certtool --verify \
      --load-ca-certificate "$CA" --infile "$cert" --verify-purpose="$oid" \
      --verify-hostname=wrong.example
  done
}

# A second, unrelated CA (file key) for the negative checks.
"$GRAFOS_CA" init-ca --out "$WORK/other-ca" --cn "Other CA" >/dev/null 2>&1 ||
  bail "init-ca of the other CA failed"

# --- the CA certificate itself ---
expect_ok "CA: openssl verify -x509_strict -purpose crlsign (self-signed, trusted)" \
  openssl verify -x509_strict -CAfile "$CA" -purpose crlsign "$CA"
expect_fail "CA: openssl verify -purpose sslclient refuses the CA as a leaf" \
  openssl verify -x509_strict -CAfile "$CA" -purpose sslclient "$CA"
expect_ok "CA: Botan x509_path_validate ca" "$BOTAN" "$CA" "$CA" ca
expect_fail "CA: Botan x509_path_validate tls-client refuses it" "$BOTAN" "$CA" "$CA" tls-client
expect_ok "CA: certtool --verify" certtool --verify --load-ca-certificate "$CA" --infile "$CA"
expect_eq "CA: critical basicConstraints CA:TRUE, pathlen:1 (default --path-len)" \
  "X509v3 Basic Constraints: critical|CA:TRUE, pathlen:1" "$(ext basicConstraints "$CA")"
expect_eq "CA: critical keyUsage keyCertSign, cRLSign" \
  "X509v3 Key Usage: critical|Certificate Sign, CRL Sign" "$(ext keyUsage "$CA")"
expect_eq "CA: no EKU, no SAN, no name constraints" "" \
  "$(ext extendedKeyUsage,subjectAltName,nameConstraints "$CA")"
expect_eq "CA: self-issued with the default CN" "issuer=CN=fabricBIOS Fabric CA" \
  "$(openssl x509 -in "$CA" -noout -issuer -nameopt RFC2253)"
check_common "CA" "$CA" "CN=UTF8STRING:fabricBIOS Fabric CA"

# --- client roles ---
role_cert() { # role_cert ROLE NAME ARGS...: issues into $WORK/NAME, prints the cert path.
  local role=$1 name=$2
  shift 2
  if issue_client "$WORK/ca" "$CA_KEY" "$WORK/$name" "$role" "$@" >"$WORK/$name.log" 2>&1 &&
    [ -s "$WORK/$name/client.pem" ]; then
    tap_result 0 "$name: grafos-ca issue-cert --role $role ($backend key)"
    return 0
  fi
  tap_result 1 "$name: grafos-ca issue-cert --role $role ($backend key)" "$(cat "$WORK/$name.log")"
  return 1
}

if role_cert tenant tenant --tenant acme-corp.1; then
  check_leaf tenant "$WORK/tenant/client.pem" "CN=UTF8STRING:acme-corp.1" \
    "URI:urn:fabricbios:tenant:acme-corp.1" sslclient sslserver tls-client tls-server \
    "$OID_CLIENT" "$OID_SERVER" "TLS Web Client Authentication"
fi
if role_cert fabric-observer fabric-observer; then
  check_leaf fabric-observer "$WORK/fabric-observer/client.pem" "CN=UTF8STRING:fabric-observer" \
    "URI:urn:fabricbios:fabric-observer" sslclient sslserver tls-client tls-server \
    "$OID_CLIENT" "$OID_SERVER" "TLS Web Client Authentication"
fi
if role_cert fabric-admin fabric-admin; then
  check_leaf fabric-admin "$WORK/fabric-admin/client.pem" "CN=UTF8STRING:fabric-admin" \
    "URI:urn:fabricbios:fabric-admin" sslclient sslserver tls-client tls-server \
    "$OID_CLIENT" "$OID_SERVER" "TLS Web Client Authentication"
fi
if role_cert cell cell --provider aws-east-1 --cell-id 18446744073709551615; then
  check_leaf cell "$WORK/cell/client.pem" "CN=UTF8STRING:cell aws-east-1/18446744073709551615" \
    "URI:urn:fabricbios:cell:aws-east-1:18446744073709551615" sslclient sslserver tls-client \
    tls-server "$OID_CLIENT" "$OID_SERVER" "TLS Web Client Authentication"
fi
# OpenSSL 3.0 has no code-signing purpose: -purpose any must pass, the TLS purposes must not.
if role_cert provenance-signer provenance-signer --pipeline ami-bake; then
  check_leaf provenance-signer "$WORK/provenance-signer/client.pem" \
    "CN=UTF8STRING:provenance-signer ami-bake" "URI:urn:fabricbios:provenance-signer:ami-bake" \
    any "sslclient sslserver" any tls-client "$OID_CODE" "$OID_CLIENT" "Code Signing"
fi

# --- server ---
if issue_server "$WORK/ca" "$CA_KEY" "$WORK/server" "127.0.0.1,::1,localhost,ca.fabric.example" \
  >"$WORK/server.log" 2>&1 && [ -s "$WORK/server/server.pem" ]; then
  tap_result 0 "server: grafos-ca issue-server-cert ($backend key)"
  check_leaf server "$WORK/server/server.pem" "CN=UTF8STRING:127.0.0.1" \
    "IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1, DNS:localhost, DNS:ca.fabric.example" \
    sslserver sslclient tls-server tls-client "$OID_SERVER" "$OID_CLIENT" \
    "TLS Web Server Authentication" "127.0.0.1 localhost ca.fabric.example"
else
  tap_result 1 "server: grafos-ca issue-server-cert ($backend key)" "$(cat "$WORK/server.log")"
fi

tap_finish
