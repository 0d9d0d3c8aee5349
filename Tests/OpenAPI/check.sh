#!/usr/bin/env bash
# Checks a running Scepter against the OpenAPI document it serves: the
# document must be valid OpenAPI 3.1, and schemathesis-generated requests
# must get documented status codes, content types, headers and bodies, and
# never a 5xx.
#
#   SCEPTER_URL=http://127.0.0.1:8080 SCEPTER_ADMIN_TOKEN=... Tests/OpenAPI/check.sh
#
# SCEPTER_VIEWER_TOKEN (optional) adds a pass with a viewer token, so the
# 403 answers of admin operations are checked too. The tools live in a venv
# under Tests/OpenAPI/.venv, created on first run (needs PyPI).
# Environment knobs: CHECK_MAX_EXAMPLES (default 25 per operation),
# CHECK_TIMEOUT (default 300 s for each schemathesis pass), CHECK_SEED.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/.venv"
spec_validator_version="0.9.0"
schemathesis_version="4.32.5"
max_examples="${CHECK_MAX_EXAMPLES:-25}"
time_cap="${CHECK_TIMEOUT:-300}"
seed="${CHECK_SEED:-1}"

: "${SCEPTER_URL:?set SCEPTER_URL, e.g. http://127.0.0.1:8080}"
: "${SCEPTER_ADMIN_TOKEN:?set SCEPTER_ADMIN_TOKEN (scepter dev prints it; also <data-dir>/admin-token)}"
base="${SCEPTER_URL%/}"
viewer="${SCEPTER_VIEWER_TOKEN:-}"

started=$SECONDS
results=()
failed=0
record() { # name, status
    results+=("$(printf '%-52s %s' "$1" "$2")")
    [[ "$2" == PASS* ]] || failed=1
}
summary() {
    echo
    echo "== OpenAPI check summary ($((SECONDS - started)) s) against $base"
    for line in "${results[@]}"; do echo "  $line"; done
    if ((failed)); then echo "== FAILED"; else echo "== PASSED"; fi
}
trap summary EXIT

# (a) The tools, pinned, in a venv of their own.
wanted="openapi-spec-validator==$spec_validator_version schemathesis==$schemathesis_version"
if [[ ! -x "$venv/bin/schemathesis" || ! -x "$venv/bin/openapi-spec-validator" || "$(cat "$venv/.pinned" 2>/dev/null)" != "$wanted" ]]; then
    command -v python3 > /dev/null || { echo "check.sh: python3 is required (Debian: apt-get install -y python3 python3-venv)" >&2; exit 2; }
    if ! python3 -c 'import ensurepip, venv' 2> /dev/null; then
        echo "check.sh: this python3 cannot create a venv with pip (no ensurepip)." >&2
        echo "          On Debian/Ubuntu install it first:  apt-get install -y python3-venv" >&2
        exit 2
    fi
    echo "== Creating $venv ($wanted)"
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check $wanted
    echo "$wanted" > "$venv/.pinned"
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"; summary' EXIT

# (b) The document the server serves is valid OpenAPI 3.1.
# (schemathesis leaves this operation out: it is the document it loads.)
document="$work/openapi.yaml"
if ! served_type="$(curl -fsS --max-time 10 -o "$document" -w '%{content_type}' "$base/api/v1/openapi.yaml")"; then
    record "fetch $base/api/v1/openapi.yaml" "FAIL (is the server running?)"
    exit 1
fi
if [[ "$served_type" == application/yaml* ]]; then
    record "GET /api/v1/openapi.yaml is application/yaml" "PASS"
else
    record "GET /api/v1/openapi.yaml is application/yaml" "FAIL (Content-Type: $served_type)"
fi
if "$venv/bin/openapi-spec-validator" --schema 3.1 "$document"; then
    record "openapi-spec-validator (OpenAPI 3.1)" "PASS"
else
    record "openapi-spec-validator (OpenAPI 3.1)" "FAIL"
    exit 1
fi

# (c) Property-based tests of every operation, bounded in examples and time.
# Checks: no 5xx, documented status codes, content types, headers and bodies,
# and that operations needing a token refuse requests without one.
checks="not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance"
# One worker: with two, hypothesis' lambda descriptions call ast.parse from
# threads, which Python < 3.11.8 can fail with a spurious "SystemError: AST
# constructor recursion depth mismatch" (CPython gh-106905).
run_schemathesis() { # label, token, extra checks
    local label="$1" token="$2" extra="$3" rc=0
    echo
    echo "== schemathesis: $label"
    timeout --kill-after=10 "$time_cap" "$venv/bin/schemathesis" run "$base/api/v1/openapi.yaml" \
        --url "$base" \
        --header "Authorization: Bearer $token" \
        --checks "$checks$extra" \
        --max-examples "$max_examples" \
        --seed "$seed" \
        --generation-database none \
        --workers 1 \
        --request-timeout 20 \
        --no-color \
        --report junit --report-dir "$work/report-$label" || rc=$?
    case $rc in
        0) record "schemathesis ($label, $max_examples examples/op)" "PASS" ;;
        124 | 137) record "schemathesis ($label)" "FAIL (over the ${time_cap}s cap)" ;;
        *) record "schemathesis ($label)" "FAIL (exit $rc; see the output above)" ;;
    esac
}
run_schemathesis admin "$SCEPTER_ADMIN_TOKEN" ",ignored_auth"
if [[ -n "$viewer" ]]; then
    run_schemathesis viewer "$viewer" ""
else
    record "schemathesis (viewer)" "PASS (skipped: no SCEPTER_VIEWER_TOKEN)"
fi
((failed == 0))
