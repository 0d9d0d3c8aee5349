#!/usr/bin/env bash
# Regenerates the SCEP interop fixtures in this folder with the OpenSSL 3 CLI.
# Run from this folder:  ./make-fixtures.sh
#
# Fixed inputs: subjects, serial numbers, validity dates (2025-01-01 .. 2035-01-01),
# extensions, algorithms. Things that still change on every run: the keys, and every
# signature / ciphertext that depends on them, CMS content-encryption keys and IVs,
# RSA encryption padding, ECDSA nonces, and the CMS signingTime attribute.
# Everything is verified at the end, so a clean exit means the set is consistent.
set -euo pipefail

cd "$(dirname "$0")"
if [[ ! -f make-fixtures.sh ]]; then
    echo "run this from the Fixtures folder" >&2
    exit 1
fi

# Pin the configuration so /etc/ssl/openssl.cnf cannot change the output.
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
: > "$WORK/empty.cnf"
export OPENSSL_CONF="$WORK/empty.cnf"

NOT_BEFORE=250101000000Z   # 2025-01-01 00:00:00 UTC
NOT_AFTER=350101000000Z    # 2035-01-01 00:00:00 UTC (10 years)
LEGACY=(-provider legacy -provider default)   # single DES lives in the legacy provider

rm -f .keep

########################################################################
# Config files (written to a temp dir, never kept).
########################################################################

# Self-signed certificates are made with `openssl ca -selfsign`, because OpenSSL 3.0's
# `req -x509` / `x509` cannot set a fixed notBefore/notAfter.
cat > "$WORK/ca.cnf" <<EOF
[ ca ]
default_ca = fixture_ca

[ fixture_ca ]
database        = $WORK/index.txt
new_certs_dir   = $WORK
serial          = $WORK/serial
default_md      = sha256
policy          = policy_any
email_in_dn     = no
unique_subject  = no
copy_extensions = none
preserve        = yes

[ policy_any ]
commonName = supplied

[ ext_ra ]
basicConstraints     = CA:FALSE
keyUsage             = critical, digitalSignature, keyEncipherment
subjectKeyIdentifier = hash

[ ext_leaf ]
basicConstraints     = CA:FALSE
keyUsage             = critical, digitalSignature, keyEncipherment
subjectKeyIdentifier = hash

[ ext_ca ]
basicConstraints       = critical, CA:TRUE
keyUsage               = critical, keyCertSign, cRLSign
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always
EOF

# Request config for csr-full.der: challengePassword attribute + extensionRequest (-reqexts v3_req).
cat > "$WORK/req.cnf" <<'EOF'
[ req ]
prompt             = no
utf8               = yes
string_mask        = utf8only
distinguished_name = dn_full
attributes         = req_attributes

[ dn_full ]
CN = device-1
O  = Scepter Fixtures

[ req_attributes ]
challengePassword = s3cret-challenge

[ v3_req ]
subjectAltName   = @alt_names
keyUsage         = digitalSignature, keyEncipherment
extendedKeyUsage = clientAuth

[ alt_names ]
DNS.1       = device-1.example.com
DNS.2       = alt.example.com
email.1     = alice@example.com
URI.1       = tag:microsoft.com,2022-09-14:sid:S-1-5-21-1004336348-1177238915-682003330-512
otherName.1 = 1.3.6.1.4.1.311.20.2.3;UTF8:alice@corp.example.com
EOF

# Request config without any attributes or extensions (csr-ec, csr-plain, and the
# throwaway CSRs behind the self-signed certs); the subject always comes from -subj.
cat > "$WORK/req-noattr.cnf" <<'EOF'
[ req ]
prompt             = no
utf8               = yes
string_mask        = utf8only
distinguished_name = dn

[ dn ]
CN = placeholder
EOF

# Request config with only a challengePassword (csr-sha1). string_mask "default" makes
# OpenSSL pick PrintableString for the CN and the challengePassword (csr-full uses
# UTF8String), so the tests see both encodings.
cat > "$WORK/req-sha1.cnf" <<'EOF'
[ req ]
prompt             = no
string_mask        = default
distinguished_name = dn
attributes         = req_attributes

[ dn ]
CN = sha1-device

[ req_attributes ]
challengePassword = s3cret-challenge
EOF

# selfsign NAME SERIAL SUBJECT EXTSECTION: NAME-key.pem -> NAME-cert.pem
selfsign() {
    local name=$1 serial=$2 subj=$3 ext=$4
    openssl req -new -config "$WORK/req-noattr.cnf" -key "$name-key.pem" -subj "$subj" \
        -out "$WORK/$name.csr"
    : > "$WORK/index.txt"
    echo "$serial" > "$WORK/serial"
    openssl ca -batch -config "$WORK/ca.cnf" -selfsign -keyfile "$name-key.pem" \
        -in "$WORK/$name.csr" -startdate "$NOT_BEFORE" -enddate "$NOT_AFTER" \
        -extensions "$ext" -notext -out "$name-cert.pem" 2> "$WORK/ca.log" \
        || { cat "$WORK/ca.log" >&2; exit 1; }
}

########################################################################
# 1-3, 11. Keys and self-signed certificates
########################################################################
for name in ra other device ca; do
    openssl genpkey -quiet -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$name-key.pem"
done
openssl genpkey -quiet -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
    -pkeyopt ec_param_enc:named_curve -out ec-key.pem
chmod 644 ./*-key.pem   # throwaway test keys; genpkey writes them 0600

selfsign ra     1001 "/CN=Scepter Fixture RA" ext_ra
selfsign other  1002 "/CN=Someone Else"       ext_leaf
selfsign device 1003 "/CN=device-1"           ext_leaf
selfsign ca     1000 "/CN=Scepter Fixture CA" ext_ca

########################################################################
# 4-8. PKCS#10 requests
########################################################################
openssl req -new -config "$WORK/req.cnf" -reqexts v3_req -key device-key.pem -sha256 \
    -outform DER -out csr-full.der

openssl req -new -config "$WORK/req-noattr.cnf" -key ec-key.pem -subj "/CN=ec-device" -sha256 \
    -outform DER -out csr-ec.der

openssl req -new -config "$WORK/req-noattr.cnf" -key device-key.pem -subj "/CN=plain-device" -sha256 \
    -outform DER -out csr-plain.der

openssl req -new -config "$WORK/req-sha1.cnf" -key device-key.pem -sha1 \
    -outform DER -out csr-sha1.der

# csr-tampered.der: flip the low bit of the last character of the subject CN value
# "device-1" -> "device-0". The subject is the first occurrence of the UTF8String
# 0c 08 "device-1" (the SAN dNSName is an IA5String "device-1.example.com").
python3 - <<'PY'
data = bytearray(open("csr-full.der", "rb").read())
needle = b"\x0c\x08device-1"
pos = data.find(needle)
assert pos >= 0, "subject CN not found"
off = pos + len(needle) - 1
assert off == 0x1f, f"unexpected offset {off:#x}; update README.md"
data[off] ^= 0x01
open("csr-tampered.der", "wb").write(data)
print(f"csr-tampered.der: flipped byte at offset {off} ({off:#x}): 0x31 '1' -> 0x30 '0'")
PY

########################################################################
# 9. CMS EnvelopedData around csr-full.der
########################################################################
enc() { openssl cms -encrypt -binary -outform DER -in csr-full.der "$@"; }

enc "${LEGACY[@]}" -des -out env-des.der ra-cert.pem
enc -des3   -out env-des3.der   ra-cert.pem
enc -aes128 -out env-aes128.der ra-cert.pem
enc -aes192 -out env-aes192.der ra-cert.pem
enc -aes256 -out env-aes256.der ra-cert.pem
enc -aes128 -recip ra-cert.pem -keyopt rsa_padding_mode:oaep -out env-aes128-oaep.der
enc -aes256 -recip ra-cert.pem -keyopt rsa_padding_mode:oaep -keyopt rsa_oaep_md:sha256 \
    -keyopt rsa_mgf1_md:sha256 -out env-aes256-oaep-sha256.der
enc -aes128 -out env-other.der other-cert.pem

########################################################################
# 10. CMS SignedData (no SCEP attributes) around env-aes128.der
########################################################################
for md in sha256 sha1 sha512; do
    out=signed-data-$md.der
    [[ $md == sha256 ]] && out=signed-data.der
    openssl cms -sign -binary -outform DER -nodetach -md "$md" \
        -signer device-cert.pem -inkey device-key.pem -in env-aes128.der -nosmimecap -out "$out"
done

########################################################################
# 11. Degenerate certs-only PKCS#7
########################################################################
openssl crl2pkcs7 -nocrl -certfile ca-cert.pem -certfile ra-cert.pem -outform DER \
    -out degenerate-ca-ra.p7b

########################################################################
# Verification
########################################################################
echo "== verifying"
fail() { echo "FAIL: $*" >&2; exit 1; }
pub_of_key()  { openssl pkey -in "$1" -pubout -outform DER | sha256sum; }
pub_of_cert() { openssl x509 -in "$1" -noout -pubkey | openssl pkey -pubin -outform DER | sha256sum; }

check_cert() {  # name subject keyusage
    local name=$1 subj=$2 ku=$3 text
    [[ "$(pub_of_key "$name-key.pem")" == "$(pub_of_cert "$name-cert.pem")" ]] \
        || fail "$name-cert.pem does not match $name-key.pem"
    # self-signature: verify the cert against its own public key
    openssl verify -check_ss_sig -partial_chain -CAfile "$name-cert.pem" "$name-cert.pem" >/dev/null \
        || fail "$name-cert.pem self-signature"
    [[ "$(openssl x509 -in "$name-cert.pem" -noout -subject -nameopt compat)" == "subject=$subj" ]] \
        || fail "$name-cert.pem subject"
    [[ "$(openssl x509 -in "$name-cert.pem" -noout -startdate)" == "notBefore=Jan  1 00:00:00 2025 GMT" ]] \
        || fail "$name-cert.pem notBefore"
    [[ "$(openssl x509 -in "$name-cert.pem" -noout -enddate)" == "notAfter=Jan  1 00:00:00 2035 GMT" ]] \
        || fail "$name-cert.pem notAfter"
    text=$(openssl x509 -in "$name-cert.pem" -noout -ext keyUsage)
    grep -q "$ku" <<<"$text" || fail "$name-cert.pem keyUsage: $text"
    openssl pkey -in "$name-key.pem" -check -noout >/dev/null || fail "$name-key.pem check"
    [[ "$(openssl pkey -in "$name-key.pem" -noout -text | head -1)" == "Private-Key: (2048 bit, 2 primes)" ]] \
        || fail "$name-key.pem is not RSA 2048"
    echo "ok   $name-key.pem / $name-cert.pem"
}
check_cert ra     "/CN=Scepter Fixture RA" "Digital Signature, Key Encipherment"
check_cert other  "/CN=Someone Else"       "Digital Signature, Key Encipherment"
check_cert device "/CN=device-1"           "Digital Signature, Key Encipherment"
check_cert ca     "/CN=Scepter Fixture CA" "Certificate Sign, CRL Sign"
openssl x509 -in ca-cert.pem -noout -ext basicConstraints | grep -q "critical" || fail "CA basicConstraints not critical"
openssl x509 -in ca-cert.pem -noout -ext basicConstraints | grep -q "CA:TRUE"  || fail "CA basicConstraints"
[[ "$(openssl pkey -in ec-key.pem -noout -text | grep 'NIST CURVE')" == "NIST CURVE: P-256" ]] || fail "ec-key.pem curve"
echo "ok   ec-key.pem"

# OpenSSL 3.0's `req -verify` exits 0 even when the signature is bad, so check its message.
req_ok()  { openssl req -verify -noout -inform DER -in "$1" 2>&1 | grep -qx "Certificate request self-signature verify OK"; }
req_txt() { openssl req -inform DER -in "$1" -noout -text; }
# attributes [0] present (it is not OPTIONAL in PKCS#10) but empty: "a0 00"
no_attrs() { openssl asn1parse -inform DER -in "$1" | grep -qE "d=2 +hl=2 l= +0 cons: cont \[ 0 \]"; }

req_ok csr-full.der || fail "csr-full.der signature"
t=$(req_txt csr-full.der)
for want in "Subject: CN = device-1, O = Scepter Fixtures" "challengePassword        :s3cret-challenge" \
            "DNS:device-1.example.com" "DNS:alt.example.com" "email:alice@example.com" \
            "URI:tag:microsoft.com,2022-09-14:sid:S-1-5-21-1004336348-1177238915-682003330-512" \
            "alice@corp.example.com" "Digital Signature, Key Encipherment" \
            "TLS Web Client Authentication" "sha256WithRSAEncryption"; do
    grep -qF -- "$want" <<<"$t" || fail "csr-full.der lacks: $want"
done
# UPN otherName: [0] { OID 1.3.6.1.4.1.311.20.2.3, [0] UTF8String "alice@corp.example.com" }
openssl asn1parse -inform DER -in csr-full.der \
    | grep -qF "A026060A2B060104018237140203A0180C16616C69636540636F72702E6578616D706C652E636F6D" \
    || fail "csr-full.der lacks the UPN otherName"
[[ "$(openssl req -inform DER -in csr-full.der -noout -pubkey | openssl pkey -pubin -outform DER | sha256sum)" \
   == "$(pub_of_key device-key.pem)" ]] || fail "csr-full.der key is not device-key.pem"
echo "ok   csr-full.der"

req_ok csr-ec.der || fail "csr-ec.der signature"
t=$(req_txt csr-ec.der)
grep -qF "Subject: CN = ec-device" <<<"$t" && grep -qF "ecdsa-with-SHA256" <<<"$t" \
    && grep -qF "NIST CURVE: P-256" <<<"$t" && no_attrs csr-ec.der || fail "csr-ec.der contents"
echo "ok   csr-ec.der"

req_ok csr-plain.der || fail "csr-plain.der signature"
t=$(req_txt csr-plain.der)
grep -qF "Subject: CN = plain-device" <<<"$t" && no_attrs csr-plain.der || fail "csr-plain.der contents"
echo "ok   csr-plain.der"

req_ok csr-sha1.der || fail "csr-sha1.der signature"
t=$(req_txt csr-sha1.der)
grep -qF "Subject: CN = sha1-device" <<<"$t" && grep -qF "sha1WithRSAEncryption" <<<"$t" \
    && grep -qF "challengePassword        :s3cret-challenge" <<<"$t" || fail "csr-sha1.der contents"
echo "ok   csr-sha1.der"

req_txt csr-tampered.der | grep -qF "Subject: CN = device-0, O = Scepter Fixtures" || fail "csr-tampered.der subject"
if req_ok csr-tampered.der; then fail "csr-tampered.der signature still verifies"; fi
[[ "$(cmp -l csr-full.der csr-tampered.der | wc -l)" == 1 ]] || fail "csr-tampered.der differs in more than one byte"
echo "ok   csr-tampered.der (parses, signature fails)"

dec() {  # file cert key [extra args...]
    local f=$1 cert=$2 key=$3; shift 3
    openssl cms -decrypt -binary -inform DER -in "$f" -recip "$cert" -inkey "$key" "$@" -out "$WORK/dec.bin"
    cmp -s "$WORK/dec.bin" csr-full.der || fail "$f does not decrypt to csr-full.der"
}
cms_txt() { openssl cms -cmsout -print -inform DER -in "$1" "${@:2}"; }
check_env() {  # file cipher-oid-name keyenc-name [extra args...]
    local f=$1 cipher=$2 keyenc=$3; shift 3
    dec "$f" ra-cert.pem ra-key.pem "$@"
    t=$(cms_txt "$f" "$@")
    grep -qF "contentType: pkcs7-envelopedData" <<<"$t" || fail "$f is not EnvelopedData"
    grep -qF "algorithm: $cipher " <<<"$t" || fail "$f content cipher is not $cipher"
    grep -qF "algorithm: $keyenc " <<<"$t" || fail "$f key encryption is not $keyenc"
    echo "ok   $f ($cipher, $keyenc)"
}
check_env env-des.der             des-cbc      rsaEncryption "${LEGACY[@]}"
check_env env-des3.der            des-ede3-cbc rsaEncryption
check_env env-aes128.der          aes-128-cbc  rsaEncryption
check_env env-aes192.der          aes-192-cbc  rsaEncryption
check_env env-aes256.der          aes-256-cbc  rsaEncryption
check_env env-aes128-oaep.der     aes-128-cbc  rsaesOaep
check_env env-aes256-oaep-sha256.der aes-256-cbc rsaesOaep
# RSAES-OAEP-params: empty SEQUENCE (SHA-1 / MGF1-SHA-1 defaults) vs. sha256 for both hash and MGF1
cms_txt env-aes128-oaep.der | grep -qE "OBJECT +:sha" && fail "env-aes128-oaep.der should use default SHA-1 OAEP params"
[[ "$(cms_txt env-aes256-oaep-sha256.der | grep -cE "OBJECT +:sha256$")" == 2 ]] \
    || fail "env-aes256-oaep-sha256.der OAEP hash/MGF1 hash not sha256"

if openssl cms -decrypt -binary -inform DER -in env-other.der -recip ra-cert.pem -inkey ra-key.pem \
        -out "$WORK/dec.bin" 2>/dev/null && cmp -s "$WORK/dec.bin" csr-full.der; then
    fail "env-other.der decrypts with the RA key"
fi
dec env-other.der other-cert.pem other-key.pem
echo "ok   env-other.der (only other-key.pem decrypts it)"

check_signed() {  # file digest-name
    local f=$1 md=$2
    openssl cms -verify -noverify -binary -inform DER -in "$f" -out "$WORK/content.bin" 2>/dev/null \
        || fail "$f signature"
    cmp -s "$WORK/content.bin" env-aes128.der || fail "$f content is not env-aes128.der"
    # -noverify skips the chain; also check the signer chains to the self-signed device cert.
    openssl cms -verify -binary -inform DER -in "$f" -CAfile device-cert.pem -purpose any \
        -out /dev/null 2>/dev/null || fail "$f does not verify against device-cert.pem"
    t=$(cms_txt "$f")
    # digestAlgorithms SET + SignerInfo.digestAlgorithm
    [[ "$(grep -c "algorithm: $md (" <<<"$t")" == 2 ]] || fail "$f digest is not $md"
    # OpenSSL writes rsaEncryption (not shaNNNWithRSAEncryption) as SignerInfo.signatureAlgorithm
    [[ "$(grep -E "^ +algorithm: " <<<"$t" | tail -1 | awk '{print $2}')" == rsaEncryption ]] || fail "$f signature alg"
    for attr in contentType signingTime messageDigest; do
        grep -qF "object: $attr (" <<<"$t" || fail "$f lacks signed attribute $attr"
    done
    grep -qF "SMIME Capabilities" <<<"$t" && fail "$f has smimeCapabilities"
    echo "ok   $f ($md)"
}
check_signed signed-data.der        sha256
check_signed signed-data-sha1.der   sha1
check_signed signed-data-sha512.der sha512

t=$(openssl pkcs7 -inform DER -in degenerate-ca-ra.p7b -print_certs -noout)
[[ "$(grep -c '^subject=' <<<"$t")" == 2 ]] || fail "degenerate-ca-ra.p7b cert count"
grep -qF "subject=CN = Scepter Fixture CA" <<<"$t" && grep -qF "subject=CN = Scepter Fixture RA" <<<"$t" \
    || fail "degenerate-ca-ra.p7b subjects"
openssl pkcs7 -inform DER -in degenerate-ca-ra.p7b -print | grep -A1 -E "^ +crl:" | grep -qF "<ABSENT>" \
    || fail "degenerate-ca-ra.p7b has CRLs"
echo "ok   degenerate-ca-ra.p7b"

echo "== all fixtures verified"
