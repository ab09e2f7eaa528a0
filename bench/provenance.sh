#!/usr/bin/env bash
# Image-provenance benchmark: one command, results and ratios on stdout (see bench/README.md,
# section "Image provenance").
#
#   bench/provenance.sh [BUILD_DIR]     (default BUILD_DIR: build; needs grafos-ca built)
#
# Environment knobs: BENCH_FILES (default 200), BENCH_REPEAT (signed/unsigned verify runs for the
# signature overhead, default 40), BENCH_BIG_MIB (single-file size, default 1024).
#
# 1. An image of BENCH_FILES files (sizes 4-20 MiB, >= 2 GiB in total) generated in a temp dir
#    and read once so it is page-cached; then, in the same run, wall time and peak RSS (GNU time)
#    of `sha256sum`, `openssl dgst -sha256`, `grafos-ca image-provenance build` and `verify`
#    over the same files. Targets (2 cores): >= 1.6x faster than openssl dgst, >= 8x faster than
#    sha256sum, peak RSS < 64 MB.
# 2. One BENCH_BIG_MIB file: grafos-ca build and verify against openssl dgst -sha256 (SHA-256 of
#    one file is sequential: one core). Target: within 1.1x of openssl.
# 3. Signature overhead: verify of a signed bundle (--ca) minus verify of the unsigned record of
#    the same one-file image, averaged over BENCH_REPEAT runs each. Target < 5 ms.
set -euo pipefail

BUILD=${1:-build}
GRAFOS_CA=${GRAFOS_CA:-$BUILD/tools/grafos-ca/grafos-ca}
NFILES=${BENCH_FILES:-200}
REPEAT=${BENCH_REPEAT:-40}
BIG_MIB=${BENCH_BIG_MIB:-1024}
[ -x "$GRAFOS_CA" ] || { echo "provenance.sh: error: $GRAFOS_CA not built (ninja -C $BUILD)" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "provenance.sh: error: /usr/bin/time missing (scripts/install-deps.sh installs package 'time')" >&2; exit 2; }
GRAFOS_CA=$(realpath "$GRAFOS_CA")

W=$(mktemp -d "${TMPDIR:-/var/tmp}/grafos-bench-prov.XXXXXX")
trap 'rm -rf "$W"' EXIT
cd "$W"
export SSL_CERT_FILE=/dev/null

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
# measure NAME CMD...: runs CMD under GNU time; sets T_<NAME> (seconds) and M_<NAME> (peak RSS, KiB).
measure() {
  local name=$1
  shift
  /usr/bin/time -f '%e %M' -o "$W/time.out" "$@" >/dev/null
  read -r t m <"$W/time.out"
  printf -v "T_$name" '%s' "$t"
  printf -v "M_$name" '%s' "$m"
  printf '  %-28s %8.2f s  peak RSS %6.1f MB\n' "$name" "$t" "$(awk -v m="$m" 'BEGIN{print m/1024}')"
}

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')," \
  "sha_ni: $(grep -q sha_ni /proc/cpuinfo && echo yes || echo no), load average: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "openssl: $(openssl version)"

git init -q repo && (cd repo && echo x >f && git add f && git -c user.name=b -c user.email=b@e commit -qm i)

# ---- 1. many files
mkdir img
files=()
total=0
for ((i = 0; i < NFILES; i++)); do
  mib=$((4 + (i * 37) % 17))
  head -c $((mib << 20)) /dev/urandom >"img/bin$i"
  files+=("img/bin$i")
  total=$((total + mib))
done
cat "${files[@]}" >/dev/null  # page-cache the image
echo
echo "1. $NFILES files, $total MiB in total (page-cached)"
bins=()
for f in "${files[@]}"; do bins+=(--binary "$f"); done
measure sha256sum sha256sum "${files[@]}"
measure openssl_dgst openssl dgst -sha256 "${files[@]}"
measure grafos_build "$GRAFOS_CA" image-provenance build --image-kind bench --image-name bench \
  --repo repo "${bins[@]}" --output many.json
measure grafos_verify "$GRAFOS_CA" image-provenance verify --input many.json
echo "  build:  $(ratio "$T_openssl_dgst" "$T_grafos_build")x faster than openssl dgst (target >= 1.6)," \
  "$(ratio "$T_sha256sum" "$T_grafos_build")x faster than sha256sum (target >= 8)"
echo "  verify: $(ratio "$T_openssl_dgst" "$T_grafos_verify")x faster than openssl dgst," \
  "$(ratio "$T_sha256sum" "$T_grafos_verify")x faster than sha256sum"
echo "  throughput: build $(awk -v s="$total" -v t="$T_grafos_build" 'BEGIN{printf "%.0f", s/t}') MiB/s," \
  "openssl $(awk -v s="$total" -v t="$T_openssl_dgst" 'BEGIN{printf "%.0f", s/t}') MiB/s," \
  "sha256sum $(awk -v s="$total" -v t="$T_sha256sum" 'BEGIN{printf "%.0f", s/t}') MiB/s"
rm -rf img

# ---- 2. one big file
head -c $((BIG_MIB << 20)) /dev/urandom >big
cat big >/dev/null
echo
echo "2. one file of $BIG_MIB MiB (page-cached)"
measure openssl_big openssl dgst -sha256 big
measure grafos_build_big "$GRAFOS_CA" image-provenance build --image-kind bench --image-name bench \
  --repo repo --binary big --output big.json
measure grafos_verify_big "$GRAFOS_CA" image-provenance verify --input big.json
echo "  build/openssl: $(ratio "$T_grafos_build_big" "$T_openssl_big") (target <= 1.1)," \
  "verify/openssl: $(ratio "$T_grafos_verify_big" "$T_openssl_big")"
rm -f big

# ---- 3. signature overhead
openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca-key.pem \
  -out ca.pem -days 30 -subj "/CN=Bench CA" -addext "basicConstraints=critical,CA:TRUE" \
  -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout signer-key.pem \
  -out signer.csr -subj "/CN=provenance-signer bench" 2>/dev/null
printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature" \
  "extendedKeyUsage=codeSigning" "subjectAltName=URI:urn:fabricbios:provenance-signer:bench" >ext
openssl x509 -req -in signer.csr -CA ca.pem -CAkey ca-key.pem -set_serial 7 -days 30 \
  -extfile ext -out signer.pem 2>/dev/null
head -c 1048576 /dev/urandom >small
"$GRAFOS_CA" image-provenance build --image-kind bench --image-name bench --repo repo \
  --binary small --output small.json >/dev/null
"$GRAFOS_CA" image-provenance sign --input small.json --sign-key signer-key.pem \
  --sign-cert signer.pem --output small.bundle.json >/dev/null
loop() { local n; for ((n = 0; n < REPEAT; n++)); do "$@" >/dev/null; done; }
s0=$(date +%s%N); loop "$GRAFOS_CA" image-provenance verify --input small.json; s1=$(date +%s%N)
loop "$GRAFOS_CA" image-provenance verify --input small.bundle.json --ca ca.pem; s2=$(date +%s%N)
echo
echo "3. signed-bundle overhead ($REPEAT runs each, 1 MiB image)"
awk -v a="$((s1 - s0))" -v b="$((s2 - s1))" -v n="$REPEAT" 'BEGIN {
  printf "  verify record %.2f ms, verify bundle --ca %.2f ms, overhead %.2f ms (target < 5)\n",
    a / n / 1e6, b / n / 1e6, (b - a) / n / 1e6 }'
