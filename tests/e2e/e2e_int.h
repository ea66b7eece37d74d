/*
 * e2e_int.h - what the files of the e2e helpers share among themselves (not
 * for the cases: they use e2e.h).
 */
#ifndef TESTS_E2E_E2E_INT_H
#define TESTS_E2E_E2E_INT_H

#include <sys/types.h>

#include "e2e.h"

/* a slubd run under $SLUBD_WRAPPER, and the log its valgrind writes */
struct e2e_wrapped {
	pid_t pid;
	int checked;		/* its log was read (after it was reaped, or at the cleanup) */
	char log[256];
};

/* what a case child shares with the test program, for the cleanup after it */
struct e2e_state {
	int used[E2E_MAX_DAEMONS];
	struct e2e_slubd d[E2E_MAX_DAEMONS];
	int log_shown;		/* a daemon log was printed already */
	int nr_wrapped;
	struct e2e_wrapped w[E2E_MAX_WRAPPED];
};

extern struct e2e_state *e2e_st;

/* remove dir and everything under it */
void e2e_rm_rf(const char *dir);

/* e2e_wrap.c: a slubd under $SLUBD_WRAPPER */
#define WRAP_MAX_ARGS 32		/* words of $SLUBD_WRAPPER */
/*
 * wrap_argv - the wrapper's words, then inner (NULL-terminated), into out
 * (room for WRAP_MAX_ARGS + ninner + 1); %p of --log-file= replaced with a
 * name no earlier run took (the file is created here, empty, to claim it):
 * its path in log.  0, or -1 with a failed check.
 */
int wrap_argv(char *const inner[], char **out, char *logarg, size_t logarglen, char *log,
	      size_t loglen);
/* record a wrapped run so that its log is read even if no helper reaps it */
void wrap_add(pid_t pid, const char *log);
/*
 * wrap_check - read the valgrind log of a wrapped slubd that has ended
 * (status: its wait status, or -1 unknown: killed, or reaped elsewhere).  1
 * clean, 0 with a failed check and the log shown.
 */
int wrap_check(struct e2e_wrapped *w, int status, const char *when);
/* slubd pid was reaped (status, or -1 if killed after a timeout): read its log if it was wrapped */
void wrap_reaped(pid_t pid, int status, const char *when);
/* argv[0] is the slubd the helpers start */
int wrap_is_slubd(const char *path);
/* the wrapper's --error-exitcode=N; 0: none */
int wrap_error_exitcode(void);

#endif
