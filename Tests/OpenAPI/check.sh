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
summary() { # exit status of the script
    echo
    echo "== OpenAPI check summary ($((SECONDS - started)) s) against $base"
    for line in "${results[@]}"; do echo "  $line"; done
    if ((failed || $1)); then echo "== FAILED"; else echo "== PASSED"; fi
}
trap 'summary $?' EXIT

# (a) The tools, pinned with everything they pull in (the set this script
# was last proven with), in a venv of their own.
pins="annotated-types==0.8.0 anyio==4.16.0 attrs==26.1.0 certifi==2026.10.19.post1
charset-normalizer==3.5.3 click==8.5.1 graphql-core==3.3.2 harfile==0.6.0 hypothesis==6.170.17
hypothesis-graphql==0.13.5 idna==3.20 iniconfig==2.3.1 jsonschema==4.26.0 jsonschema-path==0.5.0
jsonschema-specifications==2025.9.1 jsonschema_rs==0.60.3 lazy-object-proxy==1.13.0
markdown-it-py==4.3.0 MarkupSafe==3.0.4 mdurl==0.1.2 openapi-schema-validator==0.9.0
openapi-spec-validator==$spec_validator_version packaging==26.4 pathable==0.6.0 pluggy==1.7.0
pydantic==2.14.4 pydantic-settings==2.16.3 pydantic_core==2.50.5 Pygments==2.21.0
pyrate-limiter==4.5.1 pytest==9.2.0 python-dotenv==1.2.4 PyYAML==6.0.4 referencing==0.37.0
requests==2.34.2 rfc3339-validator==0.1.4 rich==15.0.0 rpds-py==2026.9.1
schemathesis==$schemathesis_version six==1.17.0 sortedcontainers==2.4.0 typing-inspection==0.4.5
typing_extensions==4.16.0 urllib3==2.8.0 Werkzeug==3.1.9"
# Two checks may start at once (the interop and the cluster suites run this
# script side by side): the first makes the venv, the other waits for it.
exec 8> "$here/.venv.lock"
flock 8
if [[ ! -x "$venv/bin/schemathesis" || ! -x "$venv/bin/openapi-spec-validator" || "$(cat "$venv/.pinned" 2>/dev/null)" != "$pins" ]]; then
    command -v python3 > /dev/null || { echo "check.sh: python3 is required (Debian: apt-get install -y python3 python3-venv)" >&2; exit 2; }
    if ! python3 -c 'import ensurepip, venv' 2> /dev/null; then
        echo "check.sh: this python3 cannot create a venv with pip (no ensurepip)." >&2
        echo "          On Debian/Ubuntu install it first:  apt-get install -y python3-venv" >&2
        exit 2
    fi
    echo "== Creating $venv (openapi-spec-validator $spec_validator_version, schemathesis $schemathesis_version)"
    rm -rf "$venv"
    python3 -m venv "$venv"
    # shellcheck disable=SC2086 # one pin per word
    "$venv/bin/pip" install --quiet --disable-pip-version-check $pins
    echo "$pins" > "$venv/.pinned"
fi
flock -u 8

work="$(mktemp -d)"
trap 'status=$?; rm -rf "$work"; summary $status' EXIT

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

# The tokens are what they claim: otherwise every answer is a documented 401
# and schemathesis would pass without testing anything past authentication.
status_of() { # token, method, path
    curl -sS --max-time 10 -o /dev/null -w '%{http_code}' -X "$2" -H "Authorization: Bearer $1" "$base$3" || true
}
expect_status() { # label, want, token, method, path
    local got
    got="$(status_of "$3" "$4" "$5")"
    if [[ "$got" == "$2" ]]; then record "$1" "PASS"; else record "$1" "FAIL (got $got, want $2)"; fi
}
expect_status "admin token: GET stats is 200" 200 "$SCEPTER_ADMIN_TOKEN" GET /api/v1/admin/scep/intune/stats
if [[ -n "$viewer" ]]; then
    expect_status "viewer token: GET profiles is 200" 200 "$viewer" GET /api/v1/profiles
    expect_status "viewer token: GET stats is 403" 403 "$viewer" GET /api/v1/admin/scep/intune/stats
fi
((failed == 0)) || exit 1

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
        --no-color || rc=$?
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
    record "schemathesis (viewer)" "FAIL (no SCEPTER_VIEWER_TOKEN given: the viewer role would go untested)"
fi
((failed == 0))
