#!/usr/bin/env bash
# Regenerates the committed seed corpora under Fuzz/corpus/<target>/ (run
# from anywhere, after `scripts/fuzz --build-only`). Seeds come from three
# places: each fuzz binary writes the ones made in code with the fixtures'
# keys (SCEPTER_FUZZ_WRITE_SEEDS), the OpenSSL command line makes CSRs of
# every key and signature algorithm and OCSP requests (`openssl ocsp
# -reqout`), and the interop fixtures of Tests/ScepterProtocolTests are
# copied in. Keys are made afresh, so the bytes differ on every run.
set -euo pipefail
cd "$(dirname "$0")/.."
fixtures=Tests/ScepterProtocolTests/Fixtures
corpus=Fuzz/corpus
binaries=.build-fuzz/release
targets=(pkimessage envelope csr issuer-and-serial intune-challenge intune-claim query ocsp)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
: >"$work/empty.cnf"
export OPENSSL_CONF="$work/empty.cnf"

for target in "${targets[@]}"; do
    rm -rf "${corpus:?}/$target"
    mkdir -p "$corpus/$target"
    SCEPTER_FUZZ_WRITE_SEEDS="$corpus/$target" "$binaries/fuzz-$target"
done

# CSRs of each key and signature algorithm, with a challengePassword.
cat >"$work/req.cnf" <<'CNF'
[ req ]
prompt             = no
distinguished_name = dn
attributes         = attributes
req_extensions     = extensions
[ dn ]
CN = fuzz-device
O  = Scepter Fuzz
[ attributes ]
challengePassword = s3cret-challenge
[ extensions ]
subjectAltName = DNS:fuzz-device.example, email:fuzz@example.com, IP:192.0.2.1, IP:2001:db8::1, URI:https://fuzz-device.example/id, otherName:1.3.6.1.4.1.311.20.2.3;UTF8:fuzz@corp.example
CNF
csr() { # name, key options..., -- , req options...
    local name=$1; shift
    local keyopts=() reqopts=()
    while [[ "$1" != -- ]]; do keyopts+=("$1"); shift; done
    shift
    reqopts=("$@")
    openssl genpkey -quiet "${keyopts[@]}" -out "$work/$name.key"
    openssl req -new -config "$work/req.cnf" -key "$work/$name.key" "${reqopts[@]}" -outform DER -out "$corpus/csr/openssl-$name.der"
}
csr rsa2048-sha256 -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -- -sha256
csr rsa2048-pss -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -- -sha256 -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:32
csr rsa2048-sha224 -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -- -sha224
csr rsa1024-sha256 -algorithm RSA -pkeyopt rsa_keygen_bits:1024 -- -sha256
csr p256-sha256 -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -- -sha256
csr p256-sha224 -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -- -sha224
csr p384-sha384 -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -- -sha384
csr p521-sha512 -algorithm EC -pkeyopt ec_paramgen_curve:P-521 -- -sha512
csr ed25519 -algorithm ED25519 --
cp "$fixtures/csr-tampered.der" "$corpus/csr/fixture-csr-tampered.der"

# OCSP requests about the fixtures' CA: with and without a nonce, SHA-1 and SHA-256 CertIDs, several questions.
ca="$fixtures/ca-cert.pem"
openssl ocsp -issuer "$ca" -serial 0x1003 -reqout "$corpus/ocsp/nonce-sha1.der" 2>/dev/null
openssl ocsp -issuer "$ca" -serial 0x1003 -no_nonce -reqout "$corpus/ocsp/no-nonce-sha1.der" 2>/dev/null
openssl ocsp -sha256 -issuer "$ca" -serial 0x1003 -reqout "$corpus/ocsp/nonce-sha256.der" 2>/dev/null
openssl ocsp -issuer "$ca" -serial 0x1003 -serial 0x1004 -serial 0x00ff -reqout "$corpus/ocsp/three-questions.der" 2>/dev/null
openssl ocsp -issuer "$fixtures/other-cert.pem" -serial 0x1 -reqout "$corpus/ocsp/other-issuer.der" 2>/dev/null
# The same requests as an RFC 5019 GET's path tail: base64, percent-encoded, URL-safe without padding.
for der in "$corpus"/ocsp/nonce-sha1.der "$corpus"/ocsp/three-questions.der; do
    name=$(basename "$der" .der)
    base64 -w0 "$der" >"$corpus/ocsp/get-$name.txt"
    base64 -w0 "$der" | sed 's/+/%2B/g; s/\//%2F/g; s/=/%3D/g' >"$corpus/ocsp/get-$name-escaped.txt"
    base64 -w0 "$der" | tr '+/' '-_' | tr -d '=' >"$corpus/ocsp/get-$name-urlsafe.txt"
done

# The interop fixtures: SignedData without SCEP attributes, EnvelopedData of every cipher (behind a PKCSReq type byte).
for file in "$fixtures"/signed-data*.der "$fixtures/degenerate-ca-ra.p7b"; do
    cp "$file" "$corpus/pkimessage/fixture-$(basename "$file")"
done
for file in "$fixtures"/env-*.der; do
    { printf '\x00'; cat "$file"; } >"$corpus/envelope/fixture-$(basename "$file")"
done
du -sh "$corpus"
