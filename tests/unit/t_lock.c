/*
 * t_lock.c - a lock that cannot be taken (issue 10, item 7).  A scribbled
 * mutex (its kind field garbage: pthread answers EINVAL), or an
 * unrecoverable one (its owner died and the next locker unlocked it without
 * making it consistent: ENOTRECOVERABLE for ever after), or one whose
 * repair cannot be vouched for (pthread_mutex_consistent refuses).  What the
 * lock protects is never touched without it: the operation fails with the
 * lock's error, a report (SLAB_ERR_LOCK) names the lock and its cache,
 * nothing crashes, and the caches that do not need the lock keep working.
 *
 *   cpu_lock_einval       a CPU lock of a cache: alloc, shrink, validate,
 *                         destroy fail; another cache serves; the lock put
 *                         right, the cache serves again, validate is clean
 *   node_lock_einval      a node's list_lock of a debug cache: alloc fails,
 *                         free leaks (reported), slab_give fails
 *   zone_unrecoverable    the page allocator's lock: large kmalloc, new slabs
 *                         and cache creation fail; objects already in CPU
 *                         slabs are still handed out
 *   slab_mutex_einval     the list of caches: create, find fail; allocation
 *                         goes on; put right, create works again
 *   consistent_refused    a CPU lock whose owner died, its repair done, and
 *                         then pthread_mutex_consistent refuses: the locker
 *                         gives the lock up with the error, the next takes it
 *   timed_busy            slubd's timed attempts: a held slab_mutex makes a
 *                         lookup give up (busy, naming the holder's pid), not
 *                         a report of a broken lock
 */
#include <pthread.h>
#include <sched.h>

#include "layout.h"
#include "unit.h"

#ifdef __GLIBC__
#define HAVE_MUTEX_FIELDS 1
#else
#define HAVE_MUTEX_FIELDS 0
#endif

static struct arena *one_cpu_arena(void)
{
	struct arena_opts o = { .size = 32u << 20, .huge = ARENA_HUGE_OFF, .base = 1, .nr_cpus = 1 };
	struct arena *a = NULL;
	char err[256] = "";
	int rc = arena_create(&o, &a, err, sizeof(err));

	CHECKF(rc == 0, "arena_create: %d %s", rc, err);
	return rc == 0 ? a : NULL;
}

static struct arena_hdr *hdr_of(struct arena *a)
{
	return (struct arena_hdr *)arena_base(a);
}

static struct shm_lock *cpu_lock_of(struct arena *a, struct kmem_cache *s, unsigned int cpu)
{
	return &((struct kmem_cache_cpu *)((char *)arena_base(a) + s->cpu_slab))[cpu].lock;
}

static struct shm_lock *node_lock_of(struct arena *a, struct kmem_cache *s, unsigned int node)
{
	return &((struct kmem_cache_node *)((char *)arena_base(a) + s->node[node]))->list_lock;
}

#if HAVE_MUTEX_FIELDS
/* a kind no mutex has: every pthread call on it answers EINVAL */
static int scribble_kind(struct shm_lock *l)
{
	int old = l->m.__data.__kind;

	l->m.__data.__kind = 0x7f;
	return old;
}

static void restore_kind(struct shm_lock *l, int kind)
{
	l->m.__data.__kind = kind;
}
#endif

/*
 * make l unrecoverable: a child takes it and dies holding it; we take it
 * (EOWNERDEAD) and let it go without pthread_mutex_consistent
 */
static bool make_unrecoverable(struct shm_lock *l)
{
	pid_t pid = fork();
	int status, rc;

	if (pid == 0)
		_exit(pthread_mutex_lock(&l->m) == 0 ? 0 : 1);
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0)
		return false;
	rc = pthread_mutex_lock(&l->m);
	CHECKF(rc == EOWNERDEAD, "taking the dead child's lock: %d", rc);
	pthread_mutex_unlock(&l->m);
	/* (not trylock: glibc's leaves the word naming us, see lock.c) */
	rc = pthread_mutex_lock(&l->m);
	if (rc == 0)
		pthread_mutex_unlock(&l->m);
	CHECKF(rc == ENOTRECOVERABLE, "lock after an unlock without consistent: %d", rc);
	return rc == ENOTRECOVERABLE;
}

/* the first SLAB_ERR_LOCK report whose text has what (and of cache name, if given) */
static const struct slab_report *lock_report(const char *what, const char *name)
{
	for (int i = 0; i < nrep && i < MAXREP; i++)
		if (rep[i].kind == SLAB_ERR_LOCK && strstr(rep[i].detail, what) &&
		    (!name || !strcmp(rep[i].cache_name, name)))
			return &rep[i];
	return NULL;
}

static void expect_lock_report(const char *what, const char *name)
{
	const struct slab_report *r = lock_report(what, name);

	CHECKF(r != NULL, "no SLAB_ERR_LOCK report naming '%s'%s%s (%d reports, first: %s %s)",
	       what, name ? " of cache " : "", name ? name : "", nrep,
	       nrep ? slab_error_name((enum slab_error)rep[0].kind) : "-",
	       nrep ? rep[0].detail : "");
	if (r)
		printf("  report: [%s] %s: %s\n", slab_error_name((enum slab_error)r->kind),
		       r->cache_name[0] ? r->cache_name : "(arena)", r->detail);
}

/* n objects of s, allocated and freed again: all must come */
static void serves(struct arena *a, struct kmem_cache *s, unsigned int n, const char *when)
{
	static void *p[4096];
	unsigned int got = 0;

	while (got < n && got < 4096 && (p[got] = slab_alloc(a, s, 0)))
		got++;
	CHECKF(got == n, "%s: %s handed out %u of %u objects (errno %d)", when, slab_cache_name(s),
	       got, n, errno);
	while (got)
		slab_free(a, s, p[--got]);
}

static unsigned int per_slab(struct arena *a, struct kmem_cache *s)
{
	struct slab_cache_info ci;

	return unit_info(a, s, &ci) == 0 ? ci.objs_per_slab : 0;
}

ISOLATED_T(cpu_lock_einval, 60)
{
#if HAVE_MUTEX_FIELDS
	struct arena *a = one_cpu_arena();
	struct kmem_cache *s, *t;
	struct slab_validate_result r;
	static void *held[4096];
	unsigned int per, n = 0;
	int kind, rc;
	void *p;

	REQUIRE(a);
	REQUIRE((s = unit_cache(a, "lk.cpu", 64, 0, 0, NULL)) && (t = unit_cache(a, "lk.other", 64, 0, 0, NULL)));
	per = per_slab(a, s);
	REQUIRE(per >= 4 && 2 * per < 4096);
	held[n++] = slab_alloc(a, s, 0);	/* a cpu slab, its freelist per - 1 long */
	REQUIRE(held[0] != NULL);
	reports_reset();
	kind = scribble_kind(cpu_lock_of(a, s, 0));

	/* the fast path serves what the cpu freelist holds; then the slow path needs the lock */
	errno = 0;
	while (n < 2 * per && (p = slab_alloc(a, s, 0)))
		held[n++] = p;
	CHECKF(n == per, "%u objects before the allocation failed, want %u", n, per);
	CHECKF(errno == EINVAL, "errno %d, want EINVAL", errno);
	expect_lock_report("cpu 0 lock", "lk.cpu");

	serves(a, t, 3 * per, "with lk.cpu's lock scribbled");
	CHECKF((rc = slab_shrink(a, s)) == -EINVAL, "shrink: %d", rc);
	rc = unit_validate(a, s, &r);
	CHECKF(rc == -EUCLEAN && r.errors[SLAB_ERR_LOCK] == 1 && strstr(r.first_error, "cpu 0"),
	       "validate: %d, %llu lock errors, first: %s", rc,
	       (unsigned long long)r.errors[SLAB_ERR_LOCK], r.first_error);
	rc = unit_validate(a, t, &r);
	CHECKF(rc == 0 && r.nr_errors == 0, "validate of the other cache: %d: %s", rc, r.first_error);
	CHECKF((rc = slab_cache_destroy(a, s)) == -EINVAL, "destroy: %d", rc);
	CHECK(slab_cache_find(a, "lk.cpu") == s);
	/* frees into the cpu slab need no lock */
	while (n)
		slab_free(a, s, held[--n]);

	/* the lock put right: the cache serves again, and nothing was corrupted */
	restore_kind(cpu_lock_of(a, s, 0), kind);
	serves(a, s, 3 * per, "the lock put right");
	rc = unit_validate(a, NULL, &r);
	CHECKF(rc == 0 && r.nr_errors == 0, "validate after: %d, %llu errors: %s", rc,
	       (unsigned long long)r.nr_errors, r.first_error);
	CHECKF((rc = slab_cache_destroy(a, s)) == 0, "destroy after: %d", rc);
	arena_close(a);
#else
	SKIP("needs glibc's mutex fields");
#endif
}

ISOLATED_T(node_lock_einval, 60)
{
#if HAVE_MUTEX_FIELDS
	struct arena *a = one_cpu_arena();
	struct kmem_cache *d, *t;
	struct slab_validate_result r;
	void *p[4];
	int kind, rc;

	REQUIRE(a);
	REQUIRE((d = unit_cache(a, "lk.dbg", 64, 0, SLAB_RED_ZONE | SLAB_STORE_USER, NULL)) &&
		(t = unit_cache(a, "lk.other", 64, 0, 0, NULL)));
	for (int i = 0; i < 4; i++)
		REQUIRE((p[i] = slab_alloc(a, d, 0)) != NULL);
	reports_reset();
	kind = scribble_kind(node_lock_of(a, d, 0));

	errno = 0;
	CHECK(slab_alloc(a, d, 0) == NULL);
	CHECKF(errno == EINVAL, "errno %d, want EINVAL", errno);
	expect_lock_report("node 0 list_lock", "lk.dbg");
	nrep = 0;
	slab_free(a, d, p[3]);		/* reported, the object leaked */
	expect_lock_report("node 0 list_lock", "lk.dbg");
	CHECKF((rc = slab_give(a, d, p[0], (uint32_t)getpid())) == -EINVAL,
	       "slab_give to ourselves: %d", rc);
	CHECK(slab_owner(a, d, p[0]) == 0);
	serves(a, t, 3 * per_slab(a, t), "with lk.dbg's node lock scribbled");
	rc = unit_validate(a, d, &r);
	CHECKF(rc == -EUCLEAN && r.errors[SLAB_ERR_LOCK] == 1 && strstr(r.first_error, "node 0"),
	       "validate: %d, %llu lock errors, first: %s", rc,
	       (unsigned long long)r.errors[SLAB_ERR_LOCK], r.first_error);

	restore_kind(node_lock_of(a, d, 0), kind);
	CHECK(slab_owner(a, d, p[0]) == (uint32_t)getpid());
	for (int i = 0; i < 3; i++)
		slab_free(a, d, p[i]);
	serves(a, d, 8, "the lock put right");
	rc = unit_validate(a, d, &r);
	CHECKF(rc == 0 && r.nr_errors == 0 && r.allocated == 1,
	       "validate after: %d, %llu errors, %llu allocated (the leaked one): %s", rc,
	       (unsigned long long)r.nr_errors, (unsigned long long)r.allocated, r.first_error);
	arena_close(a);
#else
	SKIP("needs glibc's mutex fields");
#endif
}

ISOLATED_T(zone_unrecoverable, 60)
{
	struct arena *a = one_cpu_arena();
	struct kmem_cache *s, *t;
	struct slab_scrub_result sr;
	struct buddy_info bi;
	char err[200] = "";
	unsigned int per;
	int rc, status;
	pid_t pid;
	void *p;

	REQUIRE(a);
	REQUIRE((s = unit_cache(a, "lk.warm", 64, 0, 0, NULL)) &&
		(t = unit_cache(a, "lk.cold", 64, 0, 0, NULL)));
	per = per_slab(a, s);
	REQUIRE(per >= 4);
	p = slab_alloc(a, s, 0);	/* a cpu slab with per - 1 free objects */
	REQUIRE(p != NULL);
	REQUIRE(make_unrecoverable(&hdr_of(a)->zone.lock));
	reports_reset();

	errno = 0;
	CHECK(slab_kmalloc(a, 2u << 20, 0) == NULL);
	CHECKF(errno == ENOTRECOVERABLE, "kmalloc_large: errno %d", errno);
	expect_lock_report("zone lock", NULL);
	errno = 0;
	CHECK(slab_alloc(a, t, 0) == NULL);	/* needs a first slab */
	CHECKF(errno == ENOTRECOVERABLE, "a new slab: errno %d", errno);
	CHECKF((rc = slab_cache_create(a, "lk.new", 200, 0, 0, NULL, &t)) == -ENOTRECOVERABLE,
	       "create: %d", rc);
	/* what is already in the cpu slab is still handed out */
	serves(a, s, per - 1, "objects already in the cpu slab");
	CHECKF((rc = buddy_info(a, &bi)) == -ENOTRECOVERABLE, "buddy_info: %d", rc);
	CHECKF(buddy_check(a, err, sizeof(err)) == -EUCLEAN && strstr(err, "zone lock"),
	       "buddy_check: %s", err);
	CHECKF((rc = slab_scrub(a, &sr)) == -ENOTRECOVERABLE, "scrub: %d", rc);
	/* another process is told so too, and does not wait for us */
	pid = fork();
	if (pid == 0) {
		alarm(10);
		_exit(slab_kmalloc(a, 2u << 20, 0) == NULL && errno == ENOTRECOVERABLE ? 0 : 1);
	}
	CHECK(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	      WEXITSTATUS(status) == 0);
	slab_free(a, s, p);
	arena_close(a);
}

ISOLATED_T(slab_mutex_einval, 60)
{
#if HAVE_MUTEX_FIELDS
	struct arena *a = one_cpu_arena();
	struct kmem_cache *s, *t = NULL;
	struct slab_validate_result r;
	int kind, rc;

	REQUIRE(a);
	REQUIRE((s = unit_cache(a, "lk.have", 64, 0, 0, NULL)));
	reports_reset();
	kind = scribble_kind(&hdr_of(a)->slab_mutex);

	CHECKF((rc = slab_cache_create(a, "lk.new", 64, 0, 0, NULL, &t)) == -EINVAL, "create: %d", rc);
	expect_lock_report("slab_mutex", NULL);
	CHECK(slab_cache_find(a, "lk.have") == NULL);
	serves(a, s, 3 * per_slab(a, s), "with slab_mutex scribbled");
	CHECKF((rc = unit_validate(a, NULL, &r)) == -EINVAL && r.errors[SLAB_ERR_LOCK] >= 1,
	       "validate: %d, %llu lock errors: %s", rc, (unsigned long long)r.errors[SLAB_ERR_LOCK],
	       r.first_error);
	CHECKF((rc = slab_cache_destroy(a, s)) == -EINVAL, "destroy: %d", rc);

	restore_kind(&hdr_of(a)->slab_mutex, kind);
	CHECK(slab_cache_find(a, "lk.have") == s);
	CHECKF((rc = slab_cache_create(a, "lk.new", 64, 0, 0, NULL, &t)) == 0, "create after: %d", rc);
	rc = unit_validate(a, NULL, &r);
	CHECKF(rc == 0 && r.nr_errors == 0, "validate after: %d: %s", rc, r.first_error);
	arena_close(a);
#else
	SKIP("needs glibc's mutex fields");
#endif
}

/*
 * consistent_refused: a process dies holding cache s's CPU lock, halfway
 * through taking the cpu freelist (HOOK_CPU_DETACH); the next locker (a
 * shrink) repairs, and the repair takes the node lock (HOOK_LIST_LOCKED),
 * where this test scribbles the CPU mutex so that pthread_mutex_consistent
 * refuses it.  The repair is done, but the lock is not vouched for: the
 * shrink fails with EINVAL, naming the CPU lock.  The mutex, unlocked, works
 * again (its owner field was what was scribbled), and the repair held.
 */
static int cr_fd = -1;
static struct shm_lock *cr_lock;

static void cr_victim_hook(enum shm_hook where)
{
	char c = 1;

	if (where != HOOK_CPU_DETACH)
		return;
	if (write(cr_fd, &c, 1) != 1)
		_exit(3);
	for (;;)
		pause();
}

static void cr_scribble_hook(enum shm_hook where)
{
#if HAVE_MUTEX_FIELDS
	if (where == HOOK_LIST_LOCKED && cr_lock) {
		cr_lock->m.__data.__owner = 0;	/* no longer "inconsistent" */
		cr_lock = NULL;
	}
#else
	(void)where;
#endif
}

ISOLATED_T(consistent_refused, 60)
{
#if HAVE_MUTEX_FIELDS
	struct arena *a = one_cpu_arena();
	struct kmem_cache *s;
	struct slab_validate_result r;
	static void *held[4096];
	unsigned int per, n = 0;
	int pfd[2], status, rc;
	char c;
	pid_t pid;

	REQUIRE(a);
	REQUIRE((s = unit_cache(a, "lk.repair", 64, 0, 0, NULL)));
	per = per_slab(a, s);
	REQUIRE(per >= 4 && per < 4096);
	for (; n < per / 2; n++)
		REQUIRE((held[n] = slab_alloc(a, s, 0)) != NULL);
	REQUIRE(pipe(pfd) == 0);
	pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		close(pfd[0]);
		cr_fd = pfd[1];
		shm_test_hook = cr_victim_hook;
		slab_shrink(a, s);
		_exit(2);
	}
	close(pfd[1]);
	CHECK(read(pfd[0], &c, 1) == 1);
	close(pfd[0]);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);

	reports_reset();
	cr_lock = cpu_lock_of(a, s, 0);
	shm_test_hook = cr_scribble_hook;
	rc = slab_shrink(a, s);
	shm_test_hook = NULL;
	CHECKF(cr_lock == NULL, "the repair never took the node lock");
	CHECKF(rc == -EINVAL, "shrink over the refused lock: %d", rc);
	expect_lock_report("cpu 0 lock", "lk.repair");
	CHECKF((rc = slab_shrink(a, s)) == 0, "shrink after: %d", rc);
	rc = unit_validate(a, s, &r);
	CHECKF(rc == 0 && r.nr_errors == 0 && r.allocated == n,
	       "validate after: %d, %llu errors, %llu allocated of %u held: %s", rc,
	       (unsigned long long)r.nr_errors, (unsigned long long)r.allocated, n, r.first_error);
	while (n)
		slab_free(a, s, held[--n]);
	serves(a, s, 2 * per, "after");
	arena_close(a);
#else
	SKIP("needs glibc's mutex fields");
#endif
}

/* ---- timed_busy -------------------------------------------------------------- */

static __thread int tb_is_holder;
static int tb_in, tb_release;

static void tb_hook(enum shm_hook where)
{
	if (where != HOOK_SLAB_MUTEX || !tb_is_holder)
		return;
	__atomic_store_n(&tb_in, 1, __ATOMIC_SEQ_CST);
	while (!__atomic_load_n(&tb_release, __ATOMIC_SEQ_CST))
		usleep(1000);
}

static void *tb_holder(void *arg)
{
	tb_is_holder = 1;
	(void)slab_cache_find(arg, "tb.none");	/* stops in tb_hook, holding slab_mutex */
	return NULL;
}

static uint64_t tb_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/*
 * timed_busy - slubd's timed attempts (slab_lock_deadline): slab_mutex held
 * by a live thread (of this process) that does not let it go; a lookup with
 * a 200 ms deadline gives up within 2 s, reports no corruption, and the busy
 * note names the lock and this process's pid; a second lookup, the same
 * holder still there, gives up at once; released, the lookup works and
 * nothing is busy
 */
ISOLATED_T(timed_busy, 60)
{
	struct arena *a = one_cpu_arena();
	struct kmem_cache *k = NULL;
	pthread_t t;
	char buf[160] = "", want[32];
	uint64_t t0, dt;

	if (!a)
		return;
	CHECK(slab_cache_create(a, "tb.pool", 64, 0, 0, NULL, &k) == 0 && k != NULL);
	tb_in = tb_release = 0;
	shm_test_hook = tb_hook;
	if (pthread_create(&t, NULL, tb_holder, a)) {
		CHECKF(0, "pthread_create");
		arena_close(a);
		return;
	}
	while (!__atomic_load_n(&tb_in, __ATOMIC_SEQ_CST))
		usleep(1000);
	reports_reset();
	slab_lock_deadline(200);
	t0 = tb_ms();
	CHECK(slab_cache_find(a, "tb.pool") == NULL);
	dt = tb_ms() - t0;
	CHECKF(dt < 2000, "the lookup gave up after %llu ms (deadline 200 ms)", (unsigned long long)dt);
	CHECKF(slab_lock_busy(buf, sizeof(buf)), "no busy note after the lookup gave up");
	snprintf(want, sizeof(want), "pid %d", (int)getpid());
	CHECKF(strstr(buf, "slab_mutex") && strstr(buf, want), "busy note: '%s' (want slab_mutex, %s)",
	       buf, want);
	CHECKF(lock_report("slab_mutex", NULL) == NULL, "a busy lock was reported as broken: %s",
	       lock_report("slab_mutex", NULL)->detail);
	printf("  gave up after %llu ms: %s\n", (unsigned long long)dt, buf);
	slab_lock_deadline(200);
	t0 = tb_ms();
	CHECK(slab_cache_find(a, "tb.pool") == NULL);
	dt = tb_ms() - t0;
	CHECKF(dt < 100, "the same holder again: gave up after %llu ms, not at once",
	       (unsigned long long)dt);
	__atomic_store_n(&tb_release, 1, __ATOMIC_SEQ_CST);
	pthread_join(t, NULL);
	shm_test_hook = NULL;
	slab_lock_deadline(200);
	CHECK(slab_cache_find(a, "tb.pool") == k);
	CHECK(!slab_lock_busy(buf, sizeof(buf)));
	slab_lock_deadline(0);
	arena_close(a);
}

/*
 * memo_brief_holder - the busy memo must not make a lock that its holder now
 * takes and lets go in a few milliseconds look held: slab_mutex held by a
 * thread that does not let it go, a timed lookup gives up (the memo names
 * that thread); then the same thread takes slab_mutex again and again for
 * 3 ms at a time.  Ten timed lookups (750 ms each, as slubd's), from 300 ms
 * after it let go (the memo's quiet time is 250 ms; it lasts 2 s), all find
 * the pool: at most one may give up (a loaded machine), not most of them.
 */
static int mb_hammer, mb_stop;

static void mb_hook(enum shm_hook where)
{
	if (where != HOOK_SLAB_MUTEX || !tb_is_holder)
		return;
	if (__atomic_load_n(&mb_hammer, __ATOMIC_SEQ_CST)) {
		usleep(3000);	/* a brief hold */
		return;
	}
	tb_hook(where);
}

static void *mb_holder(void *arg)
{
	tb_is_holder = 1;
	(void)slab_cache_find(arg, "tb.none");	/* held in tb_hook until tb_release */
	while (!__atomic_load_n(&mb_stop, __ATOMIC_SEQ_CST)) {
		(void)slab_cache_find(arg, "tb.none");	/* 3 ms held, then */
		usleep(1000);				/* 1 ms free */
	}
	return NULL;
}

ISOLATED_T(memo_brief_holder, 60)
{
	struct arena *a = one_cpu_arena();
	struct kmem_cache *k = NULL;
	unsigned int gave_up = 0;
	pthread_t t;
	char buf[160] = "";

	if (!a)
		return;
	CHECK(slab_cache_create(a, "tb.pool", 64, 0, 0, NULL, &k) == 0 && k != NULL);
	tb_in = tb_release = mb_hammer = mb_stop = 0;
	shm_test_hook = mb_hook;
	if (pthread_create(&t, NULL, mb_holder, a)) {
		CHECKF(0, "pthread_create");
		arena_close(a);
		return;
	}
	while (!__atomic_load_n(&tb_in, __ATOMIC_SEQ_CST))
		usleep(1000);
	slab_lock_deadline(200);
	CHECK(slab_cache_find(a, "tb.pool") == NULL);	/* held: the memo names the holder */
	CHECK(slab_lock_busy(buf, sizeof(buf)));
	/* the same thread now holds slab_mutex 3 ms at a time */
	__atomic_store_n(&mb_hammer, 1, __ATOMIC_SEQ_CST);
	__atomic_store_n(&tb_release, 1, __ATOMIC_SEQ_CST);
	usleep(300000);		/* past the memo's quiet time (250 ms), within its 2 s */
	for (int i = 0; i < 10; i++) {
		slab_lock_deadline(750);
		if (slab_cache_find(a, "tb.pool") != k) {
			gave_up++;
			if (slab_lock_busy(buf, sizeof(buf)))
				printf("  lookup %d gave up: %s\n", i, buf);
		}
		usleep(2000);
	}
	slab_lock_deadline(0);
	CHECKF(gave_up <= 1, "%u of 10 lookups gave up on a lock held 3 ms at a time", gave_up);
	__atomic_store_n(&mb_stop, 1, __ATOMIC_SEQ_CST);
	pthread_join(t, NULL);
	shm_test_hook = NULL;
	arena_close(a);
}

T_MAIN(T_CASE(cpu_lock_einval),
       T_CASE(node_lock_einval),
       T_CASE(zone_unrecoverable),
       T_CASE(slab_mutex_einval),
       T_CASE(consistent_refused),
       T_CASE(timed_busy),
       T_CASE(memo_brief_holder))
