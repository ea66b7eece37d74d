#!/usr/bin/env bash
# run.sh - run every test program given, each under a timeout, and add up
# their "ok" / "FAIL" / "skip" lines.  The last line is the summary:
#   N passed, N failed, N skipped
# A program that exits non-zero without a FAIL line (a crash, a timeout)
# counts as one more failure.
set -u
limit=${TEST_TIMEOUT:-300}
pass=0 fail=0 skip=0
for t in "$@"; do
	name=$(basename "$t")
	echo "== $name"
	out=$(mktemp)
	timeout -k 10 "$limit" "$t" 2>&1 | tee "$out"
	rc=${PIPESTATUS[0]}
	p=$(grep -c '^ok ' "$out")
	f=$(grep -c '^FAIL ' "$out")
	s=$(grep -c '^skip ' "$out")
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
			echo "FAIL $name: timed out after ${limit}s"
		else
			echo "FAIL $name: exited with status $rc"
		fi
		f=1
	fi
	pass=$((pass + p)) fail=$((fail + f)) skip=$((skip + s))
	rm -f "$out"
done
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
