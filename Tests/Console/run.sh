#!/usr/bin/env bash
# Browser tests of the web console (/admin/) in headless Chromium, against a
# `scepter dev` of their own that real SCEP enrollments have filled.
#
#   Tests/Console/run.sh                          # screenshots stay in the run's work dir
#   Tests/Console/run.sh --screenshots docs/images  # refresh the pictures of docs/console.md
#   Tests/Console/run.sh -- -k audit              # anything after -- goes to pytest
#
# Environment:
#   SCEPTER_BINARY   the scepter to test (default .build/debug/scepter)
#   CONSOLE_TIMEOUT  cap in seconds on the browser tests (default 300)
#   CONSOLE_KEEP=1   keep the work dir (data dir, logs, screenshots) after a pass;
#                    it is always kept after a failure
#
# Needs Debian's chromium and chromium-driver, openssl, python3 with venv, and
# the interop client (Tests/Interop/build.sh: golang-go and
# golang-github-micromdm-scep-dev). Selenium and pytest live in a venv under
# Tests/Console/.venv, created on first run from PyPI.
#
# What it does: starts `scepter dev` on a free loopback port with a fresh data
# dir, an Intune profile `corp` (signed-challenge, a Connector certificate that
# expires in 20 days, gates set apart from their defaults, a compliance webhook
# never called, a static password) and a viewer token; enrolls with
# micromdm's client (3 successes and 1 wrong challenge on corp, 1 success on
# the dev profile); runs Tests/Console/test_console.py; stops the server.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
venv="$here/.venv"
selenium_version="4.51.0"
pytest_version="9.2.0"
time_cap="${CONSOLE_TIMEOUT:-300}"

screenshots=""
pytest_args=()
while (($#)); do
    case "$1" in
        --screenshots) screenshots="${2:?--screenshots needs a directory}"; shift 2 ;;
        --) shift; pytest_args=("$@"); break ;;
        -h | --help) sed -n '2,25p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "run.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done

binary="${SCEPTER_BINARY:-.build/debug/scepter}"
[[ "$binary" == /* ]] || binary="$root/$binary"
if [[ -n "$screenshots" ]]; then
    mkdir -p "$screenshots"
    screenshots="$(cd "$screenshots" && pwd)"
fi

started=$SECONDS
stage="setup"
work=""
server_pid=""
outcome="FAILED"

# SIGTERM (a graceful shutdown), then SIGKILL after 10 s.
stop_server() {
    [[ -n "$server_pid" ]] || return 0
    if kill -0 "$server_pid" 2> /dev/null; then
        kill -TERM "$server_pid" 2> /dev/null || true
        for _ in $(seq 100); do kill -0 "$server_pid" 2> /dev/null || break; sleep 0.1; done
        if kill -0 "$server_pid" 2> /dev/null; then
            echo "run.sh: scepter dev (pid $server_pid) did not stop within 10 s of SIGTERM; killing it" >&2
            kill -KILL "$server_pid" 2> /dev/null || true
        fi
    fi
    wait "$server_pid" 2> /dev/null || true
    server_pid=""
}

summary() { # exit status of the script
    local status=$1
    stop_server
    ((status == 0)) && outcome="PASSED"
    echo
    echo "== Console browser tests: $outcome in $((SECONDS - started)) s (stage: $stage)"
    if [[ -n "$work" ]]; then
        if ((status == 0)) && [[ "${CONSOLE_KEEP:-0}" != 1 ]]; then
            rm -rf "$work"
        else
            echo "   work dir kept: $work (server.log; artifacts/: browser.log, pages of failed tests; data/)"
        fi
    fi
    if [[ -n "$screenshots" && -d "$screenshots" ]]; then echo "   screenshots: $screenshots"; fi
    echo "== $outcome"
}
trap 'summary $?' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

fail() { echo "run.sh: $*" >&2; exit 2; }

# ---- Prerequisites -----------------------------------------------------------
[[ -x "$binary" ]] || fail "no scepter binary at $binary (swift build, or set SCEPTER_BINARY)"
[[ -x /usr/bin/chromium ]] || fail "no /usr/bin/chromium (Debian: apt-get install -y chromium chromium-driver)"
[[ -x /usr/bin/chromedriver ]] || fail "no /usr/bin/chromedriver (Debian: apt-get install -y chromium-driver)"
command -v openssl > /dev/null || fail "openssl is required (apt-get install -y openssl)"
command -v python3 > /dev/null || fail "python3 is required (apt-get install -y python3 python3-venv)"
python3 -c 'import ensurepip, venv' 2> /dev/null || fail "this python3 cannot create a venv (apt-get install -y python3-venv)"

# ---- The venv: selenium and pytest, pinned with what they pull in ------------
stage="venv"
pins="attrs==26.1.0 certifi==2026.10.19.post1 h11==0.16.0 idna==3.20 iniconfig==2.3.1
outcome==1.3.0.post0 packaging==26.4 pluggy==1.7.0 Pygments==2.21.0 PySocks==1.7.1
pytest==$pytest_version selenium==$selenium_version sniffio==1.3.1 sortedcontainers==2.4.0
trio==0.35.0 trio-websocket==0.12.2 typing_extensions==4.16.0 urllib3==2.8.0
websocket-client==1.9.2 wsproto==1.3.2"
if [[ ! -x "$venv/bin/pytest" || "$(cat "$venv/.pinned" 2> /dev/null)" != "$pins" ]]; then
    echo "== Creating $venv (selenium $selenium_version, pytest $pytest_version)"
    rm -rf "$venv"
    python3 -m venv "$venv"
    # shellcheck disable=SC2086 # one pin per word
    "$venv/bin/pip" install --quiet --disable-pip-version-check --no-deps $pins
    echo "$pins" > "$venv/.pinned"
fi

# ---- The interop client ------------------------------------------------------
stage="interop client"
scepclient="$root/Tests/Interop/.bin/scepclient"
[[ -x "$scepclient" ]] || "$root/Tests/Interop/build.sh"

# ---- A scepter dev of our own ------------------------------------------------
stage="server start"
work="$(mktemp -d "${TMPDIR:-/tmp}/scepter-console.XXXXXX")"
data="$work/data"
certs="$work/certs"
mkdir -p "$certs" "$work/artifacts" "$work/downloads"
[[ -n "$screenshots" ]] || screenshots="$work/screenshots"
mkdir -p "$screenshots"

# The Intune Connector's signing certificate: 20 days left, so the badge is amber (7 to 29 days).
openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 20 -subj "/CN=Console Test Intune Connector" \
    -keyout "$work/connector.key" -out "$work/connector.pem" 2> /dev/null
corp_password="$(openssl rand -hex 16)"
# corp's gates differ from their defaults, so the console's settings are the configured ones. Nothing
# listens on the webhook's port 9, and nothing calls it: the enrollments use the static password.
compliance_secret="$(openssl rand -hex 32)"
viewer_token="$(openssl rand -hex 24)"

# Only the variables of this run reach the server, whatever the caller exported.
scrub=()
while IFS= read -r name; do scrub+=(-u "$name"); done < <(env | sed -n 's/^\(SCEPTER_[A-Za-z0-9_]*\)=.*/\1/p')
env "${scrub[@]}" \
    SCEPTER_LOG_LEVEL=info \
    SCEPTER_PROFILES=corp \
    SCEPTER_PROFILE_CORP_INTUNE_MODE=signed-challenge \
    SCEPTER_PROFILE_CORP_INTUNE_CONNECTOR_CERT_PATH="$work/connector.pem" \
    SCEPTER_PROFILE_CORP_CHALLENGE_PASSWORD="$corp_password" \
    SCEPTER_PROFILE_CORP_INTUNE_RATE_LIMIT=5 \
    SCEPTER_PROFILE_CORP_INTUNE_CHALLENGE_VALIDITY=30m \
    SCEPTER_PROFILE_CORP_INTUNE_CLOCK_SKEW=90s \
    SCEPTER_PROFILE_CORP_INTUNE_AUDIENCE=https://scep.console.test/scep/corp \
    SCEPTER_PROFILE_CORP_ALLOWED_SAN_TYPES=dns,upn \
    SCEPTER_PROFILE_CORP_INTUNE_COMPLIANCE_URL="http://127.0.0.1:9/compliance?key=console-test" \
    SCEPTER_PROFILE_CORP_INTUNE_COMPLIANCE_SECRET="$compliance_secret" \
    SCEPTER_PROFILE_CORP_INTUNE_COMPLIANCE_TIMEOUT=3s \
    SCEPTER_VIEWER_TOKENS="viewer:$viewer_token" \
    "$binary" dev --data-dir "$data" --port 0 --host 127.0.0.1 > "$work/server.log" 2>&1 &
server_pid=$!

port=""
for _ in $(seq 600); do # up to 60 s for the banner
    kill -0 "$server_pid" 2> /dev/null || { cat "$work/server.log" >&2; fail "scepter dev exited before it printed its banner"; }
    port="$(sed -n 's|.*SCEP URL: *http://127\.0\.0\.1:\([0-9]*\)/scep.*|\1|p' "$work/server.log" | head -n 1)"
    [[ -n "$port" && -s "$data/admin-token" && -s "$data/challenge" ]] && break
    port=""
    sleep 0.1
done
[[ -n "$port" ]] || { cat "$work/server.log" >&2; fail "scepter dev printed no SCEP URL within 60 s"; }
base="http://127.0.0.1:$port"
admin_token="$(tr -d '[:space:]' < "$data/admin-token")"
dev_challenge="$(tr -d '[:space:]' < "$data/challenge")"
echo "== scepter dev on $base (data $data)"

# ---- Enrollments with micromdm's client ---------------------------------------
stage="enrollments"
seeds="$work/seeds.jsonl"
: > "$seeds"
enroll() { # profile path, challenge, CN, expected pkiStatus
    local path="$1" challenge="$2" cn="$3" want="$4" out report
    out="$certs/$cn.pem"
    report="$(timeout --kill-after=5 60 "$scepclient" -url "$base$path" -challenge "$challenge" -cn "$cn" -cert-out "$out")" ||
        fail "scepclient $cn on $path failed: $report"
    [[ "$report" == *"\"pkiStatus\":\"$want\""* ]] || fail "scepclient $cn on $path: want $want, got $report"
    [[ "$want" == SUCCESS ]] || out=""
    printf '{"path":"%s","cn":"%s","certFile":"%s","report":%s}\n' "$path" "$cn" "$out" "$report" >> "$seeds"
    echo "   $path $cn: $want"
}
enroll /scep/corp "$corp_password" console-laptop-1 SUCCESS
enroll /scep/corp "$corp_password" console-laptop-2 SUCCESS
enroll /scep/corp "$corp_password" console-laptop-3 SUCCESS
enroll /scep/corp "wrong-$corp_password" console-intruder FAILURE
enroll /scep "$dev_challenge" console-devbox SUCCESS

# ---- The browser tests --------------------------------------------------------
stage="browser tests"
echo "== Browser tests (headless Chromium; cap ${time_cap} s)"
rc=0
env -C "$here" \
    PYTHONDONTWRITEBYTECODE=1 \
    CONSOLE_URL="$base" \
    CONSOLE_ADMIN_TOKEN="$admin_token" \
    CONSOLE_VIEWER_TOKEN="$viewer_token" \
    CONSOLE_DATA_DIR="$data" \
    CONSOLE_SEEDS="$seeds" \
    CONSOLE_CONNECTOR_CERT="$work/connector.pem" \
    CONSOLE_SCREENSHOTS="$screenshots" \
    CONSOLE_DOWNLOADS="$work/downloads" \
    CONSOLE_ARTIFACTS="$work/artifacts" \
    timeout --kill-after=10 "$time_cap" \
    "$venv/bin/python" -m pytest test_console.py -v -p no:cacheprovider --tb=short \
    ${pytest_args[@]+"${pytest_args[@]}"} || rc=$?
if ((rc == 124 || rc == 137)); then
    echo "run.sh: the browser tests ran over the ${time_cap} s cap" >&2
fi
if ((rc != 0)); then
    echo "---- last lines of the server's log ($work/server.log)"
    tail -n 30 "$work/server.log"
fi
stage="done"
exit "$rc"
