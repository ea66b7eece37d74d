/*
 * t_ident.c - who is alive is the kernel's word (shm/ident.c): the deaths
 * that free objects or break locks are the real ones, whatever the uid, the
 * /proc mount, the pid namespace, pid reuse or which thread still runs.
 *
 * Each case: an arena, a SLAB_RECLAIM_DEAD cache (scrub frees what a dead
 * owner held), a holder process with tagged objects, and scrubs run from
 * where the finding was made.  "Nothing freed" is checked twice: the scrub
 * frees 0 objects, and the holder finds every object still tagged and
 * allocates as many again without getting one of its own back.
 *
 *   hidden_proc_other_uid  the scrubber runs as uid 65534 with a /proc
 *                          mounted hidepid=invisible (as slubd under its
 *                          unit): the root holder keeps its 32 objects
 *                          through 10 scrubs; once killed, they are freed
 *   main_thread_exit       the holder's main thread calls pthread_exit(); a
 *                          worker holds 64 objects: kept while the worker
 *                          runs, freed once the process exits
 *   other_pid_namespace    the holder is pid 1 of a new pid namespace: its
 *                          objects are kept (and its pid, 1, is not ours to
 *                          read: kmem_cache_owner says 0 here), and freed
 *                          after it is killed
 *   pid_reuse              in a new pid namespace a holder (pid 2) dies with
 *                          32 objects; a new process is made to get pid 2
 *                          (ns_last_pid); a scrub in that namespace frees
 *                          the dead one's 32 objects all the same
 *   handoff_during_walk    a process whose only arena thread hands over to a
 *                          new one (which takes a lower life) while a
 *                          liveness walk is stopped between the two lives:
 *                          the walk must still find it alive
 *   fork_without_handlers  a child of _Fork() (no atfork handlers) owns what
 *                          it allocates, not its parent; a child of a raw
 *                          clone() (no robust list, its parent's thread id)
 *                          takes no lock: its allocation fails with ENOLCK
 *   scribbled_ident        a client scribbles a live holder's life word to 0,
 *                          and an allocated object's owner to an id of no
 *                          possible generation: both are reported, and a
 *                          scrub frees neither the holder's objects nor that
 *                          object
 *   scrub_reports_unlocked the same scribbles: the scrub's reports reach the
 *                          report callback (which may print) only once it
 *                          holds no arena lock, and it makes no system call
 *                          holding one (shm_locked_syscalls)
 *   stopped_lock_holders   a process SIGSTOPped holding each kind of lock
 *                          (a CPU's, a node's, the page allocator's, the
 *                          cache list's) for 5 s while a validate of uid
 *                          65534 under a hidden /proc waits for it: the
 *                          lock is not broken (validate has not finished,
 *                          no lock report); after SIGCONT both go on
 *
 * The cases that change uid or mount /proc need root: without it each
 * prints why it is skipped.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "tlib.h"
#include "internal.h"	/* arena_self, ident_alive, the ident region */

#define NOBODY		65534
#define HELD		32
#define MAX_HELD	64

struct sh {
	int ready, go, verified, end;
	int bad;			/* a holder's check failed */
	char why[160];
	aoff_t held[MAX_HELD];
	int nheld;
	pid_t pid;			/* a process's pid, as its parent sees it */
	uint64_t reclaimed;		/* what a scrub freed, where the parent cannot scrub */
	int scrubbed;			/* that scrub ran */
	int done;			/* stopped_lock_holders: the waiter's validate returned */
	uint32_t id;			/* a process's owner id */
	int life;			/* a thread's life index */
	int early_left, joined, left, leave;	/* handoff_during_walk */
	int alive;			/* what a walk answered */
	pid_t owner_seen;		/* fork_without_handlers: the owner a child read */
	int err;			/* errno of a failed call */
};

static struct sh *sh;
static struct arena *ar;
static struct kmem_cache *cache;

/* wait until *flag is set, at most ms; 1 if it was */
static int wait_flag(int *flag, int ms)
{
	uint64_t end = t_now_ms() + (uint64_t)ms;

	while (!__atomic_load_n(flag, __ATOMIC_ACQUIRE))
		if (t_now_ms() > end)
			return 0;
		else
			t_sleep_ms(2);
	return 1;
}

static void set_flag(int *flag)
{
	__atomic_store_n(flag, 1, __ATOMIC_RELEASE);
}

static void bad(const char *why)
{
	if (!__atomic_exchange_n(&sh->bad, 1, __ATOMIC_ACQ_REL))
		snprintf(sh->why, sizeof(sh->why), "%s (pid %d)", why, (int)getpid());
}

static int setup(void)
{
	char err[256] = "";
	struct arena_opts o = { .size = 32UL << 20, .huge = ARENA_HUGE_OFF, .base = 1 };
	int rc;

	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		return -errno;
	rc = arena_create(&o, &ar, err, sizeof(err));
	if (rc) {
		printf("  arena_create: %s\n", err);
		return rc;
	}
	return slab_cache_create(ar, "id.reclaim", 64, 0, SLAB_RECLAIM_DEAD, NULL, &cache);
}

static void teardown(void)
{
	arena_close(ar);
	munmap(sh, sizeof(*sh));
	ar = NULL;
}

static uint64_t tag_of(int i) { return 0x5eed000000000000ULL ^ ((uint64_t)getpid() << 16) ^ (uint64_t)i; }

/* allocate n tagged objects and publish them */
static void hold(int n)
{
	for (int i = 0; i < n; i++) {
		uint64_t *p = slab_alloc(ar, cache, 0);

		if (!p) {
			bad("holder: allocation failed");
			return;
		}
		p[0] = tag_of(i);
		sh->held[i] = arena_offset(ar, p);
	}
	sh->nheld = n;
	set_flag(&sh->ready);
}

/*
 * every held object still tagged and still ours (owner = our pid, as we see
 * it), and as many allocated again without getting one of them back
 */
static void verify_held(void)
{
	void *more[MAX_HELD];

	for (int i = 0; i < sh->nheld; i++) {
		uint64_t *p = arena_ptr(ar, sh->held[i]);

		if (p[0] != tag_of(i))
			bad("holder: an object it holds was overwritten");
		if (slab_owner(ar, cache, p) != (uint32_t)getpid())
			bad("holder: an object it holds is not its own any more");
	}
	for (int i = 0; i < sh->nheld; i++) {
		more[i] = slab_alloc(ar, cache, 0);
		for (int j = 0; more[i] && j < sh->nheld; j++)
			if (arena_offset(ar, more[i]) == sh->held[j])
				bad("holder: an object it holds was handed out again");
	}
	for (int i = 0; i < sh->nheld; i++)
		if (more[i])
			slab_free(ar, cache, more[i]);
	set_flag(&sh->verified);
}

static uint64_t scrub_reclaimed(void)
{
	struct slab_scrub_result r;

	memset(&r, 0, sizeof(r));
	if (slab_scrub(ar, &r))
		return UINT64_MAX;
	return r.reclaimed_objects;
}

static int exited_ok(pid_t pid)
{
	int st;

	return waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

/*
 * as slubd under its unit: a /proc of our own mounted hidepid=invisible, and
 * uid 65534.  0, or a reason it cannot be done.
 */
static const char *hidden_proc_as_nobody(void)
{
	if (unshare(CLONE_NEWNS))
		return "unshare(CLONE_NEWNS) failed";
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL))
		return "cannot make / private";
	if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, "hidepid=invisible"))
		return "cannot mount /proc with hidepid=invisible";
	if (setgroups(0, NULL) || setgid(NOBODY) || setuid(NOBODY))
		return "cannot become uid 65534";
	return NULL;
}

static const char *need_root(void)
{
	return geteuid() == 0 ? NULL : "needs root (a second uid and a /proc mount)";
}

/* ---- hidden_proc_other_uid ------------------------------------------------ */

/* a scrubber as slubd under its unit: nobody, /proc hidepid=invisible */
static void hidden_scrubber(pid_t holder, int rounds)
{
	char path[32];
	const char *why = hidden_proc_as_nobody();
	uint64_t sum = 0;

	if (why) {
		bad(why);
		_exit(1);
	}
	snprintf(path, sizeof(path), "/proc/%d", (int)holder);
	if (holder && access(path, F_OK) == 0) {
		bad("the holder is visible in the hidden /proc: the setup reproduces nothing");
		_exit(1);
	}
	for (int i = 0; i < rounds; i++)
		sum += scrub_reclaimed();
	sh->reclaimed = sum;
	set_flag(&sh->scrubbed);
	_exit(0);
}

static void hidden_proc_other_uid(void)
{
	pid_t h, s;

	if (need_root())
		SKIP(need_root());
	REQUIRE(setup() == 0);
	h = fork();
	if (h == 0) {
		hold(HELD);
		wait_flag(&sh->go, 30000);
		verify_held();
		pause();	/* dies holding them */
	}
	REQUIRE(h > 0 && wait_flag(&sh->ready, 10000));
	s = fork();
	if (s == 0)
		hidden_scrubber(h, 10);
	CHECKF(exited_ok(s), "the scrubber failed: %s", sh->why);
	CHECKF(sh->reclaimed == 0, "10 scrubs by uid %d under hidepid freed %llu objects of a live "
	       "process of uid 0", NOBODY, (unsigned long long)sh->reclaimed);
	set_flag(&sh->go);
	CHECK(wait_flag(&sh->verified, 10000));
	CHECKF(!sh->bad, "%s", sh->why);

	kill(h, SIGKILL);
	waitpid(h, NULL, 0);
	sh->scrubbed = 0;
	s = fork();
	if (s == 0)
		hidden_scrubber(0, 1);
	CHECK(exited_ok(s));
	CHECKF(sh->reclaimed == HELD, "after the holder died the hidden scrubber freed %llu of its %d "
	       "objects", (unsigned long long)sh->reclaimed, HELD);
	teardown();
}

/* ---- main_thread_exit ------------------------------------------------------ */

static void *worker_thread(void *arg)
{
	(void)arg;
	hold(MAX_HELD);
	wait_flag(&sh->go, 30000);
	verify_held();
	wait_flag(&sh->end, 30000);
	return NULL;	/* holding them: the process ends with its last thread */
}

static void main_thread_exit(void)
{
	pid_t p;
	char path[64], buf[256] = "";
	int fd;

	REQUIRE(setup() == 0);
	p = fork();
	if (p == 0) {
		pthread_t t;

		slab_free(ar, cache, slab_alloc(ar, cache, 0));	/* the main thread enters too */
		if (pthread_create(&t, NULL, worker_thread, NULL))
			_exit(1);
		pthread_exit(NULL);
	}
	REQUIRE(p > 0 && wait_flag(&sh->ready, 10000));
	/* the leader is a zombie now: its threads run on */
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)p);
	for (int i = 0; i < 100; i++) {
		fd = open(path, O_RDONLY);
		if (fd >= 0) {
			ssize_t n = read(fd, buf, sizeof(buf) - 1);

			buf[n > 0 ? n : 0] = 0;
			close(fd);
		}
		if (strstr(buf, ") Z "))
			break;
		t_sleep_ms(10);
	}
	CHECKF(strstr(buf, ") Z ") != NULL, "the main thread did not exit: %s", buf);
	for (int i = 0; i < 5; i++) {
		uint64_t n = scrub_reclaimed();

		CHECKF(n == 0, "scrub %d freed %llu objects a live worker thread holds", i,
		       (unsigned long long)n);
	}
	set_flag(&sh->go);
	CHECK(wait_flag(&sh->verified, 10000));
	CHECKF(!sh->bad, "%s", sh->why);
	set_flag(&sh->end);
	CHECK(exited_ok(p));
	{
		uint64_t n = scrub_reclaimed();

		CHECKF(n == MAX_HELD, "after the process exited a scrub freed %llu of its %d objects",
		       (unsigned long long)n, MAX_HELD);
	}
	teardown();
}

/* ---- other_pid_namespace --------------------------------------------------- */

static void other_pid_namespace(void)
{
	pid_t c, h;

	if (need_root())
		SKIP(need_root());
	REQUIRE(setup() == 0);
	c = fork();
	if (c == 0) {
		if (unshare(CLONE_NEWPID)) {
			bad("unshare(CLONE_NEWPID) failed");
			_exit(1);
		}
		h = fork();
		if (h == 0) {
			if (getpid() != 1)
				bad("the holder is not pid 1 of its namespace");
			hold(HELD);
			wait_flag(&sh->go, 30000);
			verify_held();
			pause();
		}
		sh->pid = h;	/* as the root namespace sees it: we are in it */
		waitpid(h, NULL, 0);
		_exit(0);
	}
	REQUIRE(c > 0 && wait_flag(&sh->ready, 10000));
	CHECKF(!sh->bad, "%s", sh->why);
	CHECKF(slab_owner(ar, cache, arena_ptr(ar, sh->held[0])) == 0,
	       "the owner's pid is its namespace's: here it must read as unknown, not %u",
	       slab_owner(ar, cache, arena_ptr(ar, sh->held[0])));
	for (int i = 0; i < 5; i++) {
		uint64_t n = scrub_reclaimed();

		CHECKF(n == 0, "scrub %d freed %llu objects of a live process of another pid "
		       "namespace", i, (unsigned long long)n);
	}
	set_flag(&sh->go);
	CHECK(wait_flag(&sh->verified, 10000));
	CHECKF(!sh->bad, "%s", sh->why);
	CHECK(sh->pid > 0);
	if (sh->pid > 0)
		kill(sh->pid, SIGKILL);
	CHECK(exited_ok(c));
	{
		uint64_t n = scrub_reclaimed();

		CHECKF(n == HELD, "after the holder (pid 1 of its namespace) died a scrub freed %llu of "
		       "its %d objects", (unsigned long long)n, HELD);
	}
	teardown();
}

/* ---- pid_reuse ------------------------------------------------------------ */

/* pid 1 of a new pid namespace, with its own /proc */
static void reuse_init(void)
{
	pid_t a, b;
	int fd;

	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
	    mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL)) {
		bad("cannot mount a /proc for the new pid namespace");
		_exit(1);
	}
	a = fork();
	if (a == 0) {
		hold(HELD);
		_exit(0);	/* dies holding them */
	}
	if (!exited_ok(a) || a != 2) {
		bad("the first holder did not run as pid 2");
		_exit(1);
	}
	fd = open("/proc/sys/kernel/ns_last_pid", O_WRONLY);
	if (fd < 0 || write(fd, "1", 1) != 1) {
		bad("cannot write ns_last_pid");
		_exit(1);
	}
	close(fd);
	b = fork();
	if (b == 0) {
		slab_free(ar, cache, slab_alloc(ar, cache, 0));	/* enters: alive, pid 2 */
		set_flag(&sh->go);
		pause();
	}
	if (b != 2) {
		bad("the second process did not get pid 2");
		kill(b, SIGKILL);
		_exit(1);
	}
	wait_flag(&sh->go, 10000);
	sh->reclaimed = scrub_reclaimed();
	set_flag(&sh->scrubbed);
	kill(b, SIGKILL);
	waitpid(b, NULL, 0);
	_exit(0);
}

static void pid_reuse(void)
{
	pid_t c;

	if (need_root())
		SKIP(need_root());
	REQUIRE(setup() == 0);
	c = fork();
	if (c == 0) {
		pid_t i;

		if (unshare(CLONE_NEWPID | CLONE_NEWNS)) {
			bad("unshare(CLONE_NEWPID | CLONE_NEWNS) failed");
			_exit(1);
		}
		i = fork();
		if (i == 0)
			reuse_init();
		_exit(exited_ok(i) ? 0 : 1);
	}
	CHECKF(exited_ok(c) && sh->scrubbed, "%s", sh->why);
	CHECKF(sh->reclaimed == HELD, "the dead holder's pid is alive again: a scrub freed %llu of "
	       "the %d objects the dead one held", (unsigned long long)sh->reclaimed, HELD);
	teardown();
}


/* ---- handoff_during_walk ----------------------------------------------------- */

static int walk_calls, walk_stop_at = -1;

static void walk_hook(enum shm_hook where)
{
	if (where == HOOK_IDENT_WALK && walk_stop_at >= 0 && walk_calls++ == walk_stop_at) {
		walk_stop_at = -1;
		raise(SIGSTOP);
	}
}

/* the index of the life the calling thread holds, or -1 */
static int my_life(void)
{
	struct thread_life *lives = (struct thread_life *)((char *)arena_base(ar) + IDENT_OFF +
							   NR_PROC_SLOTS * sizeof(struct proc_slot));
	uint32_t tid = (uint32_t)gettid();

	for (int i = 0; i < NR_LIVES; i++)
		if ((*(volatile uint32_t *)&lives[i].m & 0x3fffffffu) == tid)
			return i;
	return -1;
}

static int early_entered, early_go;

/* takes the lowest free life and keeps it until told, then leaves it */
static void *early_thread(void *arg)
{
	(void)arg;
	(void)arena_self(ar);
	set_flag(&early_entered);
	wait_flag(&early_go, 30000);
	return NULL;
}

static void *first_holder(void *arg)
{
	(void)arg;
	sh->id = arena_self(ar);
	sh->life = my_life();
	hold(HELD);		/* publishes ready */
	wait_flag(&sh->leave, 30000);
	return NULL;		/* leaves: its destructor releases its life */
}

static void *second_holder(void *arg)
{
	(void)arg;
	if (arena_self(ar) != sh->id)
		bad("the second thread did not join its process's slot");
	if (my_life() >= sh->life)
		bad("the second thread's life is not below the first's");
	set_flag(&sh->joined);
	pause();
	return NULL;
}

static void handoff_during_walk(void)
{
	pid_t p, r;
	int st;

	REQUIRE(setup() == 0);
	p = fork();
	if (p == 0) {
		pthread_t e, t1, t2;

		/* a life below the first holder's, free again when the second comes */
		pthread_create(&e, NULL, early_thread, NULL);
		wait_flag(&early_entered, 30000);
		pthread_create(&t1, NULL, first_holder, NULL);
		wait_flag(&sh->ready, 30000);
		set_flag(&early_go);
		pthread_join(e, NULL);
		set_flag(&sh->early_left);
		wait_flag(&sh->go, 30000);
		pthread_create(&t2, NULL, second_holder, NULL);
		wait_flag(&sh->joined, 30000);
		set_flag(&sh->leave);
		pthread_join(t1, NULL);
		set_flag(&sh->left);
		pause();	/* main never touched the arena: the second thread keeps it alive */
	}
	REQUIRE(p > 0 && wait_flag(&sh->early_left, 10000) && sh->life > 0);
	r = fork();
	if (r == 0) {
		walk_calls = 0;
		walk_stop_at = sh->life;	/* stop before reading the first holder's life */
		shm_test_hook = walk_hook;
		sh->alive = ident_alive(ar, sh->id);
		set_flag(&sh->done);
		_exit(0);
	}
	REQUIRE(r > 0);
	CHECKF(waitpid(r, &st, WUNTRACED) == r && WIFSTOPPED(st), "the walk never stopped");
	set_flag(&sh->go);	/* the second thread joins below, then the first leaves */
	CHECK(wait_flag(&sh->left, 10000));
	CHECKF(!sh->bad, "%s", sh->why);
	kill(r, SIGCONT);
	CHECK(exited_ok(r) && sh->done);
	CHECKF(sh->alive, "a walk that passed the second thread's life before it joined, and "
	       "reached the first's after it left, found process %#x dead", sh->id);
	CHECKF(scrub_reclaimed() == 0, "a scrub freed objects of the live process");
	kill(p, SIGKILL);
	waitpid(p, NULL, 0);
	CHECK(scrub_reclaimed() == HELD);
	teardown();
}

/* ---- fork_without_handlers ------------------------------------------------- */

static int raw_clone_child(void *arg)
{
	void *o;

	(void)arg;
	errno = 0;
	o = slab_alloc(ar, cache, 0);	/* a SLAB_RECLAIM_DEAD pool: takes its node lock */
	sh->err = o ? 0 : errno;
	return 0;
}

static void fork_without_handlers(void)
{
	static char stack[256 << 10];
	pid_t q, c;

	REQUIRE(setup() == 0);
	q = fork();
	if (q == 0) {
		slab_free(ar, cache, slab_alloc(ar, cache, 0));	/* the parent enters */
		c = _Fork();
		if (c == 0) {
			void *o = slab_alloc(ar, cache, 0);

			sh->owner_seen = o ? (pid_t)slab_owner(ar, cache, o) : -1;
			sh->pid = getpid();
			_exit(0);
		}
		_exit(c > 0 && exited_ok(c) ? 0 : 1);
	}
	CHECK(exited_ok(q));
	CHECKF(sh->owner_seen == sh->pid, "a child of _Fork() (pid %d) allocated an object owned "
	       "by pid %d", (int)sh->pid, (int)sh->owner_seen);

	sh->err = -1;
	c = clone(raw_clone_child, stack + sizeof(stack), SIGCHLD, NULL);
	REQUIRE(c > 0);
	CHECK(exited_ok(c));
	CHECKF(sh->err == ENOLCK, "a child of a raw clone() allocated from a locked pool: %s",
	       sh->err ? strerror(sh->err) : "it succeeded");
	teardown();
}

/* ---- scribbled_ident --------------------------------------------------------- */

static int lock_reports(uint64_t *cursor);

static void scribbled_ident(void)
{
	struct thread_life *lives;
	struct slab_track *t;
	uint64_t cursor = 0;
	uint64_t *mine;
	pid_t h;

	REQUIRE(setup() == 0);
	lives = (struct thread_life *)((char *)arena_base(ar) + IDENT_OFF +
				       NR_PROC_SLOTS * sizeof(struct proc_slot));
	h = fork();
	if (h == 0) {
		hold(HELD);
		sh->life = my_life();
		set_flag(&sh->go);
		pause();
	}
	REQUIRE(h > 0 && wait_flag(&sh->go, 10000) && sh->life > 0);
	lock_reports(&cursor);
	__atomic_store_n((uint32_t *)&lives[sh->life].m, 0, __ATOMIC_RELEASE);	/* the life "released" */
	mine = slab_alloc(ar, cache, 0);
	REQUIRE(mine != NULL);
	t = (struct slab_track *)((char *)mine + cache->track_off);
	t->owner = OWNER_MAKE(OWNER_GEN_MAX + 1, 5);			/* no such generation */
	CHECKF(scrub_reclaimed() == 0, "a scrub freed objects of a live process whose life word, "
	       "or one owner word, was scribbled");
	CHECKF(lock_reports(&cursor) >= 2, "the scribbled life word and owner id were not both "
	       "reported");
	kill(h, SIGKILL);
	waitpid(h, NULL, 0);
	teardown();
}

/* ---- stopped_lock_holders -------------------------------------------------- */

static enum shm_hook stop_at;

static void stop_hook(enum shm_hook where)
{
	if (where == stop_at) {
		stop_at = 0;	/* once */
		raise(SIGSTOP);
	}
}

/* enough work to reach every hook point: a cache made, filled, emptied, destroyed */
static void lock_workload(void)
{
	static void *p[3000];

	for (int round = 0; round < 20; round++) {
		struct kmem_cache *s;

		if (slab_cache_create(ar, "id.tmp", 200, 0, 0, NULL, &s))
			_exit(2);
		for (int i = 0; i < 3000; i++)
			p[i] = slab_alloc(ar, s, 0);
		for (int i = 0; i < 3000; i++)
			if (p[i])
				slab_free(ar, s, p[i]);
		if (slab_cache_destroy(ar, s))
			_exit(3);
	}
}

/* ---- scrub_reports_unlocked -------------------------------------------------- */

static int cb_calls, cb_calls_locked;

/* a report's callback, as slubd's prints to its log: a system call */
static void depth_cb(const struct slab_report *r, void *arg)
{
	(void)r;
	(void)arg;
	cb_calls++;
	if (shm_lock_depth > 0)
		cb_calls_locked++;
}

static void scrub_reports_unlocked(void)
{
	struct thread_life *lives;
	struct slab_track *t;
	uint64_t *mine;
	unsigned long before;
	pid_t h;

	REQUIRE(setup() == 0);
	lives = (struct thread_life *)((char *)arena_base(ar) + IDENT_OFF +
				       NR_PROC_SLOTS * sizeof(struct proc_slot));
	h = fork();
	if (h == 0) {
		hold(HELD);
		sh->life = my_life();
		set_flag(&sh->go);
		pause();
	}
	REQUIRE(h > 0 && wait_flag(&sh->go, 10000) && sh->life > 0);
	/* as in scribbled_ident: what the scrub reports while it walks owners */
	__atomic_store_n((uint32_t *)&lives[sh->life].m, 0, __ATOMIC_RELEASE);
	mine = slab_alloc(ar, cache, 0);
	REQUIRE(mine != NULL);
	t = (struct slab_track *)((char *)mine + cache->track_off);
	t->owner = OWNER_MAKE(OWNER_GEN_MAX + 1, 5);
	slab_set_report_fn(depth_cb, NULL);
	before = shm_locked_syscalls;
	CHECK(scrub_reclaimed() == 0);
	slab_set_report_fn(NULL, NULL);
	CHECKF(cb_calls >= 2, "the scribbles' reports did not reach the callback (%d)", cb_calls);
	CHECKF(cb_calls_locked == 0, "%d of %d report callbacks ran while the scrub held an arena lock",
	       cb_calls_locked, cb_calls);
	CHECKF(shm_locked_syscalls == before, "the scrub made %lu system calls holding an arena lock",
	       shm_locked_syscalls - before);
	CHECK(shm_lock_depth == 0);
	if (!t_failed)
		printf("  %d report callbacks, none under a lock\n", cb_calls);
	kill(h, SIGKILL);
	waitpid(h, NULL, 0);
	teardown();
}

static int lock_reports(uint64_t *cursor)
{
	struct slab_report r[64];
	int n, locks = 0;

	while ((n = slab_reports(ar, r, 64, cursor)) > 0)
		for (int i = 0; i < n; i++)
			if (r[i].kind == SLAB_ERR_LOCK) {
				printf("  lock report: %s\n", r[i].detail);
				locks++;
			}
	return locks;
}

static void stopped_lock_holders(void)
{
	static const struct {
		enum shm_hook hook;
		const char *lock;
	} kinds[] = {
		{ HOOK_CPU_LOCKED, "a CPU's lock" },
		{ HOOK_LIST_LOCKED, "a node's list_lock" },
		{ HOOK_ZONE_LOCKED, "the page allocator's lock" },
		{ HOOK_SLAB_MUTEX, "the cache list's lock" },
	};

	if (need_root())
		SKIP(need_root());
	for (unsigned int k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		uint64_t cursor = 0, t0;
		pid_t h, w;
		int st;

		REQUIRE(setup() == 0);
		lock_reports(&cursor);
		h = fork();
		if (h == 0) {
			stop_at = kinds[k].hook;
			shm_test_hook = stop_hook;
			lock_workload();
			_exit(0);
		}
		REQUIRE(h > 0);
		if (waitpid(h, &st, WUNTRACED) != h || !WIFSTOPPED(st)) {
			CHECKF(0, "the holder never stopped holding %s", kinds[k].lock);
			kill(h, SIGKILL);
			waitpid(h, NULL, 0);
			teardown();
			continue;
		}
		w = fork();
		if (w == 0) {
			struct slab_validate_result v;
			const char *why = hidden_proc_as_nobody();

			if (why) {
				bad(why);
				_exit(1);
			}
			slab_validate(ar, NULL, &v);
			set_flag(&sh->done);
			_exit(0);
		}
		t0 = t_now_ms();
		t_sleep_ms(5000);
		CHECKF(!__atomic_load_n(&sh->done, __ATOMIC_ACQUIRE),
		       "validate (uid %d, hidden /proc) went through %s that a stopped process holds",
		       NOBODY, kinds[k].lock);
		CHECKF(lock_reports(&cursor) == 0, "%s of a stopped process was reported", kinds[k].lock);
		kill(h, SIGCONT);
		CHECKF(wait_flag(&sh->done, 10000), "validate did not finish after SIGCONT (%s)",
		       kinds[k].lock);
		CHECKF(exited_ok(w), "the waiter failed: %s", sh->why);
		CHECKF(exited_ok(h), "the stopped holder of %s did not finish its work after SIGCONT",
		       kinds[k].lock);
		if (!t_failed)
			printf("  %s: held by a stopped process for %llu ms, not broken; both went on\n",
			       kinds[k].lock, (unsigned long long)(t_now_ms() - t0));
		teardown();
	}
}

T_MAIN(T_CASE(hidden_proc_other_uid), T_CASE(main_thread_exit), T_CASE(other_pid_namespace),
       T_CASE(pid_reuse), T_CASE(handoff_during_walk), T_CASE(fork_without_handlers),
       T_CASE(scribbled_ident), T_CASE(stopped_lock_holders), T_CASE(scrub_reports_unlocked))
