/*
 * t_held.c - a live process keeps what it holds, whichever of its threads
 * used the arena and however it was made (shm/ident.c: "Held by a
 * connection", "Forks").
 *
 *   thread_left      the thread that attached and allocated exits; another
 *                    thread of the process, which never entered the arena,
 *                    holds the objects: reclaim frees none of them, another
 *                    program's allocations do not overwrite them; that
 *                    thread then allocates under the same id; once the
 *                    process exits, reclaim frees all it left (nothing leaks)
 *   fork_fast        a child of fork() that only takes objects on the fast
 *                    path, its parent gone: reclaim --force refuses
 *   fork_raw         the same for a child of _Fork() (no atfork handler ran)
 *   other_pidns      a connected client in another pid namespace does not
 *                    keep reclaim --force from an unused pool
 *   identify_checked slubd refuses an id that is not the connection's
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ctl.h"
#include "e2e.h"
#include "harness.h"
#include "held.h"
#include "layout.h"
#include "slub.h"









/* ---- thread_left ---------------------------------------------------------- */

static struct kmem_cache *tl_cache;
static uint64_t *tl_objs[3];

static void *attach_and_take(void *sock)
{
	if (slub_attach(sock) ||
	    !(tl_cache = kmem_cache_create("held.u", 64, 0, SLAB_STORE_USER, NULL)))
		return NULL;
	for (int i = 0; i < 3; i++) {
		tl_objs[i] = kmem_cache_alloc(tl_cache, 0);
		if (tl_objs[i])
			*tl_objs[i] = STAMP(i);
	}
	return NULL;
}

static void thread_left_prog(void *sock)
{
	pthread_t t;
	uint64_t *more;

	if (pthread_create(&t, NULL, attach_and_take, sock) || pthread_join(t, NULL) ||
	    !tl_objs[2])
		_exit(1);
	/* the only thread that used the arena has exited; this one never did */
	sh->child_pid = getpid();
	set_flag(&sh->ready);
	wait_flag(&sh->go);
	count_changed(tl_objs);
	more = kmem_cache_alloc(tl_cache, 0);	/* enters now */
	if (!more)
		_exit(2);
	sh->owner_pid = (int)kmem_cache_owner(tl_cache, more);
	set_flag(&sh->done);
	_exit(0);	/* holding 4 objects */
}

E2E_CASE(thread_left)
{
	struct e2e_slubd *d = held_start();
	char *out = NULL;
	pid_t h;
	int rc;

	REQUIRE(d != NULL);
	h = e2e_fork(thread_left_prog, d->sock);
	REQUIRE(await(&sh->ready));
	rc = e2e_slubctl(d, &out, "reclaim", "held.u", NULL);
	CHECKF(rc >= 0 && freed_of(out) == 0,
	       "reclaim of a live, connected process's pool (the thread that allocated has "
	       "exited, another holds the objects): exit %d, %ld freed, expected 0:\n%s",
	       rc, freed_of(out), out ? out : "");
	free(out);
	out = NULL;
	scribble(d->sock, "held.u", SLAB_STORE_USER);
	set_flag(&sh->go);
	REQUIRE(await(&sh->done));
	CHECKF(sh->bad == 0, "%d of the live process's 3 objects were handed to another program "
	       "and overwritten", sh->bad);
	CHECKF(sh->owner_pid == (int)h, "an object the process took after its thread left is "
	       "owned by pid %d, expected the process itself (%d)", sh->owner_pid, (int)h);
	CHECK(e2e_wait(h, "holder"));
	/* its connection closed: what it left is a dead process's, and goes */
	for (int i = 0; i < 100; i++) {
		free(out);
		out = NULL;
		rc = e2e_slubctl(d, &out, "reclaim", "held.u", NULL);
		if (freed_of(out) > 0)
			break;
		e2e_sleep_ms(20);
	}
	/* the scribe's 256 and the holder's 4, of the two dead processes */
	CHECKF(freed_of(out) == 256 + 4 && strstr(out, "of 2 dead processes"),
	       "after the holder exited, reclaim freed %ld objects, expected the 4 it left and "
	       "the scribe's 256:\n%s", freed_of(out), out ? out : "");
	free(out);
	e2e_stop(d);
}

/* ---- fork_fast, fork_raw -------------------------------------------------- */

static void pin_cpu0(void)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(0, &set);
	(void)sched_setaffinity(0, sizeof(set), &set);
}

/* a child that takes 3 objects of held.f on the fast path and holds them */
static void child_takes(struct kmem_cache *f)
{
	uint64_t *q[3];

	take_stamped(f, q);
	sh->child_pid = getpid();
	set_flag(&sh->ready);
	wait_flag(&sh->go);
	count_changed(q);
	set_flag(&sh->done);
	_exit(0);
}

static void forking_prog(void *arg)
{
	const char *sock = ((const char **)arg)[0];
	bool raw = ((const char **)arg)[1] != NULL;
	struct kmem_cache *f;
	void *p[32];
	pid_t c;

	pin_cpu0();
	if (slub_attach(sock) || !(f = kmem_cache_create("held.f", 64, 0, 0, NULL)))
		_exit(1);
	/* fill this CPU's freelist: the child's allocations are fast-path ones */
	for (int i = 0; i < 32; i++)
		p[i] = kmem_cache_alloc(f, 0);
	for (int i = 0; i < 32; i++)
		kmem_cache_free(f, p[i]);
	c = raw ? _Fork() : fork();
	if (c == 0) {
		if (raw)	/* a daemon's child: no descriptor of the parent's kept */
			close_range(3, ~0u, 0);
		child_takes(f);
	}
	_exit(c > 0 ? 0 : 2);	/* the parent exits: its connection closes */
}

static void fork_case(bool raw)
{
	struct e2e_slubd *d = held_start();
	const char *args[2];
	char *out = NULL;
	int rc;

	REQUIRE(d != NULL);
	REQUIRE(e2e_slubctl(d, NULL, "create", "held.f", "64", NULL) == 0);
	args[0] = d->sock;
	args[1] = raw ? "raw" : NULL;
	CHECK(e2e_wait(e2e_fork(forking_prog, args), "parent"));
	REQUIRE(await(&sh->ready));
	/* the parent's connection is closed once slubd dropped its reference */
	CHECK(e2e_wait_refcount(d->sock, "held.f", 1, 5000, NULL));
	rc = e2e_slubctl(d, &out, "reclaim", "held.f", "--force", NULL);
	CHECKF(rc == 1 && out && strstr(out, "without an open connection"),
	       "reclaim --force while a child of %s (pid %d) holds 3 objects of the pool: exit %d, "
	       "expected 1 naming the child:\n%s", raw ? "_Fork()" : "fork()", sh->child_pid, rc,
	       out ? out : "");
	free(out);
	scribble(d->sock, "held.g", 0);
	set_flag(&sh->go);
	REQUIRE(await(&sh->done));
	CHECKF(sh->bad == 0, "%d of the child's 3 objects were overwritten", sh->bad);
	kill(sh->child_pid, SIGKILL);
	e2e_stop(d);
}

E2E_CASE(fork_fast)
{
	fork_case(false);
}

E2E_CASE(fork_raw)
{
	fork_case(true);
}

/* ---- other_pidns ---------------------------------------------------------- */

static void pidns_client(void *sock)
{
	pid_t c;

	if (unshare(CLONE_NEWPID)) {
		printf("  unshare(CLONE_NEWPID): %s\n", strerror(errno));
		_exit(4);
	}
	c = fork();		/* pid 1 of the new namespace */
	if (c == 0) {
		struct kmem_cache *k;

		if (slub_attach(sock) || !(k = kmem_cache_create("held.ns", 64, 0, 0, NULL)))
			_exit(1);
		kmem_cache_free(k, kmem_cache_alloc(k, 0));
		set_flag(&sh->ready);
		wait_flag(&sh->go);
		_exit(0);
	}
	_exit(c > 0 && e2e_wait(c, "pid 1") ? 0 : 2);
}

E2E_CASE(other_pidns)
{
	struct e2e_slubd *d;
	char *out = NULL;
	pid_t h;
	int rc;

	if (geteuid() != 0)
		SKIP("a pid namespace needs root here");
	d = held_start();
	REQUIRE(d != NULL);
	REQUIRE(e2e_slubctl(d, NULL, "create", "held.idle", "64", NULL) == 0);
	h = e2e_fork(pidns_client, d->sock);
	REQUIRE(await(&sh->ready));
	rc = e2e_slubctl(d, &out, "reclaim", "held.idle", "--force", NULL);
	CHECKF(rc == 0, "reclaim --force of a pool no one uses, a connected client of another pid "
	       "namespace beside it: exit %d, expected 0:\n%s", rc, out ? out : "");
	free(out);
	set_flag(&sh->go);
	CHECK(e2e_wait(h, "pidns client"));
	e2e_stop(d);
}

/* ---- identify_checked ----------------------------------------------------- */

static void idle_client(void *sock)
{
	if (slub_attach(sock))
		_exit(1);
	set_flag(&sh->ready);
	wait_flag(&sh->go);
	_exit(0);
}



E2E_CASE(identify_checked)
{
	struct e2e_slubd *d = e2e_start(NULL);
	const struct proc_slot *slots;
	struct ctl_conn c = { .fd = -1 };
	uint32_t other = 0;
	char err[256];
	pid_t h;

	sh = e2e_shared(sizeof(*sh));
	REQUIRE(d != NULL);
	h = e2e_fork(idle_client, d->sock);
	REQUIRE(await(&sh->ready));
	/* the idle client's id, read from the arena's slots through our own mapping */
	REQUIRE(slub_attach(d->sock) == 0);
	slots = (const struct proc_slot *)slub_ptr(IDENT_OFF);
	REQUIRE(slots != NULL);
	for (unsigned int s = 0; s < NR_PROC_SLOTS; s++)
		if (slots[s].gen && slots[s].pid == (uint32_t)h)
			other = OWNER_MAKE(slots[s].gen, s);
	REQUIRE(other != 0);
	CHECKF(slots[OWNER_SLOT(other)].held == other, "slubd does not hold the id %#x of the "
	       "attached client %d", other, (int)h);
	REQUIRE(ctl_connect(&c, d->sock, "t_held", err, sizeof(err)) == 0);
	CHECKF(identify(&c, other) == EPROTO, "identify before attach is not refused");
	REQUIRE(attach_raw(&c) == 0);
	CHECKF(identify(&c, 0) == EINVAL, "identify of id 0 is not refused");
	CHECKF(identify(&c, OWNER_MAKE(OWNER_GEN(other) + 7, OWNER_SLOT(other))) == ESRCH,
	       "identify of a generation that is not the slot's is not refused");
	CHECKF(identify(&c, other) == EPERM, "identify of another process's id (pid %d's) is not "
	       "refused", (int)h);
	ctl_close(&c);
	e2e_sleep_ms(100);
	CHECKF(slots[OWNER_SLOT(other)].held == other, "a refused identify let go of pid %d's id",
	       (int)h);
	set_flag(&sh->go);
	CHECK(e2e_wait(h, "idle client"));
	for (int i = 0; i < 200 && slots[OWNER_SLOT(other)].held; i++)
		e2e_sleep_ms(10);
	CHECKF(slots[OWNER_SLOT(other)].held == 0, "the id of pid %d is still held after its "
	       "connection closed", (int)h);
	slub_detach();
	e2e_stop(d);
}

T_MAIN(T_CASE(thread_left), T_CASE(fork_fast), T_CASE(fork_raw), T_CASE(other_pidns),
       T_CASE(identify_checked))
