/* tlib.c - the helpers every test program shares; see tlib.h. */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tlib.h"

/* ---- time ------------------------------------------------------------------ */

uint64_t t_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

uint64_t t_now_ms(void)
{
	return t_now_ns() / 1000000;
}

double t_now_s(void)
{
	return (double)t_now_ns() / 1e9;
}

static void sleep_ts(struct timespec ts)
{
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

void t_sleep_ms(int ms)
{
	sleep_ts((struct timespec){ ms / 1000, (long)(ms % 1000) * 1000000 });
}

void t_sleep_us(unsigned int us)
{
	sleep_ts((struct timespec){ us / 1000000, (long)(us % 1000000) * 1000 });
}

/* ---- the environment ------------------------------------------------------ */

unsigned long t_env_ul(const char *name, unsigned long dflt)
{
	const char *v = getenv(name);
	char *end;
	unsigned long n;

	if (!v || !*v)
		return dflt;
	n = strtoul(v, &end, 0);
	return *end ? dflt : n;
}

/* ---- pseudo-random numbers ------------------------------------------------ */

uint64_t t_rand(uint64_t *state)
{
	uint64_t x = *state ? *state : 0x9e3779b97f4a7c15ULL;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545F4914F6CDD1DULL;
}

uint64_t t_splitmix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/* ---- processes ------------------------------------------------------------- */

void *t_shared(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED) {
		CHECKF(0, "mmap(%zu) shared: %s", size, strerror(errno));
		return NULL;
	}
	return p;
}

/*
 * fork with the output flushed (nothing buffered is printed twice); in the
 * child, fresh check state.  -1 with a failed check when it cannot fork.
 */
static pid_t fork_fresh(void)
{
	pid_t pid;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0)
		CHECKF(0, "fork: %s", strerror(errno));
	if (pid == 0) {
		t_failed = 0;
		t_skipped = NULL;
	}
	return pid;
}

/* in a child: flush, and exit 1 if a check failed */
static void __attribute__((noreturn)) exit_checked(void)
{
	fflush(stdout);
	fflush(stderr);
	_exit(t_failed ? 1 : 0);
}

pid_t t_fork(void (*fn)(void *arg), void *arg)
{
	pid_t pid = fork_fresh();

	if (pid == 0) {
		fn(arg);
		exit_checked();
	}
	return pid;
}

const char *t_status_str(int status, char *buf, size_t len)
{
	if (status == -1)
		snprintf(buf, len, "killed after a timeout");
	else if (WIFEXITED(status))
		snprintf(buf, len, "exit %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, len, "signal %d (%s)%s", WTERMSIG(status), strsignal(WTERMSIG(status)),
			 WCOREDUMP(status) ? ", core dumped" : "");
	else
		snprintf(buf, len, "wait status %#x", status);
	return buf;
}

int t_wait(pid_t pid, const char *what)
{
	char how[96];
	int status;

	if (pid <= 0) {
		CHECKF(0, "%s: never started", what);
		return 0;
	}
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			CHECKF(0, "%s: waitpid: %s", what, strerror(errno));
			return 0;
		}
	}
	CHECKF(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s: %s", what,
	       t_status_str(status, how, sizeof(how)));
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

int t_waitpid_by(pid_t pid, uint64_t deadline_ms)
{
	int status;
	pid_t r;

	while ((r = waitpid(pid, &status, WNOHANG)) == 0 && t_now_ms() < deadline_ms)
		t_sleep_ms(2);
	if (r == pid)
		return status;
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return -1;
}

#define SKIP_LEN 512
static char *skip_buf;		/* shared with the isolated child: why it skipped */

pid_t t_isolate(void (*body)(void), const struct t_isolation *o)
{
	char how[96];
	int status = 0;
	pid_t pid;

	if (!skip_buf) {
		skip_buf = t_shared(SKIP_LEN);
		if (!skip_buf)
			return -1;
	}
	skip_buf[0] = '\0';
	pid = fork_fresh();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		if (o->own_group) {
			setpgid(0, 0);
			prctl(PR_SET_PDEATHSIG, SIGKILL);
		}
		alarm(o->timeout_s);
		body();
		if (o->child_end)
			o->child_end();
		if (t_skipped && !t_failed)
			snprintf(skip_buf, SKIP_LEN, "%s", t_skipped);
		exit_checked();
	}
	/* as in the child: whichever runs first, the group exists before the parent kills it */
	if (o->own_group)
		setpgid(pid, pid);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (WIFSIGNALED(status)) {
		CHECKF(0, "case died: %s%s", t_status_str(status, how, sizeof(how)),
		       WTERMSIG(status) == SIGALRM ? " - timed out" : "");
		if (WTERMSIG(status) == SIGALRM && o->timeout_hint)
			printf("  %s\n", o->timeout_hint);
	} else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		t_failed = 1;	/* the child printed its failed checks */
	} else if (skip_buf[0]) {
		static char why[SKIP_LEN];

		snprintf(why, sizeof(why), "%s", skip_buf);
		t_skipped = why;
	}
	return pid;
}

/* ---- problems noted by many processes --------------------------------------- */

void t_problem(struct t_problems *p, const char *fmt, ...)
{
	/* each writer owns the slot its add returned: no two write one sentence */
	uint32_t n = __atomic_fetch_add(&p->nmsg, 1, __ATOMIC_SEQ_CST);
	va_list ap;

	__atomic_add_fetch(&p->count, 1, __ATOMIC_SEQ_CST);
	if (n >= T_PROBLEM_MSGS)
		return;
	va_start(ap, fmt);
	vsnprintf(p->msg[n], sizeof(p->msg[n]), fmt, ap);
	va_end(ap);
}

void t_problems_show(const struct t_problems *p, const char *what)
{
	uint32_t n = __atomic_load_n(&p->nmsg, __ATOMIC_SEQ_CST);

	for (uint32_t i = 0; i < n && i < T_PROBLEM_MSGS; i++)
		printf("  %s: %s\n", what, p->msg[i]);
	if (n > T_PROBLEM_MSGS)
		printf("  (%u more: %s)\n", n - T_PROBLEM_MSGS, what);
}
