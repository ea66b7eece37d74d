#!/usr/bin/env bash
# shellcheck disable=SC2317  # the case_* functions are called by name
# t_units.sh - checks of slubd's system-service packaging: the systemd units
# (systemd/, nothing else there), the sysusers.d file and the sysctl.d snippet
# (etc/sysusers.d/, etc/sysctl.d/), the config file and the man pages.
#
# Each case prints one line, as the C tests do (tests/harness.h):
#     ok NAME  |  FAIL NAME  |  skip NAME: WHY
# with what went wrong indented above a FAIL.  Exit 1 if any case failed.
#
#   verify_shipped    `systemd-analyze verify systemd/*` from the top of the
#                     sources, as a user types it: exit 0, nothing printed
#                     about slubd (every file there a unit, Documentation=
#                     links that name man/'s pages, an ExecStart= that verify
#                     can resolve before slubd is installed)
#   units_verify      systemd-analyze verify of slubd.socket and slubd.service
#                     (ExecStart= pointed at the built slubd, User= and Group=
#                     at root when the slubd user does not exist here, and
#                     Documentation= checked against man/): fails on a non-zero
#                     exit or on any line about the units
#   units_security    systemd-analyze security --offline: exposure at most 1.0
#   units_commented   every directive of both units has a comment line right
#                     above it (STYLE.md 17), and none has a trailing "# ...",
#                     which systemd would take as part of the value
#   sysusers_parse    systemd-sysusers --dry-run of etc/sysusers.d/slubd.conf, against an
#                     empty root: parses, and declares the user and group slubd
#   sysctl_snippet    etc/sysctl.d/90-slubd-hugepages.conf sets only keys that exist here
#   conf_defaults     etc/slubd.conf with every commented-out key uncommented
#                     (each at its documented default) is accepted by slubd,
#                     which then serves (private socket and arena file)
#   socket_activation slubd started by systemd-socket-activate takes the passed
#                     socket and answers slubctl on it
#   man_lint          mandoc -T lint and man's own warnings on man/*.[38]; a
#                     link page (only ".so man3/PAGE") must name a page of man/
#
# Environment: SLUBD (default <repo>/build/slubd), SLUBCTL (default
# <repo>/build/slubctl).  Arguments: case names to run (default: all).
# Runs in a few seconds; needs no running systemd (no systemctl).
set -u

# shellcheck source=tests/systemd/lib.sh
. "$(dirname "$0")/lib.sh"
units=$root/systemd
sysusers=$root/etc/sysusers.d/slubd.conf
sysctl=$root/etc/sysctl.d/90-slubd-hugepages.conf
make_tmp t_units

# the units as they can be checked here: the built slubd for `env slubd`,
# root for an absent slubd user or group
prepare_units() {
	local d=$tmp/units user=slubd group=slubd
	[ -d "$d" ] && return 0
	mkdir -p "$d"
	getent passwd slubd >/dev/null || user=root
	getent group slubd >/dev/null || group=root
	sed -e "s|^ExecStart=/usr/bin/env slubd |ExecStart=$slubd |" \
	    -e "s|^User=slubd\$|User=$user|" -e "s|^Group=slubd\$|Group=$group|" \
	    "$units/slubd.service" >"$d/slubd.service"
	sed -e "s|^SocketUser=slubd\$|SocketUser=$user|" \
	    -e "s|^SocketGroup=slubd\$|SocketGroup=$group|" \
	    "$units/slubd.socket" >"$d/slubd.socket"
	# Documentation=man:...: let man find ours
	mkdir -p "$tmp/man/man3" "$tmp/man/man8"
	cp "$root"/man/*.3 "$tmp/man/man3/" 2>/dev/null
	cp "$root"/man/*.8 "$tmp/man/man8/" 2>/dev/null
}

# verify_units BAD ARGS... - systemd-analyze verify ARGS... here: a non-zero
# exit or a line matching BAD (about our units) fails; lines about other units
# (this host's dependencies) are shown, not counted
verify_units() {
	local bad_re=$1 out rc bad
	shift
	out=$(systemd-analyze verify "$@" 2>&1)
	rc=$?
	bad=$(printf '%s\n' "$out" | grep -E "$bad_re" || true)
	if [ "$rc" -ne 0 ] || [ -n "$bad" ]; then
		say "systemd-analyze verify $* exited $rc:"
		printf '%s\n' "$out" | indent
		return 1
	fi
	[ -n "$out" ] && printf '%s\n' "$out" | sed 's/^/  (other units) /'
	return 0
}

# ---- the cases --------------------------------------------------------------

case_verify_shipped() {
	local rc=0 f doc page docs=0
	if ! have systemd-analyze; then
		why="systemd-analyze is not installed (apt-get install systemd)"
		return 2
	fi
	(cd "$root" && verify_units "slubd|systemd/" systemd/*) || return 1
	# verify does not look at file: links: each must name a page of man/
	for f in "$units"/*; do
		# shellcheck disable=SC2013  # the links are words
		for doc in $(sed -n 's/^Documentation=//p' "$f"); do
			docs=$((docs + 1))
			page=${doc##*/}
			if [[ $doc != file:/usr/share/man/man[38]/* ]] || [ ! -f "$root/man/$page" ]; then
				say "$(basename "$f"): Documentation=$doc names no page of man/"
				rc=1
			fi
		done
	done
	[ "$docs" -eq 0 ] && { say "no Documentation= in systemd/"; rc=1; }
	return "$rc"
}

case_units_verify() {
	local man_opt=()
	if ! have systemd-analyze; then
		why="systemd-analyze is not installed (apt-get install systemd)"
		return 2
	fi
	if [ ! -x "$slubd" ]; then
		why="no slubd at $slubd to put in ExecStart= (build it first, or set SLUBD)"
		return 2
	fi
	prepare_units
	# without man(1), verify cannot look the pages up: man_lint checks them then
	have man || man_opt=(--man=no)
	(cd "$tmp/units" && MANPATH="$tmp/man" verify_units "slubd|$tmp" \
		--recursive-errors=no "${man_opt[@]}" slubd.socket slubd.service)
}

case_units_security() {
	local out rc
	if ! have systemd-analyze; then
		why="systemd-analyze is not installed"
		return 2
	fi
	if ! systemd-analyze --help 2>/dev/null | grep -q -- '--offline'; then
		why="this systemd-analyze has no --offline (systemd < 250)"
		return 2
	fi
	# as installed (User=slubd need not exist for this), but the built slubd
	mkdir -p "$tmp/sec"
	sed -e "s|^ExecStart=/usr/bin/env slubd |ExecStart=$slubd |" \
	    "$units/slubd.service" >"$tmp/sec/slubd.service"
	cp "$units/slubd.socket" "$tmp/sec/"
	out=$(cd "$tmp/sec" && systemd-analyze security --offline=yes --man=no \
		--threshold=10 ./slubd.service 2>&1)
	rc=$?
	if [ "$rc" -ne 0 ]; then
		say "exposure above 1.0 (or the check failed, exit $rc):"
		printf '%s\n' "$out" | grep -v '^✓' | indent
		return 1
	fi
	printf '%s\n' "$out" | grep -o 'Overall exposure level.*' |
		LC_ALL=C tr -cd '\11\12\40-\176' | sed 's/^/  /; s/ *$//'
	return 0
}

# a directive must have a comment line right above it
check_commented() {
	local file=$1 n=0 prev="" cont=0 line bad=0 base
	local directive='^[A-Za-z][A-Za-z0-9]*=' comment='^[[:space:]]*[#;]'
	base=$(basename "$file")
	while IFS= read -r line || [ -n "$line" ]; do
		n=$((n + 1))
		if [ "$cont" -eq 1 ]; then	# a continuation of the line above
			[[ $line == *\\ ]] || cont=0
			prev=$line
			continue
		fi
		if [[ $line =~ $directive ]]; then
			if ! [[ $prev =~ $comment ]]; then
				say "$base:$n: no comment above: $line"
				bad=1
			fi
			if [[ $line =~ [[:space:]]#[[:space:]] ]]; then
				say "$base:$n: a trailing \"#\" is part of the value, not a comment: $line"
				bad=1
			fi
			[[ $line == *\\ ]] && cont=1
		elif [[ $line =~ ^[[:space:]]*[A-Za-z] ]] && ! [[ $line =~ ^\[ ]]; then
			say "$base:$n: neither a directive, a comment nor a section: $line"
			bad=1
		fi
		prev=$line
	done <"$file"
	return "$bad"
}

case_units_commented() {
	local rc=0 f
	for f in "$units/slubd.service" "$units/slubd.socket"; do
		if [ ! -f "$f" ]; then
			say "missing: $f"
			rc=1
			continue
		fi
		check_commented "$f" || rc=1
	done
	return "$rc"
}

case_sysusers_parse() {
	local out rc
	if ! have systemd-sysusers; then
		why="systemd-sysusers is not installed (apt-get install systemd)"
		return 2
	fi
	if ! systemd-sysusers --help 2>/dev/null | grep -q -- '--dry-run'; then
		why="this systemd-sysusers has no --dry-run"
		return 2
	fi
	mkdir -p "$tmp/sysroot"
	# an empty root: nothing exists there, so every entry must be created
	out=$(systemd-sysusers --root="$tmp/sysroot" --dry-run "$sysusers" 2>&1)
	rc=$?
	if [ "$rc" -ne 0 ] || printf '%s\n' "$out" | grep -q "sysusers.d/slubd.conf" ||
	   ! printf '%s\n' "$out" | grep -q "Creating group 'slubd'" ||
	   ! printf '%s\n' "$out" | grep -q "Creating user 'slubd'"; then
		say "systemd-sysusers --dry-run exited $rc (expected: creates group and user slubd, no complaint):"
		printf '%s\n' "$out" | indent
		return 1
	fi
	if [ -n "$(find "$tmp/sysroot" -mindepth 1 -print -quit)" ]; then
		say "--dry-run wrote into its root:"
		find "$tmp/sysroot" -mindepth 1 | indent
		return 1
	fi
	return 0
}

case_sysctl_snippet() {
	local f=$sysctl n=0 line key val rc=0 keys=0
	local skip='^[[:space:]]*([#;]|$)'
	while IFS= read -r line || [ -n "$line" ]; do
		n=$((n + 1))
		[[ $line =~ $skip ]] && continue
		if ! [[ $line =~ ^([a-z0-9_.]+)[[:space:]]*=[[:space:]]*([0-9]+)$ ]]; then
			say "90-slubd-hugepages.conf:$n: not \"key = number\": $line"
			rc=1
			continue
		fi
		key=${BASH_REMATCH[1]} val=${BASH_REMATCH[2]}
		keys=$((keys + 1))
		if [ -d /proc/sys ] && [ ! -e "/proc/sys/${key//.//}" ]; then
			say "90-slubd-hugepages.conf:$n: no such sysctl here: $key"
			rc=1
		fi
		[ "$key" = vm.nr_hugepages ] && [ "$val" -lt 1 ] && { say "reserves no huge page"; rc=1; }
	done <"$f"
	[ "$keys" -eq 0 ] && { say "slubd-hugepages.conf sets nothing"; rc=1; }
	return "$rc"
}

case_conf_defaults() {
	local conf=$tmp/slubd.conf rc group=slubd
	if [ ! -x "$slubd" ]; then
		why="no slubd at $slubd (build it first, or set SLUBD)"
		return 2
	fi
	getent group slubd >/dev/null || group=root
	# every documented default, uncommented; allow_gids names a group that exists
	sed -E -e 's/^#([a-z_]+ =)/\1/' -e "s/^(allow_gids =).*/\1 $group/" \
		"$root/etc/slubd.conf" >"$conf"
	mkdir -p "$tmp/run"
	if ! start_slubd "$slubd" --foreground --config "$conf" --socket "$tmp/run/slubd.sock" \
		--arena-file "$tmp/run/slubd.arena" --hugepages off; then
		say "slubd did not serve with etc/slubd.conf's keys uncommented:"
		indent <"$tmp/log"
		grep -E '^[a-z_]+ =' "$conf" | indent
		return 1
	fi
	stop_slubd
	rc=$?
	if [ "$rc" -ne 0 ]; then
		say "slubd exited $rc on SIGTERM:"
		indent <"$tmp/log"
		return 1
	fi
	return 0
}

case_socket_activation() {
	local sock=$tmp/act/slubd.sock out rc
	if ! have systemd-socket-activate; then
		why="systemd-socket-activate is not installed (apt-get install systemd)"
		return 2
	fi
	if [ ! -x "$slubd" ] || [ ! -x "$slubctl" ]; then
		why="slubd or slubctl not built ($slubd, $slubctl)"
		return 2
	fi
	mkdir -p "$tmp/act"
	# systemd-socket-activate listens, and starts slubd on the first connection
	env -u NOTIFY_SOCKET systemd-socket-activate -l "$sock" "$slubd" --foreground \
		--hugepages off --arena-size 16M --arena-file "$tmp/act/slubd.arena" \
		>"$tmp/act/log" 2>&1 &
	pids+=($!)
	for _ in $(seq 1 50); do
		[ -S "$sock" ] && break
		sleep 0.1
	done
	out=$(timeout 10 "$slubctl" -s "$sock" stats 2>&1)
	rc=$?
	if [ "$rc" -ne 0 ] || ! grep -q "from systemd" "$tmp/act/log"; then
		say "slubctl stats exited $rc:"
		printf '%s\n' "$out" | indent
		say "slubd's log (expected: the listening socket from systemd):"
		indent <"$tmp/act/log"
		return 1
	fi
	return 0
}

case_man_lint() {
	local f out rc=0 checked=0 target
	if ! have mandoc && ! have man; then
		why="neither mandoc nor man is installed (apt-get install mandoc man-db)"
		return 2
	fi
	for f in "$root"/man/*.[38]; do
		[ -f "$f" ] || continue
		# a link page (".so man3/slub.3", one per function name): its target
		# must be a page of man/; the target is linted itself
		if [ "$(grep -cv '^\.\\"' "$f")" -eq 1 ] && grep -qE '^\.so man[1-8]/' "$f"; then
			target=$(sed -n 's|^\.so man[1-8]/||p' "$f")
			[ -f "$root/man/$target" ] ||
				{ say "$(basename "$f"): .so names man/$target, which does not exist"; rc=1; }
			continue
		fi
		checked=$((checked + 1))
		if have mandoc; then
			out=$(mandoc -T lint -W warning "$f" 2>&1)
			[ -n "$out" ] && { say "mandoc -T lint $(basename "$f"):"; printf '%s\n' "$out" | indent; rc=1; }
		fi
		if have man; then
			out=$(MANWIDTH=80 man --warnings -l "$f" 2>&1 >/dev/null)
			[ -n "$out" ] && { say "man --warnings -l $(basename "$f"):"; printf '%s\n' "$out" | indent; rc=1; }
		fi
	done
	if [ "$checked" -lt 3 ]; then
		say "expected at least man/slubd.8, man/slubctl.8 and man/slub.3; found $checked pages"
		rc=1
	fi
	return "$rc"
}

all=(verify_shipped units_verify units_security units_commented sysusers_parse sysctl_snippet
     conf_defaults socket_activation man_lint)
run_cases "$@"
