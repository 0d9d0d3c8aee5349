#!/usr/bin/env bash
# Measures what relying parties cost the control plane: OCSP answers per
# second on one core (a cached answer, and a nonced one the responder must
# sign), and the time to sign a CRL with 100 000 revoked entries.
#
#   Benchmarks/publication/run.sh [--binary .build-release/release/scepter] [--seconds 15] [--revoked 100000]
#
# The server (`scepter dev`, SQLite) is pinned to CPU 0 and wrk to CPU 1;
# server CPU is read from /proc, so figures are per server core. Needs wrk,
# sqlite3, openssl, curl and micromdm's client (Tests/Interop/build.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."

binary=.build-release/release/scepter
seconds=15
revoked=100000
while (($#)); do
    case "$1" in
    --binary) binary=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --revoked) revoked=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
    esac
done
for tool in wrk sqlite3 openssl curl taskset; do command -v "$tool" > /dev/null || { echo "needs $tool" >&2; exit 2; }; done
[[ -x $binary ]] || { echo "no server binary at $binary (swift build -c release --product scepter --scratch-path .build-release)" >&2; exit 2; }
Tests/Interop/build.sh > /dev/null

work=$(mktemp -d)
trap 'kill "$server" 2> /dev/null || true; wait 2> /dev/null || true; rm -rf "$work"' EXIT

start_server() {
    SCEPTER_LOG_LEVEL=warning taskset -c 0 "$binary" dev --data-dir "$work/data" --port 0 --host 127.0.0.1 > "$work/banner" 2> "$work/server.log" &
    server=$!
    for _ in $(seq 1 100); do
        port=$(grep -o 'http://127.0.0.1:[0-9]*' "$work/banner" 2> /dev/null | head -1 | sed 's/.*://') || true
        [[ -n ${port:-} ]] && return
        sleep 0.1
    done
    echo "the server did not start" >&2
    exit 1
}

cpu_ticks() { awk '{print $14 + $15}' "/proc/$server/stat"; }

# One wrk run against $1 with the DER request in $2; prints requests/s and server CPU ms per request.
measure() {
    local url=$1 request=$2
    cat > "$work/post.lua" << LUA
local file = io.open("$request", "rb")
wrk.method = "POST"
wrk.body = file:read("*a")
file:close()
wrk.headers["Content-Type"] = "application/ocsp-request"
LUA
    # Warm up (signs the cacheable answer once), then measure.
    taskset -c 1 wrk -t1 -c16 -d2s -s "$work/post.lua" "$url" > /dev/null
    local before after
    before=$(cpu_ticks)
    taskset -c 1 wrk -t1 -c16 -d"${seconds}s" -s "$work/post.lua" "$url" > "$work/wrk.out"
    after=$(cpu_ticks)
    local requests
    requests=$(awk '/requests in/ {print $1}' "$work/wrk.out")
    local hz
    hz=$(getconf CLK_TCK)
    awk -v r="$requests" -v s="$seconds" -v t=$((after - before)) -v hz="$hz" \
        'BEGIN { cpu = t / hz; printf "%.0f answers/s, %.3f ms server CPU per answer, %.0f answers per server-core second\n", r / s, cpu * 1000 / r, r / cpu }'
}

start_server
echo "server: $binary (pid $server, port $port, pinned to CPU 0)"
Tests/Interop/.bin/scepclient -url "http://127.0.0.1:$port/scep" -challenge "$(cat "$work/data/challenge")" -cn bench \
    -cert-out "$work/bench.pem" > /dev/null
openssl ocsp -issuer "$work/data/ca.pem" -cert "$work/bench.pem" -no_nonce -reqout "$work/cached.der" > /dev/null
openssl ocsp -issuer "$work/data/ca.pem" -cert "$work/bench.pem" -reqout "$work/nonced.der" > /dev/null
echo "OCSP, cached answer (RFC 5019: no nonce):     $(measure "http://127.0.0.1:$port/ocsp/dev" "$work/cached.der")"
echo "OCSP, signed per request (nonce, P-256):      $(measure "http://127.0.0.1:$port/ocsp/dev" "$work/nonced.der")"
openssl speed -seconds 2 ecdsap256 2> /dev/null | awk '/256 bits ecdsa/ {printf "  (openssl speed: ECDSA P-256 sign %.3f ms on this machine)\n", 1000 / $(NF - 1)}'

# CRL with many entries: revoked rows written straight into the dev database.
kill "$server"; wait "$server" 2> /dev/null || true
sqlite3 "$work/data/scepter.db" << SQL
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $revoked)
INSERT INTO certificates (serial, issuer, profile, subject, sans, not_before, not_after, status, transaction_id, device_id, der, created_at)
SELECT printf('4%031x', i), 'dev', 'default', 'CN=bench-' || i, '', '2026-01-01T00:00:00.000Z', '2027-01-01T00:00:00.000Z', 'revoked',
    'bench-' || i, NULL, x'00', '2026-01-01T00:00:00.000Z' FROM n;
INSERT INTO revocations (serial, issuer, revoked_at, reason, actor)
SELECT serial, 'dev', '2026-06-01T00:00:00.000Z', 'keyCompromise', 'bench' FROM certificates WHERE transaction_id LIKE 'bench-%';
SQL
start_server
first=$(curl -s -o "$work/dev.crl" -w '%{time_total}' "http://127.0.0.1:$port/crl/dev.crl")
second=$(curl -s -o /dev/null -w '%{time_total}' "http://127.0.0.1:$port/crl/dev.crl")
entries=$(openssl crl -inform DER -in "$work/dev.crl" -noout -text | grep -c 'Serial Number')
echo "CRL with $entries revoked entries: $(stat -c %s "$work/dev.crl") bytes; first request (read + sign) ${first}s, cached ${second}s"
openssl crl -inform DER -in "$work/dev.crl" -CAfile "$work/data/ca.pem" -noout 2>&1 | sed 's/^/  openssl crl: /'
