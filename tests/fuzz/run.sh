#!/usr/bin/env bash
# run.sh - build fuzz_ctl (tests/fuzz/Makefile.fuzz) and fuzz slubd's control
# protocol for a bounded time, starting from the committed seed corpus.
#
#   tests/fuzz/run.sh                  60 s
#   FUZZ_SECONDS=600 tests/fuzz/run.sh
#   FUZZ_JOBS=8 tests/fuzz/run.sh      8 fuzzing processes (libFuzzer -fork)
#   FUZZ_REQUIRED=1                    no clang/libFuzzer is a FAIL, not a skip (CI)
#
# Inputs that find new coverage go to a temporary folder, never into
# tests/fuzz/corpus; a crash is kept in $FUZZ_ARTIFACTS (build/fuzz/artifacts
# by default).  First, every reproducer in tests/fuzz/crashes/ is run once.
# Prints test-harness lines ("ok fuzz_ctl: ...", "FAIL fuzz_ctl: ...",
# "skip fuzz_ctl: ...") and exits non-zero on a crash, so tests/run.sh can run
# it too.
set -u
cd "$(dirname "$0")/../.."
seconds=${FUZZ_SECONDS:-60}
jobs=${FUZZ_JOBS:-0}
art=${FUZZ_ARTIFACTS:-build/fuzz/artifacts}
bin=build/fuzz/fuzz_ctl

mkdir -p build/fuzz
# clang with libFuzzer, or a skip (a FAIL where FUZZ_REQUIRED=1, as in CI)
cc=${FUZZ_CC:-$(command -v clang || command -v clang-14)}
if [ -z "$cc" ] || ! echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return 0; }' |
	"$cc" -fsanitize=fuzzer -x c - -o build/fuzz/probe >/dev/null 2>&1; then
	why="clang with libFuzzer is not installed (apt-get install clang libclang-rt-dev)"
	if [ "${FUZZ_REQUIRED:-0}" = 1 ]; then
		echo "FAIL fuzz_ctl: $why"
		exit 1
	fi
	echo "skip fuzz_ctl: $why"
	exit 0
fi
rm -f build/fuzz/probe
if ! make --no-print-directory -f tests/fuzz/Makefile.fuzz FUZZ_CC="$cc" fuzz >build/fuzz/build.log 2>&1; then
	tail -n 30 build/fuzz/build.log
	echo "FAIL fuzz_ctl: the fuzz target does not build (build/fuzz/build.log)"
	exit 1
fi

fail=0
# the known reproducers: each must run clean
for r in tests/fuzz/crashes/*; do
	[ -f "$r" ] || continue
	case "$r" in *.txt|*.md) continue ;; esac
	if out=$("$bin" "$r" 2>&1); then
		echo "ok fuzz_ctl reproducer $(basename "$r")"
	else
		echo "$out" | grep -v '^INFO:' | tail -n 40
		echo "FAIL fuzz_ctl reproducer $(basename "$r"): crashes ($r)"
		fail=1
	fi
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$art" "$tmp/new"
log=$tmp/fuzz.log
opts=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=8192
      -print_final_stats=1 -artifact_prefix="$art/")
[ "$jobs" -gt 0 ] && opts+=(-fork="$jobs" -ignore_crashes=0)
start=$(date +%s)
"$bin" "${opts[@]}" "$tmp/new" tests/fuzz/corpus >"$log" 2>&1
rc=$?
secs=$(( $(date +%s) - start ))
# executions: the final stats (one process), or the sum of the fork mode's lines
execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
[ -n "$execs" ] || execs=$(sed -n 's/^#\([0-9]*\).*DONE.*/\1/p' "$log" | tail -n 1)
[ -n "$execs" ] || execs=$(sed -n 's/^#\([0-9]*\).*/\1/p' "$log" | tail -n 1)
cov=$(grep -o 'cov: [0-9]* ft: [0-9]*' "$log" | tail -n 1)
if [ "$rc" -ne 0 ]; then
	crash=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)
	grep -v '^#[0-9]' "$log" | tail -n 60
	echo "FAIL fuzz_ctl: exit status $rc after ${execs:-?} executions in ${secs} s (${cov:-no coverage figures}); reproducer: ${crash:-none written}; run it again with: $bin ${crash:-<file>}"
	exit 1
fi
grep -E '^#[0-9]+[[:space:]]+(INITED|DONE)' "$log"
echo "ok fuzz_ctl: ${execs:-?} executions in ${secs} s, no crash (${cov:-?}, $(ls "$tmp/new" | wc -l) new inputs)"
exit "$fail"
