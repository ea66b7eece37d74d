#!/usr/bin/env bash
# deps.sh - install what slubd needs to build and test on Debian 12, with
# apt-get, when something is missing.  Needs root (or sudo) to install;
# without it, names what is missing and fails.
#   scripts/deps.sh          build and test dependencies
#   scripts/deps.sh --bench  also valgrind (instruction counts in make bench)
#   scripts/deps.sh --cross  the aarch64 cross compiler (make cross-aarch64)
#   scripts/deps.sh --fuzz   clang and libFuzzer (make fuzz)
set -euo pipefail
pkgs=(make gcc libc6-dev pkg-config protobuf-c-compiler libprotobuf-c-dev libevent-dev
      libjansson-dev libinih-dev libsystemd-dev systemd mandoc man-db)
[ "${1:-}" = "--bench" ] && pkgs+=(valgrind)
[ "${1:-}" = "--cross" ] && pkgs=(gcc-aarch64-linux-gnu libc6-dev-arm64-cross)
[ "${1:-}" = "--fuzz" ] && pkgs=(clang libclang-rt-14-dev)

missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps: installing ${missing[*]}"
if [ "$(id -u)" -eq 0 ]; then
	sudo=""
elif command -v sudo >/dev/null 2>&1; then
	sudo="sudo"
else
	echo "deps: missing ${missing[*]}; run as root: apt-get install -y ${missing[*]}" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
