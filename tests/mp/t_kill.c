/*
 * t_kill.c - a process killed while it holds a slow-path lock must not stop
 * the others, nor leave the arena inconsistent.
 *
 * One case per test hook point (enum shm_hook).  The parent makes an arena
 * and a cache and forks three workers that allocate and free continuously (on
 * the cache, kmalloc of 1..16 KiB, now and then a 2 MiB kmalloc_large, a
 * throwaway cache created and destroyed, a shrink).  Then it forks a victim
 * whose shm_test_hook, at the chosen point, writes one byte to a pipe and
 * sleeps forever; the victim runs a workload that reaches that point.  The
 * victim and worker 0 are pinned to the same CPU so that a per-CPU lock the
 * victim dies with is one a worker needs.  When the byte arrives (within 10 s,
 * else the hook is never reached: a failure naming it) the parent SIGKILLs
 * the victim.  Each worker must then finish AFTER_OPS more operations within
 * 10 s (a hang is a failure), stop, free what it holds and exit 0.  Last the
 * parent runs slab_scrub(), then slab_validate() and buddy_check() (both
 * clean), and allocates and frees once more from every kind of pool.  The
 * victim's objects leak legitimately: the check is consistency, not zero
 * leaks.
 *
 * Each case runs T_KILL_REPEAT times (1), or --repeat=N before the case names.
 */
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "tlib.h"
#include "shm.h"

#define NR_WORKERS	3
#define WORKER_HELD	512		/* objects a worker keeps at most */
#define WARMUP_OPS	2000		/* each worker, before the victim starts */
#define AFTER_OPS	20000		/* each worker, after the victim died */
#define REACH_MS	10000		/* the victim must reach the hook within */
#define RECOVER_MS	10000		/* the workers must do AFTER_OPS within */
#define STOP_MS		15000		/* the workers must free and exit within */
#define VICTIM_OBJS	5000		/* objects per victim round: crosses many slabs */
#define OBJ_SIZE	192

static unsigned long opt_repeat = 1;

struct kill_shared {
	int stop;				/* workers: free everything, exit */
	uint64_t ops[NR_WORKERS];		/* operations done, per worker */
	struct t_problems problems;		/* what the workers found wrong */
};

static struct kill_shared *ks;
static struct arena *ar;
static struct kmem_cache *cache;

static uint64_t rng_state;

static int pin_cpu = -1;	/* the CPU the victim and worker 0 share */

static void pin_to(int cpu)
{
	cpu_set_t set;

	if (cpu < 0)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

/* ---- workers ------------------------------------------------------------ */

struct held {
	void *p;
	uint64_t tag;
	bool kmalloc;
};

static void worker_free(struct held *h)
{
	uint64_t got;

	memcpy(&got, h->p, 8);
	if (got != h->tag)
		t_problem(&ks->problems, "worker %d: object %p changed: %016llx != %016llx", getpid(), h->p,
			(unsigned long long)got, (unsigned long long)h->tag);
	if (h->kmalloc)
		slab_kfree(ar, h->p);
	else
		slab_free(ar, cache, h->p);
}

static void worker_tmp_cache(void)
{
	char name[32];
	struct kmem_cache *s;
	void *p[8];

	snprintf(name, sizeof(name), "kill.tmp.%d", (int)getpid());
	int rc = slab_cache_create(ar, name, 40 + (size_t)(t_rand(&rng_state) % 400), 0, 0, NULL, &s);
	if (rc) {
		t_problem(&ks->problems, "worker %d: slab_cache_create(%s): %d", getpid(), name, rc);
		return;
	}
	for (int i = 0; i < 8; i++)
		p[i] = slab_alloc(ar, s, GFP_KERNEL);
	for (int i = 0; i < 8; i++)
		if (p[i])
			slab_free(ar, s, p[i]);
	rc = slab_cache_destroy(ar, s);
	if (rc)
		t_problem(&ks->problems, "worker %d: slab_cache_destroy(%s): %d", getpid(), name, rc);
}

static void worker(int idx)
{
	static struct held held[WORKER_HELD];
	unsigned int nheld = 0;
	uint64_t seq = 0;

	alarm(120);	/* a hang ends the worker; the parent sees the signal */
	if (idx == 0)
		pin_to(pin_cpu);
	rng_state = ((uint64_t)getpid() << 20 | (uint64_t)idx) * 0x9e3779b97f4a7c15ULL | 1;
	while (!__atomic_load_n(&ks->stop, __ATOMIC_ACQUIRE)) {
		uint64_t op = __atomic_load_n(&ks->ops[idx], __ATOMIC_RELAXED);
		unsigned int r = (unsigned int)(t_rand(&rng_state) % 100);

		if (op % 512 == 511) {
			worker_tmp_cache();
		} else if (op % 512 == 255) {
			void *big = slab_kmalloc(ar, 2u << 20, GFP_KERNEL);
			if (big) {
				memset(big, 0x5a, 4096);
				slab_kfree(ar, big);
			}
		} else if (op % 256 == 100) {
			slab_shrink(ar, cache);
		} else if (r < 55 || nheld == 0) {
			struct held h;
			h.kmalloc = r % 3 == 0;
			h.p = h.kmalloc ? slab_kmalloc(ar, 8 + t_rand(&rng_state) % 16384, GFP_KERNEL)
					: slab_alloc(ar, cache, GFP_KERNEL);
			if (!h.p) {
				t_problem(&ks->problems, "worker %d: allocation failed: errno %d", getpid(), errno);
			} else {
				h.tag = (uint64_t)getpid() << 32 | ++seq;
				memcpy(h.p, &h.tag, 8);
				if (nheld == WORKER_HELD) {
					unsigned int i = (unsigned int)(t_rand(&rng_state) % nheld);
					worker_free(&held[i]);
					held[i] = h;
				} else {
					held[nheld++] = h;
				}
			}
		} else {
			unsigned int i = (unsigned int)(t_rand(&rng_state) % nheld);
			worker_free(&held[i]);
			held[i] = held[--nheld];
		}
		__atomic_store_n(&ks->ops[idx], op + 1, __ATOMIC_RELEASE);
	}
	while (nheld)
		worker_free(&held[--nheld]);
	_exit(0);
}

/* ---- the victim --------------------------------------------------------- */

static int hook_fd = -1;
static enum shm_hook hook_target;

static void victim_hook(enum shm_hook where)
{
	char c = (char)where;

	if (where != hook_target)
		return;
	if (write(hook_fd, &c, 1) != 1)
		_exit(3);
	for (;;)
		pause();	/* holding whatever the engine holds here; SIGKILL comes */
}

/* many objects: new slabs, full slabs freed into, partial lists, deactivation */
static void victim_objects(void)
{
	static void *p[VICTIM_OBJS];
	int n = 0;

	/* every fourth object is a kmalloc one, told apart by its index */
	for (; n < VICTIM_OBJS; n++) {
		p[n] = (n & 3) == 3 ? slab_kmalloc(ar, 8 + t_rand(&rng_state) % 2000, GFP_KERNEL)
				    : slab_alloc(ar, cache, GFP_KERNEL);
		if (!p[n])
			break;
	}
	/* free in random order so that frees land in full, non-CPU slabs */
	int order[VICTIM_OBJS];
	for (int i = 0; i < n; i++)
		order[i] = i;
	for (int i = n - 1; i > 0; i--) {
		int j = (int)(t_rand(&rng_state) % (uint64_t)(i + 1)), t = order[i];
		order[i] = order[j];
		order[j] = t;
	}
	for (int i = 0; i < n; i++) {
		int k = order[i];
		if ((k & 3) == 3)
			slab_kfree(ar, p[k]);
		else
			slab_free(ar, cache, p[k]);
	}
	slab_shrink(ar, cache);
}

/* large blocks: whole 2 MiB chunks free up and go back to the host */
static void victim_large(void)
{
	void *p[3];

	for (int i = 0; i < 3; i++) {
		size_t sz = (2u << 20) + (size_t)(t_rand(&rng_state) % (2u << 20));
		p[i] = slab_kmalloc(ar, sz, GFP_KERNEL);
		if (!p[i])
			p[i] = slab_kmalloc(ar, 2u << 20, GFP_KERNEL);
		if (p[i])
			memset(p[i], 0xa5, 2u << 20);
	}
	for (int i = 0; i < 3; i++)
		slab_kfree(ar, p[i]);
}

static void victim_caches(void)
{
	for (int i = 0; i < 20; i++) {
		char name[32];
		struct kmem_cache *s;

		snprintf(name, sizeof(name), "kill.victim.%d", i % 4);
		if (slab_cache_create(ar, name, 64 + 32 * (size_t)(i % 4), 0, 0, NULL, &s) == 0) {
			void *o = slab_alloc(ar, s, GFP_KERNEL);
			if (o)
				slab_free(ar, s, o);
			slab_cache_destroy(ar, s);
		}
	}
}

static void victim(enum shm_hook h, int fd)
{
	alarm(60);
	pin_to(pin_cpu);
	rng_state = (uint64_t)getpid() * 0x9e3779b97f4a7c15ULL | 1;
	hook_fd = fd;
	hook_target = h;
	shm_test_hook = victim_hook;
	for (;;) {
		/* the workload that reaches h first, then the rest */
		if (h == HOOK_PUNCH) {
			victim_large();
		} else if (h == HOOK_SLAB_MUTEX) {
			victim_caches();
		} else {
			victim_objects();
		}
		victim_objects();
		victim_large();
		victim_caches();
	}
}

/* ---- the parent --------------------------------------------------------- */

static const char *hook_name(enum shm_hook h)
{
	switch (h) {
	case HOOK_CPU_LOCKED: return "HOOK_CPU_LOCKED";
	case HOOK_CPU_DEACTIVATE: return "HOOK_CPU_DEACTIVATE";
	case HOOK_LIST_LOCKED: return "HOOK_LIST_LOCKED";
	case HOOK_ZONE_LOCKED: return "HOOK_ZONE_LOCKED";
	case HOOK_SLAB_MUTEX: return "HOOK_SLAB_MUTEX";
	case HOOK_NEW_SLAB: return "HOOK_NEW_SLAB";
	case HOOK_FREE_TRANSIT: return "HOOK_FREE_TRANSIT";
	case HOOK_PUNCH: return "HOOK_PUNCH";
	case HOOK_SLAB_ACCT: return "HOOK_SLAB_ACCT";
	case HOOK_DISCARD: return "HOOK_DISCARD";
	case HOOK_CPU_DETACH: return "HOOK_CPU_DETACH";
	case HOOK_IDENT_WALK: return "HOOK_IDENT_WALK";
	case HOOK_BUDDY_SPLIT: return "HOOK_BUDDY_SPLIT";
	}
	return "?";
}

/* a watchdog for the parent's own calls into the arena after the kill */
static char watchdog_msg[256];

static void watchdog(int sig)
{
	(void)sig;
	if (write(1, watchdog_msg, strlen(watchdog_msg)) < 0)
		_exit(2);
	_exit(1);
}

static void arm_watchdog(unsigned int s, const char *what, const char *caze)
{
	snprintf(watchdog_msg, sizeof(watchdog_msg),
		 "  check failed: the parent hung in %s\nFAIL %s\n", what, caze);
	alarm(s);
}

/* wait for pid until deadline_ms (absolute); true if it was reaped */
static bool wait_until(pid_t pid, uint64_t deadline_ms, int *status)
{
	for (;;) {
		pid_t r = waitpid(pid, status, WNOHANG);
		if (r == pid)
			return true;
		if (r < 0)
			return false;
		if (t_now_ms() >= deadline_ms)
			return false;
		t_sleep_ms(5);
	}
}

struct case_stats {
	uint64_t reach_ms_max, resume_ms_max, recover_ms_max;
	uint64_t orphans, transit, leaked;
};

static void kill_round(enum shm_hook h, const char *caze, unsigned long round,
		       struct case_stats *st)
{
	char err[256] = "";
	struct arena_opts ao = { .size = 64 << 20, .huge = ARENA_HUGE_OFF, .base = 0 };
	pid_t wpid[NR_WORKERS] = { 0 }, vpid = 0;
	int pfd[2] = { -1, -1 };
	int rc, status;

	rc = arena_create(&ao, &ar, err, sizeof(err));
	CHECKF(rc == 0, "arena_create: %d %s", rc, err);
	if (rc)
		return;
	ks = mmap(NULL, sizeof(*ks), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	REQUIRE(ks != MAP_FAILED);
	rc = slab_cache_create(ar, "kill.obj", OBJ_SIZE, 0, 0, NULL, &cache);
	CHECKF(rc == 0, "slab_cache_create: %d", rc);
	if (rc)
		goto out;

	for (int i = 0; i < NR_WORKERS; i++) {
		wpid[i] = fork();
		if (wpid[i] == 0)
			worker(i);
		CHECK(wpid[i] > 0);
	}
	/* the workers are running before the victim starts */
	uint64_t deadline = t_now_ms() + 10000;
	for (int i = 0; i < NR_WORKERS; i++)
		while (__atomic_load_n(&ks->ops[i], __ATOMIC_ACQUIRE) < WARMUP_OPS &&
		       t_now_ms() < deadline)
			t_sleep_ms(2);
	for (int i = 0; i < NR_WORKERS; i++)
		CHECKF(ks->ops[i] >= WARMUP_OPS, "%s round %lu: worker %d did %llu ops before the victim",
		       hook_name(h), round, i, (unsigned long long)ks->ops[i]);

	REQUIRE(pipe(pfd) == 0);
	vpid = fork();
	if (vpid == 0) {
		close(pfd[0]);
		victim(h, pfd[1]);
	}
	close(pfd[1]);
	pfd[1] = -1;
	CHECK(vpid > 0);

	uint64_t t0 = t_now_ms();
	struct pollfd pf = { .fd = pfd[0], .events = POLLIN };
	char c = 0;
	bool reached = false;
	while (!reached) {
		uint64_t t = t_now_ms();
		if (t - t0 >= REACH_MS)
			break;
		rc = poll(&pf, 1, (int)(REACH_MS - (t - t0)));
		if (rc > 0)
			reached = read(pfd[0], &c, 1) == 1 && c == (char)h;
		if (rc > 0 && !reached)
			break;	/* EOF: the victim died on its own */
	}
	uint64_t reach_ms = t_now_ms() - t0;
	CHECKF(reached, "%s round %lu: the victim never reached the hook within %d ms",
	       hook_name(h), round, REACH_MS);
	if (vpid > 0) {
		kill(vpid, SIGKILL);
		waitpid(vpid, &status, 0);
		if (!reached)
			printf("  victim ended: %s %d\n", WIFEXITED(status) ? "exit" : "signal",
			       WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
	}
	if (reach_ms > st->reach_ms_max)
		st->reach_ms_max = reach_ms;

	/* the others keep going */
	uint64_t base[NR_WORKERS];
	for (int i = 0; i < NR_WORKERS; i++)
		base[i] = __atomic_load_n(&ks->ops[i], __ATOMIC_ACQUIRE);
	t0 = t_now_ms();
	bool all = false, resumed = false;
	uint64_t resume_ms = 0;	/* every worker did 100 operations: a stall shows here */
	while (!all && t_now_ms() - t0 < RECOVER_MS) {
		all = resumed = true;
		for (int i = 0; i < NR_WORKERS; i++) {
			uint64_t done = __atomic_load_n(&ks->ops[i], __ATOMIC_ACQUIRE) - base[i];
			all &= done >= AFTER_OPS;
			resumed &= done >= 100;
		}
		if (resumed && !resume_ms)
			resume_ms = t_now_ms() - t0;
		if (!all)
			t_sleep_ms(1);
	}
	uint64_t recover_ms = t_now_ms() - t0;
	if (resume_ms > st->resume_ms_max)
		st->resume_ms_max = resume_ms;
	for (int i = 0; i < NR_WORKERS; i++) {
		uint64_t done = ks->ops[i] - base[i];
		CHECKF(done >= AFTER_OPS,
		       "%s round %lu: worker %d did %llu of %d operations in %d ms after the victim was killed (hang?)",
		       hook_name(h), round, i, (unsigned long long)done, AFTER_OPS, RECOVER_MS);
	}
	if (recover_ms > st->recover_ms_max)
		st->recover_ms_max = recover_ms;

	__atomic_store_n(&ks->stop, 1, __ATOMIC_RELEASE);
	/* a worker that hung on a lock will not stop either: do not wait long */
	int stop_ms = all ? STOP_MS : 1000;
	deadline = t_now_ms() + (uint64_t)stop_ms;
	for (int i = 0; i < NR_WORKERS; i++) {
		if (wpid[i] <= 0)
			continue;
		if (!wait_until(wpid[i], deadline, &status)) {
			CHECKF(0, "%s round %lu: worker %d did not stop within %d ms", hook_name(h),
			       round, i, stop_ms);
			kill(wpid[i], SIGKILL);
			waitpid(wpid[i], &status, 0);
			continue;
		}
		CHECKF(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		       "%s round %lu: worker %d: %s %d", hook_name(h), round, i,
		       WIFEXITED(status) ? "exit status" : "killed by signal",
		       WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
	}
	if (ks->problems.count)
		printf("  %s round %lu: %llu worker problems\n", hook_name(h), round,
		       (unsigned long long)ks->problems.count);
	t_problems_show(&ks->problems, "worker problem");
	CHECK(ks->problems.count == 0);
	if (!all) {
		/* the arena holds a lock nobody will release: the checks would hang too */
		printf("  %s round %lu: workers hung; scrub and validate not attempted\n",
		       hook_name(h), round);
		goto out;
	}

	/* repair, then everything must be consistent */
	struct slab_scrub_result sr;
	struct slab_validate_result r;
	memset(&sr, 0, sizeof(sr));
	arm_watchdog(20, "slab_scrub", caze);
	rc = slab_scrub(ar, &sr);
	CHECKF(rc == 0, "%s round %lu: slab_scrub: %d", hook_name(h), round, rc);
	st->orphans += sr.orphans;
	st->transit += sr.transit_blocks;
	st->leaked += sr.leaked_objects;

	memset(&r, 0, sizeof(r));
	arm_watchdog(20, "slab_validate", caze);
	rc = slab_validate(ar, NULL, &r);
	CHECKF(rc == 0 && r.nr_errors == 0, "%s round %lu: slab_validate: %d, %llu errors, first: %s",
	       hook_name(h), round, rc, (unsigned long long)r.nr_errors, r.first_error);
	arm_watchdog(20, "buddy_check", caze);
	rc = buddy_check(ar, err, sizeof(err));
	CHECKF(rc == 0, "%s round %lu: buddy_check: %d %s", hook_name(h), round, rc, err);

	/* and every pool still serves */
	arm_watchdog(20, "allocating after the scrub", caze);
	{
		static void *p[VICTIM_OBJS];
		int n = 0;
		for (; n < VICTIM_OBJS; n++)
			if (!(p[n] = slab_alloc(ar, cache, GFP_KERNEL)))
				break;
		CHECKF(n == VICTIM_OBJS, "%s round %lu: only %d objects after the scrub",
		       hook_name(h), round, n);
		while (n--)
			slab_free(ar, cache, p[n]);
		void *big = slab_kmalloc(ar, 2u << 20, GFP_KERNEL);
		CHECKF(big != NULL, "%s round %lu: no 2 MiB block after the scrub", hook_name(h),
		       round);
		slab_kfree(ar, big);
		void *small = slab_kmalloc(ar, 100, GFP_KERNEL);
		CHECK(small != NULL);
		slab_kfree(ar, small);
		struct kmem_cache *s;
		rc = slab_cache_create(ar, "kill.after", 72, 0, 0, NULL, &s);
		CHECKF(rc == 0, "%s round %lu: slab_cache_create after the scrub: %d",
		       hook_name(h), round, rc);
		if (rc == 0)
			CHECK(slab_cache_destroy(ar, s) == 0);
	}
	memset(&r, 0, sizeof(r));
	arm_watchdog(20, "the last slab_validate", caze);
	rc = slab_validate(ar, NULL, &r);
	CHECKF(rc == 0 && r.nr_errors == 0, "%s round %lu: last slab_validate: %d, %llu errors, first: %s",
	       hook_name(h), round, rc, (unsigned long long)r.nr_errors, r.first_error);
	alarm(0);

out:
	if (pfd[0] >= 0)
		close(pfd[0]);
	arena_close(ar);
	ar = NULL;
	munmap(ks, sizeof(*ks));
}

static void kill_case(enum shm_hook h, const char *caze)
{
	struct case_stats st;

	memset(&st, 0, sizeof(st));
	signal(SIGALRM, watchdog);
	for (unsigned long i = 0; i < opt_repeat && !t_failed; i++) {
		kill_round(h, caze, i, &st);
		if (t_failed)
			printf("  %s: round %lu of %lu failed\n", hook_name(h), i + 1, opt_repeat);
	}
	printf("  %s x%lu: hook reached in <= %llu ms; after the kill every worker did 100 ops in <= %llu ms, "
	       "%d in <= %llu ms; scrub: %llu orphans, %llu transit blocks, %llu leaked objects\n",
	       hook_name(h), opt_repeat, (unsigned long long)st.reach_ms_max,
	       (unsigned long long)st.resume_ms_max, AFTER_OPS,
	       (unsigned long long)st.recover_ms_max, (unsigned long long)st.orphans,
	       (unsigned long long)st.transit, (unsigned long long)st.leaked);
	signal(SIGALRM, SIG_DFL);
}

#define KILL_CASE(fn, hook) static void fn(void) { kill_case(hook, #fn); }
KILL_CASE(kill_cpu_locked, HOOK_CPU_LOCKED)
KILL_CASE(kill_cpu_deactivate, HOOK_CPU_DEACTIVATE)
KILL_CASE(kill_list_locked, HOOK_LIST_LOCKED)
KILL_CASE(kill_zone_locked, HOOK_ZONE_LOCKED)
KILL_CASE(kill_slab_mutex, HOOK_SLAB_MUTEX)
KILL_CASE(kill_new_slab, HOOK_NEW_SLAB)
KILL_CASE(kill_free_transit, HOOK_FREE_TRANSIT)
KILL_CASE(kill_punch, HOOK_PUNCH)
KILL_CASE(kill_slab_acct, HOOK_SLAB_ACCT)
KILL_CASE(kill_discard, HOOK_DISCARD)
KILL_CASE(kill_cpu_detach, HOOK_CPU_DETACH)
KILL_CASE(kill_buddy_split, HOOK_BUDDY_SPLIT)

int main(int argc, char **argv)
{
	static const struct t_case cases[] = {
		T_CASE(kill_cpu_locked), T_CASE(kill_cpu_deactivate), T_CASE(kill_list_locked),
		T_CASE(kill_zone_locked), T_CASE(kill_slab_mutex), T_CASE(kill_new_slab),
		T_CASE(kill_free_transit), T_CASE(kill_punch), T_CASE(kill_slab_acct),
		T_CASE(kill_discard), T_CASE(kill_cpu_detach), T_CASE(kill_buddy_split),
	};
	char *rest[64];
	int nrest = 0;
	cpu_set_t set;

	opt_repeat = t_env_ul("T_KILL_REPEAT", opt_repeat);
	for (int i = 0; i < argc && nrest < 63; i++) {
		if (!strncmp(argv[i], "--repeat=", 9))
			opt_repeat = strtoul(argv[i] + 9, NULL, 0);
		else
			rest[nrest++] = argv[i];
	}
	rest[nrest] = NULL;
	if (!opt_repeat)
		opt_repeat = 1;
	if (sched_getaffinity(0, sizeof(set), &set) == 0)
		for (int c = 0; c < CPU_SETSIZE && pin_cpu < 0; c++)
			if (CPU_ISSET(c, &set))
				pin_cpu = c;
	return t_main(cases, (int)(sizeof(cases) / sizeof(cases[0])), nrest, rest);
}
