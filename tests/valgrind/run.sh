#!/usr/bin/env bash
# run.sh - the end-to-end tests with every slubd they start under valgrind
# (memcheck): no error, no definitely or indirectly lost byte.
#
#   tests/valgrind/run.sh                     the e2e programs below, from build/
#   tests/valgrind/run.sh build/tests/e2e/t_e2e ...   only those
#   BUILD=build/variant-debug tests/valgrind/run.sh   another build folder
#   (not a SANITIZER= build: ASan and valgrind do not run together)
#
# The e2e helpers (tests/e2e/e2e.c) start slubd under $SLUBD_WRAPPER, give
# each run a valgrind log of its own in $VG_LOGS (build/valgrind/ by default,
# emptied first), stretch their timeouts ($E2E_TIMEOUT_SCALE), and fail a case
# whose slubd valgrind found fault with, showing the log.  Afterwards this
# script reads every log again and prints the summary: slubd runs under
# valgrind, how many reached their leak check, errors, leaks.  It exits
# non-zero if a test failed, valgrind reported an error or a leak, or no
# slubd ran under valgrind at all.  valgrind missing is a failure, never a
# skip: scripts/deps.sh --bench (or apt-get install -y valgrind) installs it.
#
# The programs:
#   t_e2e, t_e2e_refuse, t_e2e_daemon, t_examples, t_service, t_access  every
#           slubd ends with SIGTERM (or refuses to start, or prints --help):
#           valgrind's leak check runs
#   t_flood  3 rounds of the floods (the memory bounds are not checked: RSS
#           would be valgrind's): every path that cuts, refuses and pauses
#           connections, then SIGTERM and the leak check
#   t_restart, t_restart_adopt  sigterm_adopt and adopt_refuses_foreign end
#           with SIGTERM or a refusal and are checked in full.  restart_under_load SIGKILLs
#           slubd on purpose, five times: a killed process never reaches
#           valgrind's leak check, so for its first slubd (the only one it
#           starts through the helpers; the restarts it makes itself) only the
#           errors reported before the kill count; socket_activation starts
#           slubd through systemd-socket-activate, outside the helpers.  Both
#           are run anyway: an invalid access during a SIGKILL-restart cycle is
#           still seen.
#   t_slots, t_store, t_store_cut, t_store_owner, t_hostile, t_names, t_names_attack
#           refused and evicted connections, cut and sealed arenas, a
#           hostile client's scribbles, the supervisor of named arenas and
#           its servers
#   t_readme  the README's quick start and example program against slubd
#   t_api   lookup, stats and arena info of slub.h, kmalloc's slab_debug
#           (new arenas and an adopted one); every slubd ends with SIGTERM
#   t_reclaim  reclaim (dead owners, --force), reports and their log lines
#           (5 slubd runs, 16 s: no error, leak or open descriptor)
#   t_held  a live process's id held for its connection, forked children seen
#   t_ctl   slubctl's checks, messages and exit statuses against short-lived
#           slubds, each ended with SIGTERM (or refusing --arena-size 3M)
# Not run by default (name them to run them): t_busy's sigterm_stopped ends
# slubd with _exit() on purpose while a thread of it is stuck on a stopped
# client's lock (nothing that thread may read is freed, so its descriptors
# stay open at exit: valgrind counts them); t_chaos asserts client
# latencies (2 s) that clients sharing locks with a slubd under valgrind
# cannot keep; t_corrupt, t_corrupt_locks and t_corrupt_random run ~130
# cases of ~1 s each natively, far past this run's budget; t_limits is not
# in the list (not measured under valgrind).
set -u
cd "$(dirname "$0")/../.." || exit 1
build=${BUILD:-build}
logs=${VG_LOGS:-$build/valgrind}
scale=${E2E_TIMEOUT_SCALE:-10}
supp=tests/valgrind/slubd.supp

if ! command -v valgrind >/dev/null 2>&1; then
	echo "FAIL valgrind: valgrind is not installed (scripts/deps.sh --bench, or apt-get install -y valgrind)"
	exit 1
fi
if ! valgrind --tool=none -q /bin/true >/dev/null 2>&1; then
	echo "FAIL valgrind: $(command -v valgrind) does not run here: valgrind --tool=none /bin/true fails"
	exit 1
fi
if [ $# -gt 0 ]; then
	tests=("$@")
else
	tests=()
	for t in t_e2e t_e2e_refuse t_e2e_daemon t_examples t_service t_access t_flood \
		 t_restart t_restart_adopt t_slots t_store t_store_cut t_store_owner t_hostile \
		 t_names t_names_attack t_readme t_api t_ctl t_reclaim t_held; do
		[ -x "$build/tests/e2e/$t" ] && tests+=("$build/tests/e2e/$t")
	done
fi
if [ ! -x "$build/slubd" ] || [ ${#tests[@]} -eq 0 ]; then
	echo "FAIL valgrind: no $build/slubd or no e2e test programs in $build/tests/e2e (make all first)"
	exit 1
fi
build=$(cd "$build" && pwd)
rm -rf "$logs"
mkdir -p "$logs"
logs=$(cd "$logs" && pwd)
case "$logs" in
*[[:space:]]*) echo "FAIL valgrind: the log folder $logs has a blank in its path (SLUBD_WRAPPER is split at blanks)"; exit 1;;
esac

# --error-exitcode: slubd's exit status says valgrind found something (e2e_stop
#   checks it, and the log); --errors-for-leak-kinds: a definite or indirect
#   leak is such an error; %p: the helpers make each run's log name unique.
opts="--error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect"
opts+=" --show-leak-kinds=definite,indirect --track-origins=yes --num-callers=30"
# descriptors slubd still holds at its exit (not valgrind errors: counted here)
opts+=" --track-fds=yes"
# suppressions: only genuine false positives in third-party code, each one
# commented in the file with why (none are needed now; the file may be absent)
if [ -f "$supp" ] && grep -q '^{' "$supp"; then
	opts+=" --suppressions=$PWD/$supp"
fi
export SLUBD_WRAPPER="valgrind $opts --log-file=$logs/slubd.%p.log"
export E2E_TIMEOUT_SCALE=$scale
export SLUBD=$build/slubd SLUBCTL=$build/slubctl EXAMPLES=$build/examples

echo "== valgrind: $(valgrind --version); logs in $logs"
echo "   SLUBD_WRAPPER=$SLUBD_WRAPPER"
t0=$(date +%s)
TEST_TIMEOUT=${TEST_TIMEOUT:-900} tests/run.sh "${tests[@]}"
tests_rc=$?
t1=$(date +%s)

# every log: finished (its ERROR SUMMARY) or killed; errors; leaked bytes
runs=0 finished=0 killed=0 errors=0 leaks=0 fdleaks=0 bad=()
for f in "$logs"/slubd.*.log; do
	[ -e "$f" ] || continue
	runs=$((runs + 1))
	read -r complete nerr def ind traces fds < <(awk '
		{ body = $0; if (!sub(/^==[0-9]+== ?/, "", body)) next }
		fdpend && body !~ /inherited from parent/ { fds++ }
		{ fdpend = (body ~ /^Open /) }
		body ~ /^   at 0x/ && !stack { traces++ }
		{ stack = (body ~ /^   (at|by) 0x/) }
		body ~ /ERROR SUMMARY: / { done = 1; s = body; sub(/.*ERROR SUMMARY: /, "", s); gsub(/,/, "", s); nerr = s + 0 }
		body ~ /definitely lost: / && body !~ /loss record/ { s = body; sub(/.*definitely lost: /, "", s); gsub(/,/, "", s); def = s + 0 }
		body ~ /indirectly lost: / && body !~ /loss record/ { s = body; sub(/.*indirectly lost: /, "", s); gsub(/,/, "", s); ind = s + 0 }
		END { printf "%d %d %d %d %d %d\n", done, nerr, def, ind, traces, fds }' "$f")
	if [ "$complete" -eq 1 ]; then
		finished=$((finished + 1))
		# leak records count as errors too (--errors-for-leak-kinds): apart here
		lrec=$(grep -cE 'are (definitely|indirectly) lost in loss record' "$f")
		e=$((nerr - lrec))
		[ "$e" -lt 0 ] && e=0
		errors=$((errors + e))
		if [ "$def" -gt 0 ] || [ "$ind" -gt 0 ]; then
			leaks=$((leaks + 1))
		fi
		fdleaks=$((fdleaks + fds))
		if [ "$e" -gt 0 ] || [ "$def" -gt 0 ] || [ "$ind" -gt 0 ] || [ "$fds" -gt 0 ]; then
			bad+=("$f: $e errors, $def bytes definitely and $ind indirectly lost, $fds descriptors open at exit")
		fi
	else
		# killed (SIGKILL on purpose, or a cleanup): only errors reported before count
		killed=$((killed + 1))
		errors=$((errors + traces))
		[ "$traces" -gt 0 ] && bad+=("$f: killed, $traces stack traces of errors reported before")
	fi
done

echo "== valgrind summary"
for b in ${bad[@]+"${bad[@]}"}; do
	echo "   $b"
done
echo "valgrind: $runs slubd runs ($finished reached the leak check, $killed killed first)," \
	"$errors errors, $leaks leaks, $fdleaks descriptors left open; $((t1 - t0)) s"
if [ "$runs" -eq 0 ]; then
	echo "FAIL valgrind: no slubd ran under valgrind (the e2e helpers did not use SLUBD_WRAPPER?)"
	exit 1
fi
if [ "$tests_rc" -ne 0 ] || [ "$errors" -ne 0 ] || [ "$leaks" -ne 0 ] || [ "$fdleaks" -ne 0 ]; then
	echo "FAIL valgrind: see the failed cases above and the logs in $logs"
	exit 1
fi
exit 0
