#!/usr/bin/env bash
# Creates (once) the venv PyScep runs in, Tests/PyScep/.venv, from PyPI, and
# prints its python. Used by Tests/ScepterTesting/PyScep.swift.
#
# PyScep 0.0.14 declares no dependencies; these are the ones it imports, at
# the versions it was last proven with. oscrypto 1.3.0, its last release,
# cannot read an OpenSSL version with a two-digit patch number ("3.0.22":
# "Error detecting the version of libcrypto"); the same one-character fix
# its upstream made (\d -> \d+ in the version pattern) is applied here.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/.venv"
pins="asn1crypto==1.5.1 certbuilder==0.14.2 certifi==2026.10.19.post1 cffi==2.1.1 charset-normalizer==3.5.3
cryptography==51.0.1 csrbuilder==0.10.1 idna==3.21 oscrypto==1.3.0 pycparser==3.12 PyScep==0.0.14
requests==2.34.2 six==1.17.0 urllib3==2.8.0"

# Two callers at once (suites run in parallel): the first makes the venv, the other waits for it.
exec 8> "$here/.venv.lock"
flock 8
if [[ ! -x "$venv/bin/python" || "$(cat "$venv/.pinned" 2> /dev/null)" != "$pins" ]]; then
    command -v python3 > /dev/null || { echo "venv.sh: python3 is required (apt-get install -y python3 python3-venv)" >&2; exit 2; }
    python3 -c 'import ensurepip, venv' 2> /dev/null || { echo "venv.sh: this python3 cannot create a venv (apt-get install -y python3-venv)" >&2; exit 2; }
    echo "== Creating $venv (PyScep 0.0.14)" >&2
    rm -rf "$venv"
    python3 -m venv "$venv"
    # shellcheck disable=SC2086 # one pin per word
    "$venv/bin/pip" install --quiet --disable-pip-version-check --no-deps $pins >&2
    for file in "$venv"/lib/python3*/site-packages/oscrypto/_openssl/_libcrypto_c*.py; do
        sed -i 's/\\\\d\[a-z\]\*)\\\\b/\\\\d+[a-z]*)\\\\b/' "$file"
        grep -q 'd+\[a-z\]\*)' "$file" || { echo "venv.sh: could not patch $file" >&2; exit 2; }
    done
    echo "$pins" > "$venv/.pinned"
fi
"$venv/bin/python" -W ignore -c 'import scep.Client' || { echo "venv.sh: PyScep does not import in $venv" >&2; exit 2; }
echo "$venv/bin/python"
