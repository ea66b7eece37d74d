# shellcheck shell=bash disable=SC2034  # sourced: the variables are for its user
# lib.sh - what the shell tests in tests/systemd/ share: the case harness
# (the lines of tests/harness.h: ok NAME | FAIL NAME | skip NAME: WHY, the
# details indented above), a private directory removed at exit, and a slubd
# started and stopped in it.  Sourced by t_*.sh, never run itself.
#
# Sets: root (the top of the sources), slubd and slubctl ($SLUBD, $SLUBCTL, by
# default <root>/build/slubd and slubctl), failed (1 once a case failed).

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
slubd=${SLUBD:-$root/build/slubd}
slubctl=${SLUBCTL:-$root/build/slubctl}
failed=0
tmp=""
pids=()

# make_tmp NAME - $tmp: a private directory, removed at exit with the slubds
# started in it killed; on tmpfs (/dev/shm) where there is one, so that an
# arena file there is memory, as under /run, and never a file on disk
make_tmp() {
	local base=${TMPDIR:-/tmp}
	[ -d /dev/shm ] && [ -w /dev/shm ] && base=/dev/shm
	tmp=$(mktemp -d "$base/$1.XXXXXX") || exit 1
	trap cleanup EXIT
	trap 'exit 1' INT TERM
}
cleanup() {
	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null
	done
	[ -n "$tmp" ] && rm -rf "$tmp"
}

# a case function prints its details indented and returns 0 (ok), 1 (FAIL)
# or 2 (skip, the reason in $why)
why=""
run_case() {
	local name=$1 rc
	why=""
	"case_$name"
	rc=$?
	case $rc in
	0) echo "ok $name" ;;
	2) echo "skip $name: $why" ;;
	*) echo "FAIL $name"; failed=1 ;;
	esac
}

# run_cases [NAME...] - the named cases, else every one in ${all[@]}; exits
# 1 if one failed
run_cases() {
	[ $# -gt 0 ] && all=("$@")
	for c in "${all[@]}"; do
		if ! declare -F "case_$c" >/dev/null; then
			echo "FAIL $c: no such case"
			failed=1
			continue
		fi
		run_case "$c"
	done
	exit $failed
}

say() { printf '  %s\n' "$@"; }
indent() { sed 's/^/  | /'; }
have() { command -v "$1" >/dev/null 2>&1; }

# start slubd with "$@" (stderr to $tmp/log); 0 once it logs that it serves
start_slubd() {
	: >"$tmp/log"
	env -u NOTIFY_SOCKET -u LISTEN_FDS -u LISTEN_PID "$@" 2>"$tmp/log" &
	pids+=($!)
	for _ in $(seq 1 50); do
		grep -q "ready: serving" "$tmp/log" && return 0
		kill -0 "${pids[-1]}" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# stop the last slubd started; its exit status
stop_slubd() {
	local p=${pids[-1]} rc
	kill -TERM "$p" 2>/dev/null
	wait "$p"
	rc=$?
	unset 'pids[-1]'
	return "$rc"
}
