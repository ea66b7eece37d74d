/*
 * harness.h - the tiny test harness.  A test program lists its cases in a
 * table and calls t_main(); each case prints one line:
 *     ok NAME            passed
 *     FAIL NAME          a CHECK failed (the failed checks are printed above)
 *     skip NAME: WHY     could not run here, and why
 * tests/run.sh runs every test program under a timeout, adds the lines up and
 * ends with "N passed, N failed, N skipped".  A program that dies counts as
 * one more failure.
 */
#ifndef TESTS_HARNESS_H
#define TESTS_HARNESS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct t_case {
	const char *name;
	void (*fn)(void);
};

extern int t_failed;		/* the current case failed */
extern const char *t_skipped;	/* the current case was skipped: why */

#define CHECK(cond) do { \
	if (!(cond)) { \
		printf("  check failed %s:%d: %s\n", __FILE__, __LINE__, #cond); \
		fflush(stdout); \
		t_failed = 1; \
	} \
} while (0)

#define CHECKF(cond, ...) do { \
	if (!(cond)) { \
		printf("  check failed %s:%d: %s: ", __FILE__, __LINE__, #cond); \
		printf(__VA_ARGS__); \
		printf("\n"); \
		fflush(stdout); \
		t_failed = 1; \
	} \
} while (0)

/* REQUIRE: a check the rest of the case cannot go on without */
#define REQUIRE(cond) do { CHECK(cond); if (t_failed) return; } while (0)

#define SKIP(why) do { t_skipped = (why); return; } while (0)

/* run the cases named on the command line, or all of them; exit 1 if any failed */
int t_main(const struct t_case *cases, int n, int argc, char **argv);

/*
 * a writable directory on a disk's file system (not tmpfs nor ramfs):
 * $TMPDIR, /var/tmp or /tmp, the first that is; NULL: none.  *ftype: its
 * statfs f_type.
 */
const char *t_disk_dir(long *ftype);

#define T_CASE(fn) { #fn, fn }
#define T_MAIN(...) \
	int main(int argc, char **argv) \
	{ \
		static const struct t_case cases[] = { __VA_ARGS__ }; \
		return t_main(cases, (int)(sizeof(cases) / sizeof(cases[0])), argc, argv); \
	}

#endif
