#!/bin/sh
# Gets tshup for this machine from the site that publishes it: downloads the build for this OS and
# processor, checks it against the site's SHA256SUMS, and runs its `self install`, which puts it
# at ~/.local/bin/tshup and on PATH.
#
#   curl -fsSL https://SITE/tshup/install.sh | sh
#   curl -fsSL https://SITE/tshup/install.sh | sh -s -- [BASE_URL] [self install flags]
#   TSHUP_BASE_URL=https://SITE/tshup sh install.sh
#
# BASE_URL is the https:// directory holding the tshup-<os>-<arch> files and SHA256SUMS. Given as
# the first argument it wins over TSHUP_BASE_URL, which wins over the one built in (if any).
# TSHUP_CA_FILE names extra CA certificates to trust (a company's TLS inspection, say).
set -eu

# Filled in by `npm run dist -- --manifest FILE` from the manifest's self_update.base_url.
baked_base_url=''

fail() {
    printf 'tshup install: %s\n' "$1" >&2
    if [ -n "${2-}" ]; then printf '  hint: %s\n' "$2" >&2; fi
    exit 1
}

base_url=${TSHUP_BASE_URL:-$baked_base_url}
case "${1-}" in
    *://*) base_url=$1; shift ;;
esac
[ -n "$base_url" ] || fail "no address to download tshup from" "pass it: curl -fsSL .../install.sh | sh -s -- https://SITE/tshup, or set TSHUP_BASE_URL"
case "$base_url" in
    https://*) ;;
    *) fail "refusing $base_url: only https:// addresses" "over plain http anyone on the network path could replace tshup and its SHA256SUMS together" ;;
esac
base_url=${base_url%/}

os=$(uname -s)
case "$os" in
    Linux) os=linux ;;
    Darwin) os=darwin ;;
    *) fail "no tshup is built for the operating system $os" "tshup runs on Linux, macOS and Windows (install.ps1 beside this script)" ;;
esac
arch=$(uname -m)
case "$arch" in
    x86_64 | amd64) arch=x64 ;;
    aarch64 | arm64) arch=arm64 ;;
    *) fail "no tshup is built for the processor $arch" "tshup is built for x86_64 (amd64) and arm64 (aarch64)" ;;
esac
# A shell under Rosetta says x86_64 on an Apple silicon Mac, where the arm64 build runs natively.
if [ "$os" = darwin ] && [ "$arch" = x64 ] && [ "$(sysctl -n sysctl.proc_translated 2>/dev/null || true)" = 1 ]; then
    arch=arm64
fi
file="tshup-$os-$arch"

if command -v curl >/dev/null 2>&1; then
    fetch() {
        if [ -n "${TSHUP_CA_FILE-}" ]; then
            curl --proto '=https' --tlsv1.2 -fsSL --cacert "$TSHUP_CA_FILE" -o "$2" "$1"
        else
            curl --proto '=https' --tlsv1.2 -fsSL -o "$2" "$1"
        fi
    }
elif command -v wget >/dev/null 2>&1; then
    # wget cannot keep a redirect on https (--https-only is for recursive runs), so it follows none.
    fetch() {
        if [ -n "${TSHUP_CA_FILE-}" ]; then
            wget -q --max-redirect=0 --secure-protocol=TLSv1_2 --ca-certificate="$TSHUP_CA_FILE" -O "$2" "$1"
        else
            wget -q --max-redirect=0 --secure-protocol=TLSv1_2 -O "$2" "$1"
        fi
    }
else
    fail "neither curl nor wget is installed" "install one of them (e.g. apt-get install curl), or download $base_url/$file by hand"
fi

if command -v sha256sum >/dev/null 2>&1; then
    hash_of() { sha256sum "$1" | awk '{ print $1 }'; }
elif command -v shasum >/dev/null 2>&1; then
    hash_of() { shasum -a 256 "$1" | awk '{ print $1 }'; }
else
    fail "neither sha256sum nor shasum is installed, so the download cannot be checked" "install coreutils (sha256sum) or perl (shasum)"
fi

tmp=$(mktemp -d 2>/dev/null || mktemp -d -t tshup)
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

printf 'Downloading %s from %s\n' "$file" "$base_url" >&2
fetch "$base_url/SHA256SUMS" "$tmp/SHA256SUMS" ||
    fail "could not download $base_url/SHA256SUMS" "check the address and the network; for a company CA set TSHUP_CA_FILE"
# CRLF lines are read as LF; a file listed twice with two hashes is believed in neither line.
expected=$(awk -v f="$file" '{ sub(/\r$/, "") } ($2 == f || $2 == "*" f) && $1 ~ /^[0-9A-Fa-f]+$/ && length($1) == 64 { h = tolower($1); if (seen != "" && seen != h) bad = 1; seen = h } END { if (bad) print "conflict"; else print seen }' "$tmp/SHA256SUMS")
[ -n "$expected" ] || fail "$base_url/SHA256SUMS lists no $file" "the site publishes no tshup for $os-$arch; ask whoever runs it"
[ "$expected" != conflict ] || fail "$base_url/SHA256SUMS lists $file twice with different hashes; nothing was installed" "tell whoever runs $base_url: SHA256SUMS must give one hash for each file"
fetch "$base_url/$file" "$tmp/$file" ||
    fail "could not download $base_url/$file" "check the address and the network; for a company CA set TSHUP_CA_FILE"
actual=$(hash_of "$tmp/$file")
[ "$actual" = "$expected" ] ||
    fail "checksum mismatch for $file: expected $expected, got $actual; nothing was installed" "the download was damaged or differs from SHA256SUMS: try again, and if it persists tell whoever runs $base_url"

chmod 755 "$tmp/$file"
status=0
"$tmp/$file" self install "$@" || status=$?
# 126 is the shell's own "found but could not run": tshup's exit codes are 0 to 7, 130 and 143.
[ "$status" -ne 126 ] ||
    fail "could not run $tmp/$file: the file system of $tmp may not allow running programs (mounted noexec); nothing was installed" "point TMPDIR at a directory where programs may run, e.g. mkdir -p ~/.cache && curl -fsSL .../install.sh | TMPDIR=~/.cache sh"
exit "$status"
