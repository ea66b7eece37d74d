/*
 * t_reclaim.c - what a dead process left, and the reports of misuse
 * (issue 12, items 2, 3 and 13).
 *
 *   reclaim_dead_owner  a process holds 5 objects of a SLAB_STORE_USER pool
 *                       and 5 of a plain pool and is SIGKILLed, while a live
 *                       process holds 3 of the first.  slubd logs the dead
 *                       owner once and no scrub line after it, however many
 *                       scrubs run.  slubctl reclaim frees the 5 and keeps
 *                       the pool (a live reference), the live process's 3
 *                       untouched (contents and owner); once it is gone,
 *                       reclaim removes the pool (slubd's own reference,
 *                       of slubctl create, dropped).  The plain pool keeps no
 *                       owners: reclaim frees nothing and says so.
 *   double_free_reported a double free in a poisoned pool: slubctl reports
 *                       shows its kind, pool, offset, pid and caller (text
 *                       and --json); stats and validate both count 1 error
 *                       (validate exits 1); slubd logs it once.
 *   reports_rate_limited 14 double frees at once: 10 lines in slubd's log (its
 *                       budget a minute), and one saying 4 more were not
 *                       logged; slubctl reports lists all 14.
 *   reclaim_c_call      kmem_cache_reclaim() in a program frees what a dead
 *                       owner left, and refuses a pool without owners.
 *   force_discard       reclaim --force on a plain pool a dead process left 5
 *                       objects in: refused (nothing discarded) while a live
 *                       program references it, while one that opened it and
 *                       destroyed its handle is still connected, and while a
 *                       forked child uses the arena with no connection; then
 *                       the 5 are discarded and the pool removed, a live
 *                       program's objects in another pool untouched, and
 *                       validate finds the arena consistent.
 *   force_scribbled     reclaim --force on a plain pool whose descriptor a
 *                       client scribbled with the words of a reviewer's seed
 *                       (rev_fuzz.sh seed 40: its second pool's descriptor, a
 *                       wild per-CPU offset among them, which made slubd
 *                       follow it into SIGSEGV in cpu_lock before 73055a6):
 *                       slubd stays up and answers with an error naming the
 *                       pool, and validate answers (the pool's errors).
 *   policy_scribbled    another uid (65534), attached, writes through its own
 *                       mapping its uid into the creator word of root's pool
 *                       (5 objects a dead process left), and renames
 *                       kmalloc-64 with CACHE_SYSTEM cleared and its uid in:
 *                       slubctl limit, destroy (forced) and reclaim --force of
 *                       them are refused (exit 1, EPERM, saying the arena
 *                       disagrees with slubd's record), the pool intact (its
 *                       5 objects, its reference, no cap), the disagreement
 *                       logged once.  slubd restarted on the arena (the
 *                       scribble still there): still refused, while that
 *                       uid's own pool, made before the restart, is still
 *                       its own to cap.  The record (slubd.pools, 0600)
 *                       made 0644 and slubd restarted: it is ignored, said
 *                       so, and that uid's pool is root's alone to cap (no
 *                       creator known).
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <grp.h>
#include <stddef.h>
#include <unistd.h>

#include "e2e.h"
#include "harness.h"
#include "layout.h"
#include "slub.h"

#define SCRUB_CONF	"[limits]\nscrub_interval = 1\n"
#define DEAD_HELD	5
#define LIVE_HELD	3
#define PATTERN		0x5eed000000000000ULL
#define CHILD_OBJS	1024	/* 16 slabs of 64-byte objects at least */

struct shared {
	int dead_ready, live_ready, live_go, live_ok, user_ready, user_ok;
	pid_t df_pid;
	int df_count;
	uint64_t df_offset;
	char why[160];
};
static struct shared *sh;

static void say(const char *why)
{
	if (!sh->why[0])
		snprintf(sh->why, sizeof(sh->why), "%s", why);
}

static int wait_flag(int *flag, int ms)
{
	for (int waited = 0; !__atomic_load_n(flag, __ATOMIC_ACQUIRE); waited += 5) {
		if (waited >= ms)
			return 0;
		e2e_sleep_ms(5);
	}
	return 1;
}

/* what a holder holds: DEAD_HELD objects of each pool named, until it is killed */
struct hold {
	const char *sock;
	const char *pool[2];		/* NULL: none */
	unsigned long flags[2];
};

static void dead_holder(void *arg)
{
	const struct hold *h = arg;

	if (slub_attach(h->sock)) {
		say("a holder cannot attach");
		_exit(1);
	}
	for (int k = 0; k < 2 && h->pool[k]; k++) {
		struct kmem_cache *s = kmem_cache_create(h->pool[k], 64, 0, h->flags[k], NULL);

		for (int i = 0; i < DEAD_HELD; i++) {
			uint64_t *p = s ? kmem_cache_alloc(s, 0) : NULL;

			if (!p) {
				say("a holder cannot open its pool or allocate");
				_exit(1);
			}
			*p = PATTERN + (uint64_t)i;
		}
	}
	__atomic_store_n(&sh->dead_ready, 1, __ATOMIC_RELEASE);
	for (;;)
		pause();
}

/* fork a holder of h, wait until it holds its objects, SIGKILL it */
static void holder_dies(struct hold *h, struct e2e_slubd *d)
{
	pid_t dead;

	h->sock = d->sock;
	sh->dead_ready = 0;
	dead = e2e_fork(dead_holder, h);
	REQUIRE(wait_flag(&sh->dead_ready, e2e_scale_ms(10000)));
	REQUIRE(kill(dead, SIGKILL) == 0);
	REQUIRE(e2e_waitpid_timeout(dead, e2e_scale_ms(5000)) != -1);
}

/* holds LIVE_HELD objects of rc.su through the reclaim; checks them after */
static void live_holder(void *arg)
{
	struct kmem_cache *su;
	uint64_t *held[LIVE_HELD];

	if (slub_attach(arg) || !(su = kmem_cache_create("rc.su", 64, 0, SLAB_STORE_USER, NULL))) {
		say("the live process cannot attach or open rc.su");
		_exit(1);
	}
	for (int i = 0; i < LIVE_HELD; i++) {
		held[i] = kmem_cache_alloc(su, 0);
		if (!held[i]) {
			say("the live process cannot allocate");
			_exit(1);
		}
		*held[i] = PATTERN + 100 + (uint64_t)i;
	}
	__atomic_store_n(&sh->live_ready, 1, __ATOMIC_RELEASE);
	if (!wait_flag(&sh->live_go, e2e_scale_ms(30000)))
		_exit(1);
	for (int i = 0; i < LIVE_HELD; i++) {
		if (*held[i] != PATTERN + 100 + (uint64_t)i)
			say("an object of the live process was overwritten (freed under it)");
		if (kmem_cache_owner(su, held[i]) != getpid())
			say("an object of the live process is no longer its own");
	}
	for (int i = 0; i < LIVE_HELD; i++)
		kmem_cache_free(su, held[i]);
	kmem_cache_destroy(su);
	slub_detach();
	__atomic_store_n(&sh->live_ok, 1, __ATOMIC_RELEASE);
	_exit(0);
}

E2E_CASE(reclaim_dead_owner)
{
	struct e2e_opts o = { .config = SCRUB_CONF };
	struct hold hold = { NULL, { "rc.su", "rc.plain" }, { SLAB_STORE_USER, 0 } };
	struct e2e_slubd *d;
	struct e2e_cache c;
	pid_t live;
	char *out = NULL;
	int rc, lines;

	sh = e2e_shared(sizeof(*sh));
	d = e2e_start(&o);
	REQUIRE(d != NULL);
	/* slubd's own reference too (slubctl create): reclaim drops it when nothing live holds one */
	REQUIRE(e2e_slubctl(d, NULL, "create", "rc.su", "64", "--flags", "store_user", NULL) == 0);
	live = e2e_fork(live_holder, d->sock);
	REQUIRE(wait_flag(&sh->live_ready, e2e_scale_ms(10000)));
	holder_dies(&hold, d);

	/* the dead owner is found (its close makes slubd scrub), then 3 more scrubs */
	for (int i = 0; i < 200 && e2e_log_count(d, "died holding") == 0; i++)
		e2e_sleep_ms(e2e_scale_ms(20));
	e2e_sleep_ms(3500);
	lines = e2e_log_count(d, "died holding");
	CHECKF(lines == 1, "slubd logged the dead owner %d times, want once", lines);
	lines = e2e_log_count(d, "scrub: recovered");
	CHECKF(lines <= 1, "slubd logged %d scrub lines for one death (at most 1 wanted)", lines);

	/* reclaim with a live process holding the pool: the dead one's 5 freed, the pool stays */
	rc = e2e_slubctl(d, &out, "reclaim", "rc.su", NULL);
	CHECKF(rc == 0, "slubctl reclaim rc.su: exit %d: %s", rc, out ? out : "");
	CHECKF(out && strstr(out, "pool rc.su: 5 objects of 1 dead process freed"),
	       "reclaim rc.su said: %s", out ? out : "");
	CHECKF(out && strstr(out, "not removed: 1 reference of live programs"),
	       "reclaim rc.su with a live user said: %s", out ? out : "");
	free(out);
	out = NULL;
	REQUIRE(e2e_cache_stats(d->sock, "rc.su", &c, NULL) == 1);
	CHECKF(c.active_objs == LIVE_HELD, "rc.su holds %llu objects after reclaim, want %d (the "
	       "live process's)", (unsigned long long)c.active_objs, LIVE_HELD);

	/* destroy alone cannot remove it while the dead process's objects were there;
	 * the live process finds its objects as it left them, frees them and goes */
	__atomic_store_n(&sh->live_go, 1, __ATOMIC_RELEASE);
	e2e_wait(live, "the live process");
	CHECKF(sh->live_ok && !sh->why[0], "the live process: %s", sh->why[0] ? sh->why : "failed");
	rc = e2e_slubctl(d, &out, "reclaim", "rc.su", NULL);
	CHECKF(rc == 0 && out && strstr(out, "removed pool rc.su"),
	       "slubctl reclaim rc.su with no one left: exit %d: %s", rc, out ? out : "");
	free(out);
	out = NULL;
	CHECKF(e2e_cache_stats(d->sock, "rc.su", NULL, NULL) == 0, "rc.su still listed after reclaim");

	/* a plain pool keeps no owners: nothing freed, and said */
	rc = e2e_slubctl(d, &out, "reclaim", "rc.plain", NULL);
	CHECKF(rc == 0 && out && strstr(out, "no owner records") &&
	       strstr(out, "not removed: it holds 5 objects"),
	       "slubctl reclaim rc.plain: exit %d: %s", rc, out ? out : "");
	free(out);
	out = NULL;
	REQUIRE(e2e_cache_stats(d->sock, "rc.plain", &c, NULL) == 1);
	CHECKF(c.active_objs == DEAD_HELD, "rc.plain holds %llu objects, want %d",
	       (unsigned long long)c.active_objs, DEAD_HELD);
	/* the second reclaim logs nothing new about the dead owner */
	lines = e2e_log_count(d, "died holding");
	CHECKF(lines == 2, "the dead owner's lines: %d, want 2 (found once, freed once)", lines);
	if (t_failed)
		e2e_show_log(d, 30);
	e2e_stop(d);
}

/* sh->df_count double frees in a poisoned pool (the first object's offset kept), then exit */
static void double_freer(void *arg)
{
	struct kmem_cache *s;

	if (slub_attach(arg) || !(s = kmem_cache_create("rc.df", 64, 0, SLAB_POISON, NULL))) {
		say("the double freer cannot attach or open rc.df");
		_exit(1);
	}
	sh->df_pid = getpid();
	for (int i = 0; i < sh->df_count; i++) {
		void *p = kmem_cache_alloc(s, 0);

		if (!p) {
			say("the double freer cannot allocate");
			_exit(1);
		}
		if (!i)
			sh->df_offset = slub_offset(p);
		kmem_cache_free(s, p);
		kmem_cache_free(s, p);
	}
	kmem_cache_destroy(s);
	slub_detach();
	_exit(0);
}

/*
 * a slubd scrubbing every second, its pool rc.df (poisoned, slubd's own
 * reference: stats and validate can name it after), and count double frees
 * made in it by a process that has exited; NULL with a failed check
 */
static struct e2e_slubd *double_frees(int count)
{
	struct e2e_opts o = { .config = SCRUB_CONF };
	struct e2e_slubd *d;

	sh = e2e_shared(sizeof(*sh));
	d = e2e_start(&o);
	if (!d || e2e_slubctl(d, NULL, "create", "rc.df", "64", "--flags", "poison", NULL) != 0)
		return NULL;
	sh->df_count = count;
	e2e_wait(e2e_fork(double_freer, d->sock), "the double freer");
	return sh->why[0] ? NULL : d;
}

E2E_CASE(double_free_reported)
{
	struct e2e_slubd *d;
	struct e2e_cache c;
	char *out = NULL, want[128];
	int rc, lines;

	d = double_frees(1);
	REQUIRE(d != NULL);

	rc = e2e_slubctl(d, &out, "reports", "rc.df", NULL);
	snprintf(want, sizeof(want), "double free  pool rc.df  offset 0x%" PRIx64 "  pid %d",
		 sh->df_offset, (int)sh->df_pid);
	CHECKF(rc == 0 && out && strstr(out, want), "slubctl reports rc.df: exit %d, want \"%s\":\n%s",
	       rc, want, out ? out : "");
	CHECKF(out && strstr(out, "freed twice, by code at 0x"), "slubctl reports rc.df does not "
	       "name the caller:\n%s", out ? out : "");
	free(out);
	out = NULL;
	rc = e2e_slubctl(d, &out, "reports", "--json", NULL);
	snprintf(want, sizeof(want), "\"offset\": %" PRIu64 ",", sh->df_offset);
	CHECKF(rc == 0 && out && strstr(out, "\"kind\": \"double free\"") &&
	       strstr(out, "\"pool\": \"rc.df\"") && strstr(out, want),
	       "slubctl reports --json: exit %d, want %s:\n%s", rc, want, out ? out : "");
	free(out);
	out = NULL;

	/* stats and validate agree */
	REQUIRE(e2e_cache_stats(d->sock, "rc.df", &c, NULL) == 1);
	CHECKF(c.errors == 1, "stats: rc.df has %llu errors, want 1", (unsigned long long)c.errors);
	rc = e2e_slubctl(d, &out, "validate", "rc.df", NULL);
	CHECKF(rc == 1 && out && strstr(out, "reported:  1") && strstr(out, "slubctl reports rc.df"),
	       "slubctl validate rc.df after a double free: exit %d:\n%s", rc, out ? out : "");
	free(out);
	out = NULL;
	rc = e2e_slubctl(d, &out, "stats", NULL);
	CHECKF(out && strstr(out, "(slubctl reports rc.df)"), "stats does not point at reports:\n%s",
	       out ? out : "");
	free(out);

	/* logged once, by the scrub that follows (every second here) */
	for (int i = 0; i < 250 && e2e_log_count(d, "report: double free in pool rc.df") == 0; i++)
		e2e_sleep_ms(e2e_scale_ms(20));
	e2e_sleep_ms(2500);
	lines = e2e_log_count(d, "report: double free in pool rc.df");
	CHECKF(lines == 1, "slubd logged the double free %d times, want once", lines);
	if (t_failed)
		e2e_show_log(d, 30);
	e2e_stop(d);
}

/* 14 double frees at once: slubd logs 10 lines, and says how many more it did not */
E2E_CASE(reports_rate_limited)
{
	struct e2e_slubd *d;
	char *out = NULL;
	int lines;

	d = double_frees(14);
	REQUIRE(d != NULL);
	for (int i = 0; i < 250 && e2e_log_count(d, "more not logged") == 0; i++)
		e2e_sleep_ms(e2e_scale_ms(20));
	lines = e2e_log_count(d, "report: double free in pool rc.df");
	CHECKF(lines == 10, "slubd logged %d of 14 double frees, want 10 (its budget a minute)",
	       lines);
	CHECKF(e2e_log_count(d, "reports: 4 more not logged") == 1, "slubd did not say that 4 reports "
	       "went unlogged");
	/* all 14 are in the ring */
	CHECK(e2e_slubctl(d, &out, "reports", "rc.df", NULL) == 0);
	CHECKF(out && strstr(out, "14 reports shown"), "slubctl reports rc.df:\n%s", out ? out : "");
	free(out);
	if (t_failed)
		e2e_show_log(d, 30);
	e2e_stop(d);
}

/*
 * a live program of rc.f: opens it (a reference); step 1 destroys its
 * handle and stays connected (user_ok 1), step 2 exits
 */
static void f_user(void *arg)
{
	struct kmem_cache *f;

	if (slub_attach(arg) || !(f = kmem_cache_create("rc.f", 64, 0, 0, NULL))) {
		say("the program of rc.f cannot attach or open it");
		_exit(1);
	}
	__atomic_store_n(&sh->user_ready, 1, __ATOMIC_RELEASE);
	while (__atomic_load_n(&sh->live_go, __ATOMIC_ACQUIRE) < 1)
		e2e_sleep_ms(5);
	kmem_cache_destroy(f);
	__atomic_store_n(&sh->user_ok, 1, __ATOMIC_RELEASE);
	while (__atomic_load_n(&sh->live_go, __ATOMIC_ACQUIRE) < 2)
		e2e_sleep_ms(5);
	slub_detach();
	_exit(0);
}

/*
 * a live program of another pool: holds LIVE_HELD objects of rc.other and
 * forks a child that uses the arena with no connection of its own; step 3:
 * the child exits; step 4: it checks its objects, frees them and exits
 */
static void f_live(void *arg)
{
	struct kmem_cache *other;
	uint64_t *held[LIVE_HELD];
	pid_t child;

	if (slub_attach(arg) || !(other = kmem_cache_create("rc.other", 64, 0, 0, NULL))) {
		say("the live program cannot attach or open rc.other");
		_exit(1);
	}
	for (int i = 0; i < LIVE_HELD; i++) {
		held[i] = kmem_cache_alloc(other, 0);
		if (!held[i])
			_exit(1);
		*held[i] = PATTERN + 200 + (uint64_t)i;
	}
	child = fork();
	if (child == 0) {
		/* a few slabs' worth: new slabs enter the arena (a slot of its own) */
		void *p[CHILD_OBJS];

		for (int i = 0; i < CHILD_OBJS; i++)
			if (!(p[i] = kmem_cache_alloc(other, 0)))
				_exit(1);
		for (int i = 0; i < CHILD_OBJS; i++)
			kmem_cache_free(other, p[i]);
		sh->df_pid = getpid();
		__atomic_store_n(&sh->live_ready, 1, __ATOMIC_RELEASE);
		while (__atomic_load_n(&sh->live_go, __ATOMIC_ACQUIRE) < 3)
			e2e_sleep_ms(5);
		_exit(0);
	}
	if (child < 0)
		_exit(1);
	waitpid(child, NULL, 0);
	__atomic_store_n(&sh->live_ok, 3, __ATOMIC_RELEASE);
	while (__atomic_load_n(&sh->live_go, __ATOMIC_ACQUIRE) < 4)
		e2e_sleep_ms(5);
	for (int i = 0; i < LIVE_HELD; i++)
		if (*held[i] != PATTERN + 200 + (uint64_t)i)
			say("an object of the live program in rc.other was overwritten");
	for (int i = 0; i < LIVE_HELD; i++)
		kmem_cache_free(other, held[i]);
	kmem_cache_destroy(other);
	slub_detach();
	_exit(0);
}

/* reclaim NAME --force: its exit code, and a failed check unless the output holds want */
static int force(const struct e2e_slubd *d, const char *name, const char *want)
{
	char *out = NULL;
	int rc = e2e_slubctl(d, &out, "reclaim", name, "--force", NULL);

	CHECKF(out && strstr(out, want), "reclaim %s --force: exit %d, want \"%s\":\n%s", name, rc,
	       want, out ? out : "");
	free(out);
	return rc;
}

/* whether reclaim NAME --force says what */
static bool force_says(const struct e2e_slubd *d, const char *name, const char *what)
{
	char *out = NULL;
	bool says;

	e2e_slubctl(d, &out, "reclaim", name, "--force", NULL);
	says = out && strstr(out, what);
	free(out);
	return says;
}

/* rc.f still holds the dead process's objects */
static void f_intact(const struct e2e_slubd *d)
{
	struct e2e_cache c;

	REQUIRE(e2e_cache_stats(d->sock, "rc.f", &c, NULL) == 1);
	CHECKF(c.active_objs == DEAD_HELD, "rc.f: %llu objects after a refused force, want %d",
	       (unsigned long long)c.active_objs, DEAD_HELD);
}

/* wait until *flag is at least v */
static void f_until(int *flag, int v)
{
	for (int i = 0; i < 1000 && __atomic_load_n(flag, __ATOMIC_ACQUIRE) < v; i++)
		e2e_sleep_ms(e2e_scale_ms(10));
	REQUIRE(__atomic_load_n(flag, __ATOMIC_ACQUIRE) >= v);
}

E2E_CASE(force_discard)
{
	struct e2e_opts o = { .config = SCRUB_CONF };
	struct e2e_validate v;
	struct e2e_slubd *d;
	struct hold hold = { NULL, { "rc.f" }, { 0 } };
	char want[128];
	pid_t user, live;

	sh = e2e_shared(sizeof(*sh));
	d = e2e_start(&o);
	REQUIRE(d != NULL);
	REQUIRE(e2e_slubctl(d, NULL, "create", "rc.f", "64", NULL) == 0);
	holder_dies(&hold, d);
	user = e2e_fork(f_user, d->sock);
	live = e2e_fork(f_live, d->sock);
	REQUIRE(wait_flag(&sh->user_ready, e2e_scale_ms(10000)));
	REQUIRE(wait_flag(&sh->live_ready, e2e_scale_ms(10000)));

	/* a live program's reference refuses the force */
	CHECK(force(d, "rc.f", "1 reference of live programs keep it: nothing discarded") == 1);
	f_intact(d);
	/* so does a program that opened it, destroyed its handle and is still there */
	__atomic_store_n(&sh->live_go, 1, __ATOMIC_RELEASE);
	f_until(&sh->user_ok, 1);
	snprintf(want, sizeof(want), "pid %d opened it and is still connected", (int)user);
	CHECK(force(d, "rc.f", want) == 1);
	f_intact(d);
	/* and a live process using the arena with no connection (a forked child) */
	__atomic_store_n(&sh->live_go, 2, __ATOMIC_RELEASE);
	e2e_wait(user, "the program of rc.f");
	snprintf(want, sizeof(want), "pid %d uses the arena without an open connection to slubd",
		 (int)sh->df_pid);
	/* (slubd drops the program's connection a moment after it exits) */
	for (int i = 0; i < 100 && force_says(d, "rc.f", "opened it and is still connected"); i++)
		e2e_sleep_ms(e2e_scale_ms(20));
	CHECK(force(d, "rc.f", want) == 1);
	f_intact(d);

	/* the child gone: the dead process's objects are discarded, the pool removed */
	__atomic_store_n(&sh->live_go, 3, __ATOMIC_RELEASE);
	f_until(&sh->live_ok, 3);
	CHECK(force(d, "rc.f", "pool rc.f: 5 objects discarded (--force)") == 0);
	CHECK(force(d, "rc.f", "no such pool") == 1);
	CHECKF(e2e_cache_stats(d->sock, "rc.f", NULL, NULL) == 0, "rc.f listed after the force");

	/* the live program's objects of another pool are as it left them */
	__atomic_store_n(&sh->live_go, 4, __ATOMIC_RELEASE);
	e2e_wait(live, "the live program");
	CHECKF(!sh->why[0], "the live program: %s", sh->why);
	REQUIRE(e2e_validate(d->sock, NULL, &v) == 0);
	CHECKF(v.err == 0 && v.errors == 0, "validate after the force: err %d, %llu errors: %s",
	       v.err, (unsigned long long)v.errors, v.first_error);
	if (t_failed)
		e2e_show_log(d, 30);
	e2e_stop(d);
}

/* after the holder died: kmem_cache_reclaim frees its 5, keeps our own */
static void c_reclaimer(void *arg)
{
	struct kmem_cache *s, *plain;
	void *mine;
	int rc;

	REQUIRE(slub_attach(arg) == 0);
	s = kmem_cache_create("rc.c", 64, 0, SLAB_STORE_USER, NULL);
	plain = kmem_cache_create("rc.cplain", 64, 0, 0, NULL);
	REQUIRE(s && plain);
	mine = kmem_cache_alloc(s, 0);
	REQUIRE(mine != NULL);
	memset(mine, 0x3c, 64);
	rc = kmem_cache_reclaim(s);
	CHECKF(rc == DEAD_HELD, "kmem_cache_reclaim: %d, want %d", rc, DEAD_HELD);
	rc = kmem_cache_reclaim(s);
	CHECKF(rc == 0, "kmem_cache_reclaim again: %d, want 0", rc);
	CHECKF(((unsigned char *)mine)[63] == 0x3c && kmem_cache_owner(s, mine) == getpid(),
	       "our own object was touched by the reclaim");
	rc = kmem_cache_reclaim(plain);
	CHECKF(rc == -EINVAL, "kmem_cache_reclaim of a pool without owners: %d, want -EINVAL", rc);
	kmem_cache_free(s, mine);
	kmem_cache_destroy(s);
	kmem_cache_destroy(plain);
	slub_detach();
}

E2E_CASE(reclaim_c_call)
{
	struct e2e_opts o = { .config = "[limits]\nscrub_interval = 0\n" };
	struct hold hold = { NULL, { "rc.c" }, { SLAB_STORE_USER } };
	struct e2e_slubd *d;

	sh = e2e_shared(sizeof(*sh));
	d = e2e_start(&o);
	REQUIRE(d != NULL);
	holder_dies(&hold, d);
	e2e_wait(e2e_fork(c_reclaimer, d->sock), "the reclaiming program");
	if (t_failed)
		e2e_show_log(d, 30);
	e2e_stop(d);
}

/* ---- a scribbled descriptor ------------------------------------------------------ */

/* the descriptor called name in the arena mapped at b (len bytes): by its name and self */
static struct kmem_cache *desc_in(char *b, size_t len, const char *name)
{
	for (size_t off = CACHE_LINE; off + sizeof(struct kmem_cache) <= len; off += 8) {
		struct kmem_cache *k = (struct kmem_cache *)(b + off);

		if (k->self == off && !strncmp(k->name, name, sizeof(k->name)))
			return k;
	}
	return NULL;
}

/*
 * the shared descriptor of the pool called name in d's arena file, mapped
 * writable as any attached client maps it (NULL: not found, a failed
 * check); *map and *len to munmap.  Found by its name and its self offset.
 */
static struct kmem_cache *desc_of(const struct e2e_slubd *d, const char *name, void **map,
				  size_t *len)
{
	int fd = open(d->arena, O_RDWR | O_CLOEXEC);
	struct stat st;
	char *b;

	*map = NULL;
	if (fd < 0 || fstat(fd, &st)) {
		CHECKF(0, "open %s: %s", d->arena, strerror(errno));
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	*len = (size_t)st.st_size;
	b = mmap(NULL, *len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (b == MAP_FAILED) {
		CHECKF(0, "mmap %s: %s", d->arena, strerror(errno));
		return NULL;
	}
	*map = b;
	if (desc_in(b, *len, name))
		return desc_in(b, *len, name);
	CHECKF(0, "no descriptor of %s in %s", name, d->arena);
	munmap(b, *len);
	*map = NULL;
	return NULL;
}

/*
 * the words rev_fuzz.py wrote over rv.p's descriptor for rev_fuzz.sh seed 40
 * (its Random(47), six 64-bit words), by offset in struct kmem_cache: the
 * per-CPU offset made wild, red_left_pad and inuse zeroed, four node slots
 * past nr_nodes
 */
static const struct {
	size_t off;
	uint64_t word;
} seed40[] = {
	{ offsetof(struct kmem_cache, cpu_slab), 0xf15179064388d4ebULL },
	{ offsetof(struct kmem_cache, red_left_pad), 0 },
	{ offsetof(struct kmem_cache, node) + 4 * sizeof(aoff_t), 0x62f56 },
	{ offsetof(struct kmem_cache, node) + 6 * sizeof(aoff_t), 0x8dbb5 },
	{ offsetof(struct kmem_cache, node) + 33 * sizeof(aoff_t), 0x3cdca },
	{ offsetof(struct kmem_cache, node) + 53 * sizeof(aoff_t), ~0ULL },
};

E2E_CASE(force_scribbled)
{
	struct e2e_opts o = { .config = "[limits]\nscrub_interval = 0\n" };
	struct hold hold = { NULL, { "rc.sp" }, { 0 } };
	struct e2e_validate v;
	struct e2e_slubd *d;
	struct kmem_cache *k;
	char *out = NULL;
	void *map;
	size_t len;
	int rc;

	_Static_assert(offsetof(struct kmem_cache, node) + 53 * sizeof(aoff_t) == 736, "seed 40");
	sh = e2e_shared(sizeof(*sh));
	d = e2e_start(&o);
	REQUIRE(d != NULL);
	holder_dies(&hold, d);	/* 5 objects of rc.sp, and no live reference once it closed */
	REQUIRE(e2e_wait_refcount(d->sock, "rc.sp", 0, e2e_scale_ms(10000), NULL));
	k = desc_of(d, "rc.sp", &map, &len);
	REQUIRE(k != NULL);
	for (size_t i = 0; i < sizeof(seed40) / sizeof(seed40[0]); i++)
		memcpy((char *)k + seed40[i].off, &seed40[i].word, sizeof(uint64_t));
	munmap(map, len);

	rc = e2e_slubctl(d, &out, "reclaim", "rc.sp", "--force", NULL);
	if (!e2e_alive(d, "after reclaim --force of a scribbled pool"))
		return;
	CHECKF(rc == 1 && out && strstr(out, "reclaim --force rc.sp: its descriptor in the arena "
					   "is inconsistent") && strstr(out, "nothing discarded"),
	       "reclaim --force of a scribbled pool: exit %d, want 1 and an error naming it:\n%s",
	       rc, out ? out : "");
	printf("  reclaim --force rc.sp: %s", out ? out : "\n");
	free(out);
	REQUIRE(e2e_validate(d->sock, "rc.sp", &v) == 0);
	CHECKF(v.errors > 0, "validate rc.sp: no error in a scribbled descriptor");
	printf("  validate rc.sp: %llu errors, the first: %s\n", (unsigned long long)v.errors,
	       v.first_error);
	if (e2e_alive(d, "after validate of a scribbled pool"))
		e2e_stop(d);
}

/* ---- policy from slubd's record, not from the arena ------------------------------- */

#define OTHER_UID	65534	/* nobody: the client that scribbles */

/* run slubctl as we are (the other uid in its child): exit 1 and the output holds want */
static void refused(const struct e2e_slubd *d, const char *what, const char *want, int rc,
		    char *out)
{
	CHECKF(rc == 1 && out && strstr(out, want), "%s as uid %d: exit %d, want 1 and \"%s\":\n%s",
	       what, OTHER_UID, rc, want, out ? out : "");
	printf("  %s: exit %d: %s", what, rc, out ? out : "\n");
	(void)d;
	free(out);
}

/* the three requests of a pool's creator, each refused with want */
static void creator_requests_refused(const struct e2e_slubd *d, const char *pool, const char *want)
{
	char *out = NULL, what[80];
	int rc;

	rc = e2e_slubctl(d, &out, "limit", pool, "--objects", "10", NULL);
	snprintf(what, sizeof(what), "slubctl limit %s", pool);
	refused(d, what, want, rc, out);
	out = NULL;
	rc = e2e_slubctl(d, &out, "destroy", pool, NULL);	/* a forced destroy */
	snprintf(what, sizeof(what), "slubctl destroy %s", pool);
	refused(d, what, want, rc, out);
	out = NULL;
	rc = e2e_slubctl(d, &out, "reclaim", pool, "--force", NULL);
	snprintf(what, sizeof(what), "slubctl reclaim %s --force", pool);
	refused(d, what, want, rc, out);
}

/*
 * uid 65534, attached (a connection slubd knows, no pool opened): step 1
 * makes its own pool rc.nobody, writes its uid over rc.victim's creator and
 * renames kmalloc-64 (then puts kmalloc-64 back); step 2 (after a restart)
 * asks again, and caps its own pool
 */
static void scribbler(void *arg)
{
	const struct e2e_slubd *d = arg;
	struct slub_arena_info ai;
	struct kmem_cache *v, *km;
	char *out = NULL;
	int rc;

	REQUIRE(setgroups(0, NULL) == 0 && setgid(OTHER_UID) == 0 && setuid(OTHER_UID) == 0);
	REQUIRE(slub_attach(d->sock) == 0 && slub_arena_info(&ai) == 0);
	v = desc_in((char *)(uintptr_t)ai.base, ai.size, "rc.victim");
	REQUIRE(v != NULL);
	if (sh->live_go == 0) {
		struct kmem_cache saved;

		rc = e2e_slubctl(d, &out, "create", "rc.nobody", "64", NULL);
		CHECKF(rc == 0, "uid %d: slubctl create rc.nobody: exit %d:\n%s", OTHER_UID, rc,
		       out ? out : "");
		free(out);
		/* (a) its uid as root's pool's creator */
		v->owner_uid = OTHER_UID;
		creator_requests_refused(d, "rc.victim", "disagrees with slubd's record");
		/* (b) an arena cache renamed, CACHE_SYSTEM cleared, its uid as creator */
		km = desc_in((char *)(uintptr_t)ai.base, ai.size, "kmalloc-64");
		CHECKF(km != NULL, "no descriptor of kmalloc-64 in the arena");
		if (km) {	/* (tried whatever (a) did) */
			saved = *km;
			snprintf(km->name, sizeof(km->name), "rc.km");
			km->state &= ~0x100u;	/* CACHE_SYSTEM (shm/internal.h) */
			km->owner_uid = OTHER_UID;
			creator_requests_refused(d, "rc.km", "the arena's own caches cannot be");
			memcpy(km->name, saved.name, sizeof(km->name));
			km->state = saved.state;
			km->owner_uid = saved.owner_uid;
		}
	} else if (sh->live_go == 2) {
		/* no record: the arena's word would say it is ours, and is not taken */
		rc = e2e_slubctl(d, &out, "limit", "rc.nobody", "--objects", "100", NULL);
		refused(d, "slubctl limit rc.nobody, the record lost", "slubd has no record of who "
			"made this pool", rc, out);
	} else {
		CHECKF(v->owner_uid == OTHER_UID, "rc.victim's scribbled creator is gone");
		creator_requests_refused(d, "rc.victim", "disagrees with slubd's record");
		rc = e2e_slubctl(d, &out, "limit", "rc.nobody", "--objects", "100", NULL);
		CHECKF(rc == 0, "uid %d: slubctl limit of its own rc.nobody after a restart: exit "
		       "%d:\n%s", OTHER_UID, rc, out ? out : "");
		free(out);
	}
	slub_detach();
}

/* rc.victim as root left it: 5 objects of the dead process, slubd's reference, no cap */
static void victim_intact(const struct e2e_slubd *d)
{
	struct e2e_cache c;
	uint64_t cap = 1;
	char *out = NULL;

	REQUIRE(e2e_cache_stats(d->sock, "rc.victim", &c, NULL) == 1);
	CHECKF(c.active_objs == DEAD_HELD && c.refcount == 1, "rc.victim: %llu objects, refcount "
	       "%d; want %d and 1 (slubd's own)", (unsigned long long)c.active_objs, c.refcount,
	       DEAD_HELD);
	REQUIRE(e2e_slubctl(d, &out, "stats", "--json", "rc.victim", NULL) == 0);
	CHECKF(out && e2e_json_cache_num(out, "rc.victim", "max_objects", &cap) == 0 && cap == 0,
	       "rc.victim capped at %llu objects by another uid:\n%s", (unsigned long long)cap,
	       out ? out : "");
	free(out);
	REQUIRE(e2e_cache_stats(d->sock, "kmalloc-64", &c, NULL) == 1);
	CHECK(c.system);
}

/* slubd again on d's socket, arena and config (d stopped), its output after d->log */
static int start_again(struct e2e_slubd *d)
{
	char *argv[] = { (char *)e2e_need_bin("SLUBD", "slubd"), "--foreground", "--socket", d->sock,
			 "--arena-size", "64M", "--hugepages", "off", "--config", d->conf, NULL };
	int before = e2e_log_count(d, "ready");
	pid_t pid;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid == 0) {
		int fd = open(d->log, O_WRONLY | O_APPEND);

		if (fd < 0)
			_exit(126);
		dup2(fd, 1);
		dup2(fd, 2);
		execv(argv[0], argv);
		_exit(127);
	}
	CHECKF(pid > 0, "fork: %s", strerror(errno));
	if (pid < 0)
		return -1;
	d->pid = pid;	/* the case's cleanup sees it */
	for (int i = 0; i < 1000 && e2e_log_count(d, "ready") == before; i++) {
		if (!e2e_alive(d, "starting again on the arena"))
			return -1;
		e2e_sleep_ms(e2e_scale_ms(10));
	}
	CHECKF(e2e_log_count(d, "ready") > before, "slubd started again did not serve");
	return e2e_log_count(d, "ready") > before ? 0 : -1;
}

E2E_CASE(policy_scribbled)
{
	static char why[128];
	struct e2e_opts o = {
		.config = "[access]\nsocket_mode = 0666\nallow_uids = 0 65534\n"
			  "[limits]\nscrub_interval = 0\n",
		.open_dir = 1,
	};
	struct hold hold = { NULL, { "rc.victim" }, { 0 } };
	struct e2e_slubd *d;
	struct stat st;
	char bin[200];

	if (geteuid() != 0) {
		snprintf(why, sizeof(why), "needs root to run a client as uid %d (running as uid %u)",
			 OTHER_UID, (unsigned)geteuid());
		SKIP(why);
	}
	sh = e2e_shared(sizeof(*sh));
	d = e2e_start(&o);
	REQUIRE(d != NULL);
	/* the other uid runs a copy of slubctl in the daemon's 0711 folder */
	snprintf(bin, sizeof(bin), "%s/slubctl", d->dir);
	REQUIRE(e2e_copy_file(e2e_need_bin("SLUBCTL", "slubctl"), bin, 0755) == 0);
	REQUIRE(setenv("SLUBCTL", bin, 1) == 0);
	REQUIRE(e2e_slubctl(d, NULL, "create", "rc.victim", "64", NULL) == 0);
	holder_dies(&hold, d);
	REQUIRE(e2e_wait_refcount(d->sock, "rc.victim", 1, e2e_scale_ms(10000), NULL));

	e2e_wait(e2e_fork(scribbler, d), "the scribbling client of uid 65534");
	victim_intact(d);
	CHECKF(e2e_log_count(d, "pool rc.victim: its descriptor in the arena disagrees") == 1,
	       "slubd did not log the disagreement over rc.victim once");

	/* a restart keeps the arena, scribble and all: the record decides still */
	e2e_stop(d);
	REQUIRE(start_again(d) == 0);
	__atomic_store_n(&sh->live_go, 1, __ATOMIC_RELEASE);
	e2e_wait(e2e_fork(scribbler, d), "the scribbling client of uid 65534, after a restart");
	victim_intact(d);

	/* the record slubd's alone; without it, a pool's creator is not known: root's */
	snprintf(bin, sizeof(bin), "%s/slubd.pools", d->dir);
	CHECKF(stat(bin, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0777) == 0600 &&
	       st.st_uid == geteuid(), "%s: not slubd's own file, mode 0600", bin);
	/* made readable by others, it is no longer trusted: as good as lost */
	e2e_stop(d);
	REQUIRE(chmod(bin, 0644) == 0);
	REQUIRE(start_again(d) == 0);
	CHECKF(e2e_log_count(d, "slubd.pools is not slubd's own") == 1, "slubd took a record "
	       "of mode 0644, or did not say it ignored it");
	__atomic_store_n(&sh->live_go, 2, __ATOMIC_RELEASE);
	e2e_wait(e2e_fork(scribbler, d), "the client of uid 65534, the record lost");
	CHECK(e2e_slubctl(d, NULL, "limit", "rc.nobody", "--objects", "100", NULL) == 0);
	if (t_failed)
		e2e_show_log(d, 40);
	e2e_stop(d);
}

T_MAIN(T_CASE(reclaim_dead_owner), T_CASE(double_free_reported), T_CASE(reports_rate_limited),
       T_CASE(reclaim_c_call), T_CASE(force_discard), T_CASE(force_scribbled),
       T_CASE(policy_scribbled))
