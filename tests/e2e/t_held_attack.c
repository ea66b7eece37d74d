/*
 * t_held_attack.c - attacks on the ids slubd holds alive for its clients
 * (slubd/held.c, shm/ident.c "Held by a connection"), each asserting the
 * promise: a live process keeps its objects, a dead one leaks nothing for
 * good.
 *
 *   liar_unholds      a client of slubd's own namespace sends Identify with the
 *                     id of a live process of another pid namespace whose
 *                     arena threads exited (held only by its connection):
 *                     refused, the victim's objects stay its own
 *   liar_force        the same lie about an unconnected forked child of
 *                     another namespace: refused, reclaim --force still
 *                     refuses to discard the pool the child takes from
 *   scribble_held     a client writes 0 over another process's held word:
 *                     slubd's own table answers, reclaim frees nothing of it
 *   restart_reclaim   slubd restarted (SIGKILL, adopts the arena) while a
 *                     client whose arena thread exited holds objects: the id
 *                     stays held, the client says it again and keeps it
 *   fork_raw_conn     a child of _Fork() that keeps its descriptors keeps the
 *                     parent's connection open: the parent, dead, is let go
 *                     (its pidfd), its objects reclaimed
 *   fork_mt           a process of 4 busy threads forks 40 children (fork and
 *                     _Fork in turn): each child's object is its own
 *   raw_clone_attach  a child of a raw clone() (no robust list, no slot to be
 *                     had) attaches; its locked operations fail with ENOLCK
 *   adopt_scribbled_pid, adopt_scribbled_held
 *                     a client scribbles the victim's slot (pid, held word),
 *                     slubd restarts: it adopts from its own record, the
 *                     victim keeps its objects
 *   adopt_pid_reused  a held process dies while slubd is down and its pid is
 *                     reused: the new slubd lets the dead one's id go
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ctl.h"
#include "e2e.h"
#include "harness.h"
#include "held.h"
#include "layout.h"
#include "slub.h"






static uint64_t my_ns(void)
{
	struct stat st;

	return stat("/proc/self/ns/pid", &st) == 0 ? (uint64_t)st.st_ino : 0;
}

/* this process's owner id, read from the slots (pid and pid namespace): 0 if none */
static uint32_t find_my_id(void)
{
	const struct proc_slot *slots = slub_ptr(IDENT_OFF);
	uint64_t ns = my_ns(), when = 0;
	uint32_t id = 0;

	/* the latest claimed of this process's slots (an old one keeps its pid) */
	for (unsigned int s = 0; slots && s < NR_PROC_SLOTS; s++)
		if (slots[s].gen && slots[s].pid == (uint32_t)getpid() && slots[s].pidns == ns &&
		    slots[s].claimed_ns >= when) {
			when = slots[s].claimed_ns;
			id = OWNER_MAKE(slots[s].gen, s);
		}
	return id;
}

static uint32_t held_of(uint32_t id)
{
	const struct proc_slot *slots = slub_ptr(IDENT_OFF);

	return __atomic_load_n(&slots[OWNER_SLOT(id)].held, __ATOMIC_ACQUIRE);
}






/* ---- a process whose only arena thread exited; main holds 3 objects -------- */

static struct kmem_cache *v_cache;
static uint64_t *v_objs[3];
static const char *v_pool;

static void *attach_and_take(void *sock)
{
	if (slub_attach(sock) || !(v_cache = kmem_cache_create(v_pool, 64, 0, SLAB_STORE_USER, NULL)))
		return NULL;
	for (int i = 0; i < 3; i++) {
		v_objs[i] = kmem_cache_alloc(v_cache, 0);
		if (v_objs[i])
			*v_objs[i] = STAMP(i);
	}
	sh->id = find_my_id();
	return NULL;
}

/* after: what the victim does once told to go on (before it checks its stamps) */
static void (*v_after)(void);

static void victim(void *sock)
{
	pthread_t t;

	if (pthread_create(&t, NULL, attach_and_take, sock) || pthread_join(t, NULL) || !v_objs[2])
		_exit(1);
	set_flag(&sh->ready);
	wait_flag(&sh->go);
	if (v_after)
		v_after();
	count_changed(v_objs);
	set_flag(&sh->done);
	_exit(0);
}

/* the victim as pid 1 of a new pid namespace */
static void victim_ns(void *sock)
{
	pid_t c;

	if (unshare(CLONE_NEWPID))
		_exit(4);
	c = fork();
	if (c == 0)
		victim(sock);
	sh->inner = c;
	_exit(c > 0 && e2e_wait(c, "victim") ? 0 : 2);
}

/* reclaim pool: objects freed (of dead processes), -1 */
static long reclaim(struct e2e_slubd *d, const char *pool)
{
	char *out = NULL;
	long n;

	(void)e2e_slubctl(d, &out, "reclaim", pool, NULL);
	n = freed_of(out);
	printf("  reclaim %s: %s", pool, out ? out : "(no output)\n");
	free(out);
	return n;
}

/* another program allocates in the victim's pool; the victim finds its stamps whole */
static void victim_kept(struct e2e_slubd *d, pid_t h)
{
	scribble(d->sock, v_pool, SLAB_STORE_USER);
	set_flag(&sh->go);
	if (await(&sh->done))
		CHECKF(sh->bad == 0, "%d of the live victim's 3 objects were overwritten by another "
		       "program", sh->bad);
	else
		CHECKF(0, "the victim did not finish");
	CHECK(e2e_wait(h, "victim"));
	e2e_stop(d);
}

static void liar_or_scribble(bool lie, bool other_ns)
{
	struct e2e_slubd *d;
	struct ctl_conn c = { .fd = -1 };
	char err[256];
	pid_t h;
	long n;

	if (other_ns && geteuid() != 0)
		SKIP("a pid namespace needs root here");
	d = held_start();
	REQUIRE(d != NULL);
	v_pool = "rv.a";
	h = e2e_fork(other_ns ? victim_ns : victim, d->sock);
	REQUIRE(await(&sh->ready));
	REQUIRE(sh->id != 0);
	REQUIRE(slub_attach(d->sock) == 0);
	CHECKF(held_of(sh->id) == sh->id, "slubd does not hold the victim's id %#x", sh->id);
	n = reclaim(d, v_pool);
	CHECKF(n == 0, "before: reclaim freed %ld", n);
	if (lie) {
		REQUIRE(ctl_connect(&c, d->sock, "t_held_attack", err, sizeof(err)) == 0);
		REQUIRE(attach_raw(&c) == 0);
		(void)identify(&c, sh->id);	/* from a thread of a process that is not the victim */
		ctl_close(&c);
	} else {
		struct proc_slot *slots = slub_ptr(IDENT_OFF);

		__atomic_store_n(&slots[OWNER_SLOT(sh->id)].held, 0, __ATOMIC_RELEASE);
		printf("  held word of %#x scribbled to 0\n", sh->id);
	}
	e2e_sleep_ms(50);
	printf("  held word of the victim's slot now %#x (victim alive, connected)\n",
	       held_of(sh->id));
	n = reclaim(d, v_pool);
	CHECKF(n == 0, "reclaim freed %ld objects while their process (id %#x) lives and is "
	       "connected", n, sh->id);
	slub_detach();	/* the scribe, a child of this process, attaches on its own */
	victim_kept(d, h);
}

E2E_CASE(liar_unholds)
{
	liar_or_scribble(true, true);
}

E2E_CASE(scribble_held)
{
	liar_or_scribble(false, false);
}

/* ---- liar_force ------------------------------------------------------------ */

static void fchild(struct kmem_cache *f)
{
	uint64_t *q[3];

	take_stamped(f, q);
	sh->id = find_my_id();
	set_flag(&sh->ready);
	wait_flag(&sh->go);
	set_flag(&sh->done);
	_exit(0);
}

static void fparent(void *sock)
{
	struct kmem_cache *f;
	void *p[32];
	cpu_set_t set;
	pid_t c;

	CPU_ZERO(&set);
	CPU_SET(0, &set);
	(void)sched_setaffinity(0, sizeof(set), &set);
	if (slub_attach(sock) || !(f = kmem_cache_create("rv.f", 64, 0, 0, NULL)))
		_exit(1);
	for (int i = 0; i < 32; i++)
		p[i] = kmem_cache_alloc(f, 0);
	for (int i = 0; i < 32; i++)
		kmem_cache_free(f, p[i]);
	c = fork();
	if (c == 0)
		fchild(f);
	_exit(c > 0 ? 0 : 2);
}

/* pid 1 of a new namespace: runs fparent, waits for go */
static void fns(void *sock)
{
	pid_t c;

	if (unshare(CLONE_NEWPID))
		_exit(4);
	c = fork();
	if (c == 0) {
		pid_t p = fork();

		if (p == 0)
			fparent(sock);
		(void)e2e_wait(p, "fparent");
		wait_flag(&sh->done);
		_exit(0);
	}
	_exit(c > 0 && e2e_wait(c, "pid 1") ? 0 : 2);
}

E2E_CASE(liar_force)
{
	struct e2e_slubd *d;
	struct ctl_conn c = { .fd = -1 };
	char err[256], *out = NULL;
	pid_t h;
	int rc;

	if (geteuid() != 0)
		SKIP("a pid namespace needs root here");
	d = held_start();
	REQUIRE(d != NULL);
	REQUIRE(e2e_slubctl(d, NULL, "create", "rv.f", "64", NULL) == 0);
	h = e2e_fork(fns, d->sock);
	REQUIRE(await(&sh->ready));
	REQUIRE(sh->id != 0);
	CHECK(e2e_wait_refcount(d->sock, "rv.f", 1, 5000, NULL));
	rc = e2e_slubctl(d, &out, "reclaim", "rv.f", "--force", NULL);
	printf("  before the lie: reclaim --force exit %d: %s", rc, out ? out : "\n");
	CHECKF(rc == 1, "reclaim --force not refused while an unconnected child holds objects");
	free(out);
	out = NULL;
	REQUIRE(ctl_connect(&c, d->sock, "t_held_attack", err, sizeof(err)) == 0);
	REQUIRE(attach_raw(&c) == 0);
	(void)identify(&c, sh->id);	/* the child's id, said by this process */
	rc = e2e_slubctl(d, &out, "reclaim", "rv.f", "--force", NULL);
	printf("  after the lie: reclaim --force exit %d: %s", rc, out ? out : "\n");
	CHECKF(rc == 1, "reclaim --force discarded the pool a live child (id %#x) holds 3 objects "
	       "of, after another process said the child's id", sh->id);
	free(out);
	ctl_close(&c);
	set_flag(&sh->go);
	CHECK(e2e_wait(h, "ns"));
	e2e_stop(d);
}

/* ---- restart_reconnect ------------------------------------------------------ */

static uint32_t r_newid;

static void after_restart(void)
{
	/* a control call: reconnects to the new slubd and says its id */
	struct kmem_cache *k = kmem_cache_create("rv.other", 64, 0, 0, NULL);

	if (!k)
		printf("  victim: kmem_cache_create after restart failed\n");
	r_newid = find_my_id();
	printf("  victim: id before restart %#x, after its reconnect %#x (held %#x, old slot held %#x)\n",
	       sh->id, r_newid, r_newid ? held_of(r_newid) : 0, held_of(sh->id));
}

static void kill_slubd(struct e2e_slubd *d)
{
	int st;

	kill(d->pid, SIGKILL);
	waitpid(d->pid, &st, 0);
	d->pid = 0;
}

/* slubd again on d's socket, arena and config (it adopts the arena) */
static void start_again(struct e2e_slubd *d)
{
	const char *bin = e2e_need_bin("SLUBD", "slubd");
	pid_t pid = fork();

	if (pid == 0) {
		int fd = open(d->log, O_WRONLY | O_APPEND);

		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execl(bin, bin, "--foreground", "--socket", d->sock, "--arena-size", "64M",
		      "--hugepages", "off", "--config", d->conf, (char *)NULL);
		_exit(127);
	}
	d->pid = pid;
	for (int i = 0; i < 500; i++) {
		struct ctl_conn c;
		char err[200];

		if (ctl_connect(&c, d->sock, "t_held_attack", err, sizeof(err)) == 0) {
			ctl_close(&c);
			return;
		}
		e2e_sleep_ms(20);
	}
	CHECKF(0, "slubd did not come back");
}

static void restart(struct e2e_slubd *d)
{
	kill_slubd(d);
	start_again(d);
}

/* restart, the victim reconnects, and is still alive when reclaim runs */
static void after_restart_wait(void)
{
	after_restart();
	set_flag(&sh->done);
	for (;;)
		pause();
}

E2E_CASE(restart_reclaim)
{
	struct e2e_slubd *d = held_start();
	pid_t h;
	long n;

	REQUIRE(d != NULL);
	v_pool = "rv.r";
	v_after = after_restart_wait;
	h = e2e_fork(victim, d->sock);
	REQUIRE(await(&sh->ready));
	restart(d);
	REQUIRE(d->pid);
	set_flag(&sh->go);
	REQUIRE(await(&sh->done));	/* reconnected and said its id */
	n = reclaim(d, v_pool);
	CHECKF(n == 0, "after slubd's restart and the victim's reconnect, reclaim freed %ld of the "
	       "live victim's objects", n);
	kill(h, SIGKILL);	/* it waits forever: reaped here, not checked */
	waitpid(h, NULL, 0);
	e2e_stop(d);
}

/* ---- fork_raw_conn ---------------------------------------------------------- */

static void rawparent(void *sock)
{
	pid_t c;

	v_pool = "rv.p";
	attach_and_take(sock);
	if (!v_objs[2])
		_exit(1);
	c = _Fork();
	if (c == 0) {
		/* keeps every descriptor (a daemon helper that does not close them) */
		wait_flag(&sh->go);
		_exit(0);
	}
	set_flag(&sh->ready);
	_exit(0);	/* the parent exits holding 3 objects */
}

E2E_CASE(fork_raw_conn)
{
	struct e2e_slubd *d = held_start();
	long n = 0;

	REQUIRE(d != NULL);
	CHECK(e2e_wait(e2e_fork(rawparent, d->sock), "parent"));
	REQUIRE(await(&sh->ready));
	REQUIRE(slub_attach(d->sock) == 0);
	e2e_sleep_ms(200);
	printf("  parent dead; its id %#x held: %#x\n", sh->id, held_of(sh->id));
	n = reclaim(d, "rv.p");
	CHECKF(n == 3, "the dead parent's 3 objects were not reclaimed while a _Fork() child "
	       "lives (reclaim freed %ld): its id stays held by the connection the child inherited",
	       n);
	set_flag(&sh->go);
	e2e_sleep_ms(200);
	printf("  child gone: held %#x\n", held_of(sh->id));
	n = reclaim(d, "rv.p");
	printf("  after the child exited reclaim freed %ld\n", n);
	slub_detach();
	e2e_stop(d);
}


/* ---- fork_mt ----------------------------------------------------------------- */

static struct kmem_cache *mt_cache;
static volatile int mt_stop;

static void *mt_worker(void *arg)
{
	(void)arg;
	while (!mt_stop) {
		void *p[16];

		for (int i = 0; i < 16; i++)
			p[i] = kmem_cache_alloc(mt_cache, 0);
		for (int i = 0; i < 16; i++)
			if (p[i])
				kmem_cache_free(mt_cache, p[i]);
	}
	return NULL;
}

/* a process of 4 busy threads forks 40 children (fork and _Fork in turn): each child's
 * object is its own (kmem_cache_owner is its pid) and slubd sees it */
static void mt_prog(void *sock)
{
	pthread_t t[4];
	int bad = 0;

	if (slub_attach(sock) || !(mt_cache = kmem_cache_create("rv.mt", 64, 0, SLAB_STORE_USER, NULL)))
		_exit(1);
	for (int i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, mt_worker, NULL);
	for (int k = 0; k < 40; k++) {
		pid_t c = (k & 1) ? _Fork() : fork();

		if (c == 0) {
			void *p = kmem_cache_alloc(mt_cache, 0);
			int own = p ? (int)kmem_cache_owner(mt_cache, p) : -1;

			if (own != (int)getpid()) {
				printf("  child %d (%s): its object is owned by %d\n", (int)getpid(),
				       (k & 1) ? "_Fork" : "fork", own);
				_exit(3);
			}
			kmem_cache_free(mt_cache, p);
			_exit(0);
		}
		if (c < 0 || !e2e_wait(c, "mt child"))
			bad++;
	}
	printf("  %d of 40 children failed\n", bad);
	mt_stop = 1;
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	_exit(bad ? 2 : 0);
}

E2E_CASE(fork_mt)
{
	struct e2e_slubd *d = e2e_start(NULL);

	REQUIRE(d != NULL);
	CHECK(e2e_wait(e2e_fork(mt_prog, d->sock), "mt parent"));
	e2e_stop(d);
}

/* ---- raw_clone_attach ------------------------------------------------------ */

struct clone_res { int attach_rc, alloc_ok, alloc_errno; };
static struct clone_res *cres;
static const char *clone_sock;

static int raw_child(void *arg)
{
	struct kmem_cache *k;
	void *p;

	(void)arg;
	cres->attach_rc = slub_attach(clone_sock);
	if (cres->attach_rc == 0) {
		k = kmem_cache_create("held.c", 64, 0, 0, NULL);
		errno = 0;
		p = k ? kmem_cache_alloc(k, 0) : NULL;
		cres->alloc_ok = p != NULL;
		cres->alloc_errno = errno;
	}
	_exit(0);
}

static char clone_stack[1 << 16] __attribute__((aligned(16)));

E2E_CASE(raw_clone_attach)
{
	struct e2e_slubd *d = e2e_start(NULL);
	pid_t c;

	REQUIRE(d != NULL);
	cres = e2e_shared(sizeof(*cres));
	clone_sock = d->sock;
	c = clone(raw_child, clone_stack + sizeof(clone_stack), SIGCHLD, NULL);
	REQUIRE(c > 0);
	CHECK(e2e_wait(c, "raw clone child"));
	CHECKF(cres->attach_rc == 0, "slub_attach in a child of a raw clone(): %d (%s), expected 0",
	       cres->attach_rc, strerror(-cres->attach_rc));
	CHECKF(cres->alloc_ok || cres->alloc_errno == ENOLCK, "its allocation failed with errno %d "
	       "(%s), expected success or ENOLCK", cres->alloc_errno, strerror(cres->alloc_errno));
	e2e_stop(d);
}

/* ---- adopt_scribbled_pid, adopt_scribbled_held, adopt_pid_reused ------------ */

static void wait_forever(void)
{
	for (;;)
		pause();
}

/*
 * A live, connected victim (its only arena thread exited, main holds 3
 * objects); another client writes a word of the victim's slot (its pid to
 * one of no process, or its held word to 0); slubd restarts: what it holds
 * comes from its own record, so the victim keeps its objects.
 */
static void adopt_scribbled(bool zero_held)
{
	struct e2e_slubd *d = held_start();
	struct proc_slot *slots;
	pid_t h, nopid = 32000;
	long n;

	REQUIRE(d != NULL);
	v_pool = "rv.s";
	v_after = NULL;
	h = e2e_fork(victim, d->sock);
	REQUIRE(await(&sh->ready));
	REQUIRE(slub_attach(d->sock) == 0);
	slots = slub_ptr(IDENT_OFF);
	while (kill(nopid, 0) == 0 || errno != ESRCH)
		nopid--;
	if (zero_held)
		__atomic_store_n(&slots[OWNER_SLOT(sh->id)].held, 0, __ATOMIC_RELEASE);
	else
		__atomic_store_n(&slots[OWNER_SLOT(sh->id)].pid, (uint32_t)nopid, __ATOMIC_RELEASE);
	slub_detach();
	restart(d);
	REQUIRE(d->pid);
	n = reclaim(d, v_pool);
	CHECKF(n == 0, "after a restart, reclaim freed %ld objects of the live, connected victim "
	       "(its slot's %s scribbled before the restart)", n, zero_held ? "held word" : "pid");
	victim_kept(d, h);
}

E2E_CASE(adopt_scribbled_pid)
{
	adopt_scribbled(false);
}

E2E_CASE(adopt_scribbled_held)
{
	adopt_scribbled(true);
}

/*
 * A held victim dies while slubd is down, and an unrelated process takes
 * its pid (ns_last_pid: a real reuse): the new slubd tells them apart by
 * start time and the dead victim's objects are reclaimed.
 */
E2E_CASE(adopt_pid_reused)
{
	struct e2e_slubd *d;
	pid_t h, u;
	long n;
	FILE *f;

	if (geteuid() != 0)
		SKIP("ns_last_pid needs root");
	d = held_start();
	REQUIRE(d != NULL);
	v_pool = "rv.u";
	v_after = wait_forever;
	h = e2e_fork(victim, d->sock);
	REQUIRE(await(&sh->ready));
	kill_slubd(d);
	kill(h, SIGKILL);
	waitpid(h, NULL, 0);
	f = fopen("/proc/sys/kernel/ns_last_pid", "w");
	REQUIRE(f != NULL);
	fprintf(f, "%d", (int)h - 1);
	fclose(f);
	u = fork();
	if (u == 0)
		wait_forever();
	if (u != h) {
		kill(u, SIGKILL);
		waitpid(u, NULL, 0);
		e2e_stop(d);
		SKIP("another process took the pid first");
	}
	start_again(d);
	REQUIRE(d->pid);
	n = reclaim(d, v_pool);
	CHECKF(n == 3, "the dead victim's 3 objects were not reclaimed (freed %ld): its adopted id "
	       "stays held while an unrelated process has its pid", n);
	kill(u, SIGKILL);
	waitpid(u, NULL, 0);
	e2e_stop(d);
}

T_MAIN(T_CASE(liar_unholds), T_CASE(liar_force), T_CASE(scribble_held),
       T_CASE(restart_reclaim), T_CASE(fork_raw_conn), T_CASE(fork_mt), T_CASE(raw_clone_attach),
       T_CASE(adopt_scribbled_pid), T_CASE(adopt_scribbled_held), T_CASE(adopt_pid_reused))
