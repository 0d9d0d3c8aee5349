#!/bin/sh
# Builds the independent SCEP test client (Tests/Interop/scepclient) from
# micromdm's SCEP library as packaged by Debian, in GOPATH mode, offline.
#
# usage: Tests/Interop/build.sh [output-path]
#   default output: Tests/Interop/.bin/scepclient
#
# Needs the Debian packages golang-go and golang-github-micromdm-scep-dev
# (which brings go.mozilla.org/pkcs7, go-kit, pkg/errors). Nothing is
# downloaded. The GOPATH and the Go build cache live in Tests/Interop/gopath
# (git-ignored). Does nothing when the binary is newer than its sources.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
gocode=/usr/share/gocode/src
scep_src=$gocode/github.com/micromdm/scep
pkcs7_src=$gocode/go.mozilla.org/pkcs7

out=${1:-$here/.bin/scepclient}
case $out in
/*) ;;
*) out=$(pwd)/$out ;;
esac

die() {
	echo "build.sh: $*" >&2
	exit 1
}

# --- prerequisites ---------------------------------------------------------
# On a fresh machine (the README's worked example), install them first.
if ! command -v go >/dev/null 2>&1 && [ ! -x /usr/lib/go/bin/go ] || [ ! -f "$scep_src/scep/scep.go" ]; then
	"$here/../../scripts/install-deps" --interop || die "could not install golang-go and golang-github-micromdm-scep-dev"
fi
GO=$(command -v go 2>/dev/null || true)
if [ -z "$GO" ] && [ -x /usr/lib/go/bin/go ]; then
	GO=/usr/lib/go/bin/go
fi
[ -n "$GO" ] || die "no Go toolchain found: install the Debian package golang-go (apt-get install golang-go)"
[ -f "$scep_src/scep/scep.go" ] ||
	die "micromdm SCEP library not found in $scep_src: install the Debian package golang-github-micromdm-scep-dev"
[ -f "$pkcs7_src/pkcs7.go" ] ||
	die "go.mozilla.org/pkcs7 not found in $pkcs7_src: install golang-github-fullsailor-pkcs7-dev (a dependency of golang-github-micromdm-scep-dev)"

# --- up to date? -----------------------------------------------------------
src=$here/scepclient/main.go
uptodate=yes
for f in "$src" "$here/build.sh" "$scep_src/scep/scep.go" "$pkcs7_src/pkcs7.go"; do
	if ! [ "$out" -nt "$f" ]; then
		uptodate=no
	fi
done
if [ -x "$out" ] && [ $uptodate = yes ]; then
	exit 0
fi

# --- GOPATH ----------------------------------------------------------------
# The Debian package ships the library at github.com/micromdm/scep but its
# packages import github.com/micromdm/scep/v2/...: a symlink in a private
# GOPATH entry maps one onto the other.
gopath=$here/gopath
link=$gopath/src/github.com/micromdm/scep/v2
mkdir -p "$gopath/src/github.com/micromdm/scep" "$gopath/cache" "$(dirname "$out")"
if [ "$(readlink "$link" 2>/dev/null || true)" != "$scep_src" ]; then
	rm -rf "$link"
	ln -s "$scep_src" "$link"
fi

# --- build -----------------------------------------------------------------
cd "$here"
tmp=$out.tmp.$$
trap 'rm -f "$tmp"' EXIT
env GO111MODULE=off GOPATH="$gopath:/usr/share/gocode" GOCACHE="$gopath/cache" \
	GOFLAGS= GOPROXY=off CGO_ENABLED=0 \
	nice "$GO" build -trimpath -o "$tmp" ./scepclient ||
	die "go build failed"
mv -f "$tmp" "$out"
trap - EXIT
echo "build.sh: built $out" >&2
