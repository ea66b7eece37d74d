#!/usr/bin/env bash
# shellcheck disable=SC2317,SC2013  # the case_* functions are called by name; lists are words
# t_install.sh - the build and `make install` / `make uninstall` as a user
# meets them.
#
#   no_rebuild        after a build, `make -n` has nothing to do (objects that
#                     only a chained rule needs are kept, not deleted and
#                     rebuilt by every make)
#   install_only      `make -n install` into an empty build folder builds
#                     slubd, slubctl and the library, never a test, benchmark
#                     or example
#   run_builds        `make -n run` into an empty build folder builds slubd,
#                     slubctl and every program of client/examples/ (the
#                     README's quick start runs them after `make run`)
#   destdir           make install DESTDIR=D PREFIX=/usr/local: every file in
#                     place, no ldconfig (D is not the live system), the units'
#                     ExecStart= and Documentation= and the man pages' paths
#                     under /usr/local (none of the sources' /usr ones left);
#                     client/examples/hello.c built with `pkg-config --cflags
#                     --libs slub` against D runs against the installed slubd;
#                     make uninstall leaves no file, and no directory of
#                     slubd's own (generic ones like D/usr/local/bin stay: they
#                     may be the system's)
#   edited_config     an edited D/etc/slubd/slubd.conf survives make install
#                     and make uninstall (said so); an unedited one goes
#   live_prefix       as root, DESTDIR empty, PREFIX a temporary directory
#                     (SYSCONFDIR too: nothing outside it is written but the
#                     dynamic linker's cache): install runs ldconfig and says
#                     that PREFIX/lib is not searched, and how to link; the
#                     program linked that way (-Wl,-rpath) runs; uninstall
#                     leaves nothing and runs ldconfig again
#   live_usr_local    as root, with T_INSTALL_LIVE=1 only (it installs into
#                     /usr/local and /etc/slubd of this host and removes them
#                     again; skipped when slubd is installed there already):
#                     a program built with `pkg-config --cflags --libs slub`
#                     and nothing else starts (it failed with "libslub.so.0:
#                     cannot open shared object file" before install ran
#                     ldconfig), and uninstall leaves nothing (no path in
#                     /usr/local or /etc that was not there before), libslub
#                     gone from ldconfig's cache
#
# Environment: SLUBD (default <repo>/build/slubd: its folder is the build
# folder used), CC, SLUB_TEST_CFLAGS (the sanitizer flags of that build).
# Arguments: case names to run (default: all).
set -u

# shellcheck source=tests/systemd/lib.sh
. "$(dirname "$0")/lib.sh"
make_tmp t_install
build=$(dirname "$slubd")
build=${build#"$root"/}

# make in the sources, on the build folder of $SLUBD, apart from any make
# that runs this test (its jobserver and variables)
mk() {
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make --no-print-directory -C "$root" \
		BUILD="$build" "$@"
}

# files install puts under a PREFIX (and SYSCONFDIR) of /usr/local (/etc)
installed() {
	local p=$1 e=$2 m
	echo "$p/bin/slubctl $p/sbin/slubd $p/lib/libslub.a $p/lib/libslub.so.0 $p/lib/libslub.so"
	echo "$p/include/slub.h $p/lib/pkgconfig/slub.pc $p/lib/systemd/system/slubd.service"
	echo "$p/lib/systemd/system/slubd.socket $p/lib/sysusers.d/slubd.conf"
	echo "$p/share/doc/slubd/90-slubd-hugepages.conf $e/slubd/slubd.conf"
	for m in "$root"/man/*.[1-8]; do
		echo "$p/share/man/man${m##*.}/${m##*/}"
	done
}

# hello PKG_CONFIG_PATH [SYSROOT] [extra cc args...]: build the README's
# example with pkg-config in $tmp/hello; 0 or 1 with the compiler's words
hello_build() {
	local pcpath=$1 sysroot=$2 flags out
	shift 2
	flags=$(PKG_CONFIG_PATH=$pcpath PKG_CONFIG_SYSROOT_DIR=$sysroot \
		pkg-config --cflags --libs slub 2>&1) || { say "pkg-config --cflags --libs slub: $flags"; return 1; }
	# shellcheck disable=SC2086  # the flags are words
	if ! out=$(${CC:-cc} ${SLUB_TEST_CFLAGS:-} "$root/client/examples/hello.c" -o "$tmp/hello" \
			$flags "$@" 2>&1); then
		say "cc client/examples/hello.c $flags $*:"
		printf '%s\n' "$out" | indent
		return 1
	fi
	return 0
}

# run $tmp/hello (with "$@" as environment) against slubd at $tmp/run; 0 if
# it said hello and exited 0
hello_run() {
	local out rc
	out=$(env "$@" SLUBD_SOCKET="$tmp/run/slubd.sock" "$tmp/hello" 2>&1)
	rc=$?
	if [ "$rc" -ne 0 ] || ! grep -q "^hello from pid" <<<"$out"; then
		say "the program built with pkg-config exited $rc:"
		printf '%s\n' "$out" | indent
		return 1
	fi
	return 0
}

# the slubd at PATH on $tmp/run/slubd.sock
serve() {
	rm -rf "$tmp/run" && mkdir -p "$tmp/run"
	if ! start_slubd "$1" --foreground --socket "$tmp/run/slubd.sock" --hugepages off \
		--arena-size 16M; then
		say "$1 did not serve:"
		indent <"$tmp/log"
		return 1
	fi
}

# no file of those listed in $1 (a file) left, and none under the dirs given
nothing_left() {
	local list=$1 f rc=0
	shift
	for f in $(cat "$list"); do
		if [ -e "$f" ] || [ -L "$f" ]; then
			say "left after make uninstall: $f"
			rc=1
		fi
	done
	for f in "$@"; do
		if [ -e "$f" ]; then
			say "left after make uninstall: $f/"
			rc=1
		fi
	done
	return "$rc"
}

# the sources' paths that must not stay in files installed under /usr/local
stale_paths() {
	grep -nE '/usr/(lib/systemd|sbin/slubd|bin/slubctl|share/doc/slubd|lib/sysusers\.d|share/man)' "$@"
}

case_no_rebuild() {
	local out
	if [ ! -x "$slubd" ]; then
		why="no build at $build (make first)"
		return 2
	fi
	out=$(mk -n all 2>&1 | grep -v "^make: Nothing to be done")
	if [ -n "$out" ]; then
		say "after a build, make would still run (make -n all BUILD=$build):"
		printf '%s\n' "$out" | head -20 | indent
		say "($(printf '%s\n' "$out" | grep -c -- ' -o ') commands write a file)"
		return 1
	fi
	return 0
}

case_install_only() {
	local out bad
	out=$(mk -n install BUILD="$tmp/empty-build" DESTDIR="$tmp/nowhere" 2>&1)
	bad=$(printf '%s\n' "$out" | grep -oE -- "-o [^ ]*/(tests|examples)/[^ ]*" | sort -u)
	if [ -n "$bad" ]; then
		say "make install into an empty build folder would build:"
		printf '%s\n' "$bad" | head -20 | indent
		return 1
	fi
	if ! grep -q -- "-o $tmp/empty-build/slubd\b" <<<"$out"; then
		say "make -n install does not build slubd:"
		printf '%s\n' "$out" | tail -5 | indent
		return 1
	fi
	return 0
}

case_run_builds() {
	local out want rc=0 m
	out=$(mk -n run BUILD="$tmp/empty-build" 2>&1)
	want="slubd slubctl"
	for m in "$root"/client/examples/*.c; do
		m=${m##*/}
		want="$want examples/${m%.c}"
	done
	for m in $want; do
		if ! grep -qE -- "-o $tmp/empty-build/$m( |\$)" <<<"$out"; then
			say "make run does not build $m"
			rc=1
		fi
	done
	return "$rc"
}

case_destdir() {
	local d=$tmp/dest out rc=0 f doc exe
	if [ ! -x "$slubd" ]; then
		why="no build at $build (make first)"
		return 2
	fi
	if ! out=$(mk install DESTDIR="$d" PREFIX=/usr/local 2>&1); then
		say "make install DESTDIR=$d PREFIX=/usr/local failed:"
		printf '%s\n' "$out" | tail -20 | indent
		return 1
	fi
	if grep -qx "ldconfig" <<<"$out"; then
		say "make install ran ldconfig for a DESTDIR (the live system's cache is not D's)"
		rc=1
	fi
	installed "$d/usr/local" "$d/etc" | tr ' ' '\n' >"$tmp/list"
	for f in $(cat "$tmp/list"); do
		[ -e "$f" ] || { say "not installed: $f"; rc=1; }
	done
	if stale_paths "$d"/usr/local/lib/systemd/system/* "$d"/usr/local/share/man/man*/* \
			"$d"/usr/local/lib/sysusers.d/* "$d"/usr/local/share/doc/slubd/* >"$tmp/stale"; then
		say "paths of the sources, not of PREFIX=/usr/local, in installed files:"
		sed "s|$d||" "$tmp/stale" | head -20 | indent
		rc=1
	fi
	exe=$(sed -n 's/^ExecStart=\([^ ]*\).*/\1/p' "$d/usr/local/lib/systemd/system/slubd.service")
	[ "$exe" = /usr/local/sbin/slubd ] || { say "ExecStart= runs $exe, not /usr/local/sbin/slubd"; rc=1; }
	for doc in $(sed -n 's/^Documentation=//p' "$d"/usr/local/lib/systemd/system/*); do
		[ -f "$d${doc#file:}" ] || { say "Documentation=$doc: not installed"; rc=1; }
	done
	[ "$rc" -eq 0 ] || return 1

	hello_build "$d/usr/local/lib/pkgconfig" "$d" || return 1
	serve "$d/usr/local/sbin/slubd" || return 1
	hello_run LD_LIBRARY_PATH="$d/usr/local/lib" || rc=1
	stop_slubd

	if ! out=$(mk uninstall DESTDIR="$d" PREFIX=/usr/local 2>&1); then
		say "make uninstall failed:"
		printf '%s\n' "$out" | tail -20 | indent
		return 1
	fi
	nothing_left "$tmp/list" "$d/etc/slubd" "$d/usr/local/share/doc/slubd" || rc=1
	out=$(find "$d" \( -type f -o -type l \) -printf '%P\n')
	[ -n "$out" ] && { say "files left in DESTDIR:"; printf '%s\n' "$out" | indent; rc=1; }
	return "$rc"
}

case_edited_config() {
	local d=$tmp/edit out conf rc=0
	if [ ! -x "$slubd" ]; then
		why="no build at $build (make first)"
		return 2
	fi
	conf=$d/etc/slubd/slubd.conf
	mk install DESTDIR="$d" >/dev/null 2>&1 || { say "make install DESTDIR=$d failed"; return 1; }
	echo "# mine" >>"$conf"
	mk install DESTDIR="$d" >/dev/null 2>&1 || { say "second make install failed"; return 1; }
	grep -q "^# mine" "$conf" || { say "make install overwrote the edited $conf"; rc=1; }
	out=$(mk uninstall DESTDIR="$d" 2>&1)
	if [ ! -f "$conf" ] || ! grep -q "kept $conf" <<<"$out"; then
		say "make uninstall did not keep the edited config and say so:"
		printf '%s\n' "$out" | tail -5 | indent
		rc=1
	fi
	return "$rc"
}

case_live_prefix() {
	local p=$tmp/prefix e=$tmp/etc out rc=0 libdir
	if [ "$(id -u)" -ne 0 ]; then
		why="needs root (make install runs ldconfig on the live system)"
		return 2
	fi
	if [ ! -x "$slubd" ]; then
		why="no build at $build (make first)"
		return 2
	fi
	if ! out=$(mk install PREFIX="$p" SYSCONFDIR="$e" 2>&1); then
		say "make install PREFIX=$p failed:"
		printf '%s\n' "$out" | tail -20 | indent
		return 1
	fi
	if ! grep -qx "ldconfig" <<<"$out" || ! grep -q "note: $p/lib is not a directory" <<<"$out"; then
		say "make install to the live system (DESTDIR empty) did not run ldconfig and say"
		say "that $p/lib is not searched:"
		printf '%s\n' "$out" | tail -8 | indent
		rc=1
	fi
	libdir=$(PKG_CONFIG_PATH=$p/lib/pkgconfig pkg-config --variable=libdir slub)
	[ "$libdir" = "$p/lib" ] || { say "slub.pc's libdir is $libdir, not $p/lib"; rc=1; }
	installed "$p" "$e" | tr ' ' '\n' >"$tmp/list"
	hello_build "$p/lib/pkgconfig" "" "-Wl,-rpath,$libdir" || return 1
	serve "$p/sbin/slubd" || return 1
	hello_run || rc=1
	stop_slubd
	out=$(mk uninstall PREFIX="$p" SYSCONFDIR="$e" 2>&1) || { say "make uninstall failed:"; printf '%s\n' "$out" | indent; return 1; }
	grep -qx "ldconfig" <<<"$out" || { say "make uninstall did not run ldconfig"; rc=1; }
	nothing_left "$tmp/list" "$e/slubd" "$p/share/doc/slubd" || rc=1
	out=$(find "$p" "$e" \( -type f -o -type l \) 2>/dev/null)
	[ -n "$out" ] && { say "files left:"; printf '%s\n' "$out" | indent; rc=1; }
	return "$rc"
}

case_live_usr_local() {
	local out rc=0 f
	if [ "${T_INSTALL_LIVE:-}" != 1 ]; then
		why="installs into /usr/local and /etc/slubd of this host and runs ldconfig: set T_INSTALL_LIVE=1 (as root, on a host you may change) to run it"
		return 2
	fi
	if [ "$(id -u)" -ne 0 ]; then
		why="needs root (T_INSTALL_LIVE=1 installs into /usr/local)"
		return 2
	fi
	installed /usr/local /etc | tr ' ' '\n' >"$tmp/list"
	find /usr/local /etc -xdev 2>/dev/null | sort >"$tmp/before"
	for f in $(cat "$tmp/list") /etc/slubd; do
		if [ -e "$f" ]; then
			why="$f exists: slubd is installed here already (make uninstall PREFIX=/usr/local first)"
			return 2
		fi
	done
	if ! out=$(mk install PREFIX=/usr/local 2>&1); then
		say "make install PREFIX=/usr/local failed:"
		printf '%s\n' "$out" | tail -20 | indent
		rc=1
	elif ! grep -qx "ldconfig" <<<"$out" || grep -q "^note: " <<<"$out"; then
		say "make install PREFIX=/usr/local: no ldconfig, or a note that /usr/local/lib is not searched:"
		printf '%s\n' "$out" | tail -5 | indent
		rc=1
	fi
	if [ "$rc" -eq 0 ] && hello_build "" ""; then
		if serve /usr/local/sbin/slubd; then
			hello_run || rc=1
			stop_slubd
		else
			rc=1
		fi
	else
		rc=1
	fi
	out=$(mk uninstall PREFIX=/usr/local 2>&1) || { say "make uninstall failed:"; printf '%s\n' "$out" | indent; rc=1; }
	nothing_left "$tmp/list" /etc/slubd /usr/local/share/doc/slubd || rc=1
	find /usr/local /etc -xdev 2>/dev/null | sort >"$tmp/after"
	out=$(comm -13 "$tmp/before" "$tmp/after")
	if [ -n "$out" ]; then
		say "in /usr/local or /etc after make install and uninstall, not before:"
		printf '%s\n' "$out" | indent
		rc=1
	fi
	if ldconfig -p | grep -q "libslub\.so"; then
		say "libslub still in the dynamic linker's cache after make uninstall:"
		ldconfig -p | grep "libslub\.so" | indent
		rc=1
	fi
	return "$rc"
}

all=(no_rebuild install_only run_builds destdir edited_config live_prefix live_usr_local)
run_cases "$@"
