/*
 * tlib.h - the helpers every test program shares (tests/unit, tests/mp,
 * tests/e2e link tlib.o with harness.o): time, one pseudo-random generator,
 * memory shared with forked children, children that run a function, a case
 * isolated in a forked child under a timeout, and the problems that many
 * processes of one test note in shared memory.
 */
#ifndef TESTS_TLIB_H
#define TESTS_TLIB_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "harness.h"

/* ---- time ------------------------------------------------------------------ */

/* CLOCK_MONOTONIC in milliseconds, in nanoseconds */
uint64_t t_now_ms(void);
uint64_t t_now_ns(void);
/* CLOCK_MONOTONIC in seconds */
double t_now_s(void);
/* sleep ms milliseconds (resumed after a signal) */
void t_sleep_ms(int ms);
/* sleep us microseconds (resumed after a signal) */
void t_sleep_us(unsigned int us);

/* ---- the environment ------------------------------------------------------ */

/* the number in $name (strtoul, base 0), or dflt when it is unset, empty or not a number */
unsigned long t_env_ul(const char *name, unsigned long dflt);

/* ---- pseudo-random numbers ------------------------------------------------ */

/*
 * t_rand - xorshift64*: deterministic pseudo-random numbers from *state (a
 * state of 0 is taken as a fixed non-zero seed, xorshift's only dead state)
 */
uint64_t t_rand(uint64_t *state);
/* splitmix64: a 64-bit mix of x, to make seeds and patterns from a number */
uint64_t t_splitmix64(uint64_t x);

/* ---- processes ------------------------------------------------------------- */

/* zeroed memory shared with the children forked after it (MAP_SHARED); NULL with a failed check */
void *t_shared(size_t size);
/* fork; the child runs fn(arg) with fresh check state and exits 1 if a check failed */
pid_t t_fork(void (*fn)(void *arg), void *arg);
/* wait for a child of t_fork; 1 if it exited 0, else 0 with a failed check */
int t_wait(pid_t pid, const char *what);
/* wait for pid until t_now_ms() reaches deadline_ms (then SIGKILL): its status, or -1 when killed */
int t_waitpid_by(pid_t pid, uint64_t deadline_ms);
/* a wait status in words: "exit 1", "signal 11 (Segmentation fault)"; -1: killed after a timeout */
const char *t_status_str(int status, char *buf, size_t len);

/*
 * t_isolate - run body in a forked child, so that a crash or a hang in one
 * case is that case's failure (with the signal) instead of the whole test
 * program's, and cases never share address-space state.  The child starts
 * with fresh check state and is killed by SIGALRM after o->timeout_s; it
 * reports through its exit status (1: a check failed, it printed which) and
 * a shared buffer (why it skipped), which set t_failed and t_skipped here.
 * Returns the child's pid (reaped already), or -1 when it could not fork.
 */
struct t_isolation {
	unsigned int timeout_s;
	int own_group;			/* the child leads its own process group and
					 * dies with the test program (PR_SET_PDEATHSIG) */
	void (*child_end)(void);	/* NULL, or run in the child after body */
	const char *timeout_hint;	/* NULL, or a line printed when it timed out */
};
pid_t t_isolate(void (*body)(void), const struct t_isolation *o);

/* ---- problems noted by many processes --------------------------------------- */

/*
 * struct t_problems lives in memory shared by a test's processes
 * (t_shared): every process of the test counts what it finds wrong there and
 * leaves a sentence for the first T_PROBLEM_MSGS; the test program checks
 * count and prints the sentences.  The counter and the slot index are taken
 * with atomic adds, so a process killed at any point loses at most its own
 * sentence, never another's.
 */
#define T_PROBLEM_MSGS	16
#define T_PROBLEM_LEN	240
struct t_problems {
	uint64_t count;
	uint32_t nmsg;			/* sentences begun (may exceed T_PROBLEM_MSGS) */
	char msg[T_PROBLEM_MSGS][T_PROBLEM_LEN];
};
void t_problem(struct t_problems *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* print the sentences kept, each as "  WHAT: sentence", and how many more there were */
void t_problems_show(const struct t_problems *p, const char *what);

#endif
