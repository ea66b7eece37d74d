/*
 * geom.c - each process's private, checked copy of each cache's geometry
 * (the reasoning is at struct cache_geom in internal.h).
 *
 * No lock: the tables in struct arena are process-local arrays of pointers,
 * each changed by one atomic operation, and a copy is written whole before it
 * is published and never changed after.
 *
 *   geom_id[id]    owns the copies: at most one per cache id, put there by a
 *                  CAS from NULL (two threads that make a copy at once: one
 *                  wins, the other frees its own, never seen by anyone) and
 *                  taken out by a CAS to NULL (geom_drop) by the one thread
 *                  that then retires it.
 *   geom_front[]   a cache of geom_id's entries by handle.  An entry is put
 *                  there, then geom_id is read again: if the copy was dropped
 *                  meanwhile, the slot is cleared.  Both sides use sequentially
 *                  consistent operations, so either the dropper's clearing of
 *                  the slot comes after the install, or the installer sees the
 *                  drop: no slot keeps a dropped copy.
 *   geom_retired[] a dropped copy leaves the ring GEOM_RETIRED drops later,
 *                  and is freed (geom_age) once it was dropped GEOM_GRACE_NS
 *                  ago as well. A thread that read it just before the drop
 *                  and is still in a fast path (a leaf: no lock, no call out,
 *                  a few dozen instructions) is long done by then - unless it
 *                  was preempted: a count alone was not enough, threads that
 *                  destroy pools while others use theirs turned the ring over
 *                  within one time slice (t_slub geom_tables_threads: SIGSEGV
 *                  about once in 80 runs). Past GEOM_AGING_MAX copies waiting
 *                  (a scribbler making a process drop copies as fast as it
 *                  can), no new copy is made (an error) until some are old
 *                  enough: memory stays bounded, nothing is freed early. A
 *                  thread that can stay longer on a copy - a slow path waits
 *                  for a lock, runs the ctor, fallocates; a bulk call loops -
 *                  holds it pinned (geom_pin: refs + 1) for that time, and a
 *                  copy that leaves the ring pinned is freed by its last
 *                  unpinner instead (GEOM_ORPHAN; both sides one atomic
 *                  operation on refs, so exactly one of them sees the other
 *                  gone and frees). Memory stays bounded by SLUB_MAX_CACHES +
 *                  GEOM_RETIRED + GEOM_AGING_MAX copies plus one per thread
 *                  inside a slow path, whatever a scribbler does. (Before the
 *                  pins, a scribble that made a process drop the copy of a
 *                  pool one of its threads was allocating from in a ctor or
 *                  behind a lock, then 256 pool destroys, had that thread
 *                  read freed memory: t_slub's ctor_while_pools_churn.)
 *
 * The pinned window: a thread pins the copy it read in its fast path, so the
 * copy must not have left the ring in between; that is the fast path's bound
 * above, nothing more.
 *
 * Layer: above meta.c (cache_check) and report.c, which it calls.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"

/* is g still the copy of the live descriptor it was made from? */
static bool geom_current(struct arena *a, const struct cache_geom *g)
{
	struct kmem_cache *s = cache_of_off(a, g->k.self);

	return s && s == g->shared && __atomic_load_n(&s->random, __ATOMIC_SEQ_CST) == g->k.random;
}

/* g leaves the ring: freed now unless a thread holds it pinned */
static void geom_evict(struct cache_geom *g)
{
	if (g && !(__atomic_fetch_or(&g->refs, GEOM_ORPHAN, __ATOMIC_ACQ_REL) & ~GEOM_ORPHAN))
		free(g);
}

static uint64_t geom_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);	/* the vDSO: no system call */
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* onto the aging stack (a Treiber push: only pushes and take-alls, no ABA) */
static void geom_age_push(struct arena *a, struct cache_geom *g)
{
	struct cache_geom *head = __atomic_load_n(&a->geom_aging, __ATOMIC_RELAXED);

	do
		g->aging = head;
	while (!__atomic_compare_exchange_n(&a->geom_aging, &head, g, true, __ATOMIC_RELEASE,
					    __ATOMIC_RELAXED));
}

/* free what on the aging stack was dropped GEOM_GRACE_NS ago or more */
static void geom_sweep(struct arena *a, uint64_t now)
{
	struct cache_geom *list = __atomic_exchange_n(&a->geom_aging, NULL, __ATOMIC_ACQUIRE), *next;

	for (; list; list = next) {
		next = list->aging;
		if (now - list->retired_ns >= GEOM_GRACE_NS) {
			__atomic_sub_fetch(&a->geom_aging_nr, 1, __ATOMIC_RELAXED);
			geom_evict(list);
		} else {
			geom_age_push(a, list);
		}
	}
}

/*
 * v left the ring: it waits on the aging stack until it was dropped
 * GEOM_GRACE_NS ago; every 32nd push sweeps the stack (takes it whole, frees
 * what is old enough, pushes the rest back).  Never sooner: past
 * GEOM_AGING_MAX waiting, geom_lookup makes no new copy instead (an error,
 * reported), which bounds memory whatever a scribbler does.  A thread that
 * forks while it holds a taken stack leaves the child without those copies:
 * a leak, never a fault.
 */
static void geom_age(struct arena *a, struct cache_geom *v, uint64_t now)
{
	uint32_t nr = __atomic_add_fetch(&a->geom_aging_nr, 1, __ATOMIC_RELAXED);

	geom_age_push(a, v);
	if (nr % 32 == 0)
		geom_sweep(a, now);
}

static void geom_retire(struct arena *a, struct cache_geom *g)
{
	uint32_t i = __atomic_fetch_add(&a->geom_retire_next, 1, __ATOMIC_RELAXED) % GEOM_RETIRED;
	uint64_t now = geom_now();
	struct cache_geom *v;

	g->retired_ns = now;
	v = __atomic_exchange_n(&a->geom_retired[i], g, __ATOMIC_ACQ_REL);
	if (v)
		geom_age(a, v, now);
}

void geom_pin(struct arena *a, struct kmem_cache *s)
{
	if (cache_is_copy(a, s))
		__atomic_fetch_add(&((struct cache_geom *)s)->refs, 1, __ATOMIC_ACQ_REL);
}

void geom_unpin(struct arena *a, struct kmem_cache *s)
{
	/* the last pin of a copy that already left the ring: ours to free */
	if (cache_is_copy(a, s) &&
	    __atomic_fetch_sub(&((struct cache_geom *)s)->refs, 1, __ATOMIC_ACQ_REL) ==
		    (GEOM_ORPHAN | 1))
		free(s);
}

/* take g out of the tables; the thread whose CAS takes it out of geom_id retires it */
static void geom_drop(struct arena *a, struct cache_geom *g)
{
	struct cache_geom **slot = &a->geom_front[geom_slot(g->shared)], *e = g;

	if (__atomic_compare_exchange_n(&a->geom_id[g->k.id], &e, NULL, false, __ATOMIC_SEQ_CST,
					__ATOMIC_SEQ_CST))
		geom_retire(a, g);
	e = g;
	__atomic_compare_exchange_n(slot, &e, NULL, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}

/*
 * g (owned by geom_id) into the front table; see the top of the file.  NULL
 * (g dropped, or left to whoever dropped it): g is no longer the copy of the
 * live descriptor it was made from - the pool was destroyed, and maybe made
 * again at the same address, between the copy and now.  Such a copy must not
 * stay where the handle finds it: the handle names the new pool, and the old
 * geometry (per-CPU array, nodes, key) would be used on it - objects linked
 * with the wrong key, another pool's CPU slab.  (geom_tables_threads in
 * t_slub: a ksize of an object of a pool being destroyed and made again by
 * another thread.)  The check comes after the publication, with a fence on
 * both sides (here, and in geom_forget / geom_fresh after the descriptor is
 * changed): either this thread sees the change and takes g out, or the
 * changer sees g in the tables and drops it.
 */
static struct kmem_cache *geom_install(struct arena *a, struct cache_geom *g)
{
	struct cache_geom **slot = &a->geom_front[geom_slot(g->shared)], *e = g;

	(void)__atomic_exchange_n(slot, g, __ATOMIC_SEQ_CST);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!geom_current(a, g)) {
		geom_drop(a, g);
		return NULL;
	}
	if (__atomic_load_n(&a->geom_id[g->k.id], __ATOMIC_SEQ_CST) != g)
		__atomic_compare_exchange_n(slot, &e, NULL, false, __ATOMIC_SEQ_CST,
					    __ATOMIC_SEQ_CST);
	return &g->k;	/* whole for GEOM_RETIRED more drops at least */
}

/* this process's copy for handle s, if it has one of s's current incarnation */
static struct cache_geom *geom_find(struct arena *a, struct kmem_cache *s, uint32_t id)
{
	uint64_t random = atomic_load_relaxed(&s->random);
	struct cache_geom *g;

	if (id < SLUB_MAX_CACHES) {
		g = __atomic_load_n(&a->geom_id[id], __ATOMIC_ACQUIRE);
		if (g && g->shared == s && g->k.random == random)
			return g;
	}
	/* the descriptor's id changed since the copy was made (a scribble): look
	 * through every copy; slow, but only then */
	for (id = 0; id < SLUB_MAX_CACHES; id++) {
		g = __atomic_load_n(&a->geom_id[id], __ATOMIC_ACQUIRE);
		if (g && g->shared == s && g->k.random == random)
			return g;
	}
	return NULL;
}

struct kmem_cache *geom_lookup(struct arena *a, struct kmem_cache *s, aoff_t obj)
{
	uint64_t bytes = KMEM_CACHE_SIZE(a->nr_nodes);
	struct cache_geom *g, *e;
	char why[128];
	aoff_t off;
	int kind;

	/* the handle must be a live descriptor of this arena: cache_of_off checks
	 * its range, alignment, self and state without following anything */
	if (cache_is_copy(a, s) || !cache_of_off(a, off = arena_off_of(a, s))) {
		if (!cache_unusable(a, s, obj)) {	/* it came alive just now: rare */
			slab_report(a, NULL, SLAB_ERR_DESTROYED, obj, "%p is no cache", (void *)s);
			errno = EINVAL;
		}
		return NULL;
	}
	for (int tries = 0; tries < 4; tries++) {
		struct kmem_cache *k;

		if (tries && !cache_of_off(a, off)) {	/* destroyed meanwhile */
			slab_report(a, NULL, SLAB_ERR_DESTROYED, obj, "%p is no cache", (void *)s);
			errno = EINVAL;
			return NULL;
		}
		g = geom_find(a, s, atomic_load_relaxed(&s->id));
		if (g && (k = geom_install(a, g)))
			return k;
		if (g)
			continue;	/* of a pool gone since: dropped, look again */
		if (__atomic_load_n(&a->geom_aging_nr, __ATOMIC_RELAXED) > GEOM_AGING_MAX) {
			geom_sweep(a, geom_now());
			if (__atomic_load_n(&a->geom_aging_nr, __ATOMIC_RELAXED) > GEOM_AGING_MAX) {
				slab_report(a, s, SLAB_ERR_PAGE, off,
					    "not used: %u copies of pools dropped in the last second",
					    GEOM_AGING_MAX);
				errno = ENOMEM;
				return NULL;
			}
		}
		g = calloc(1, sizeof(*g));
		if (!g) {
			errno = ENOMEM;
			return NULL;
		}
		/* one copy, then every check on the copy: nothing is read twice */
		memcpy(&g->k, s, bytes);
		g->k.name[SLUB_NAME_MAX] = 0;
		g->shared = s;
		g->obj_limit = a->size - g->k.size;	/* once, not per call */
		kind = g->k.self != off ? SLAB_ERR_PAGE : cache_check(a, &g->k, why, sizeof(why));
		if (kind) {
			if (g->k.self != off)
				snprintf(why, sizeof(why), "descriptor changed while it was copied");
			slab_report(a, s, (enum slab_error)kind, off, "not used: %s", why);
			free(g);
			errno = EINVAL;
			return NULL;
		}
		e = __atomic_load_n(&a->geom_id[g->k.id], __ATOMIC_ACQUIRE);
		if (e && !geom_current(a, e)) {
			geom_drop(a, e);	/* a cache gone since (destroyed elsewhere) */
			e = NULL;
		}
		if (e && e->shared != s) {
			char nm[SLUB_NAME_MAX + 1];

			slab_report(a, s, SLAB_ERR_PAGE, off,
				    "not used: descriptor says id %u, the id of live cache %s", g->k.id,
				    cache_name_safe(&e->k, nm));
			free(g);
			errno = EINVAL;
			return NULL;
		}
		if (!e && __atomic_compare_exchange_n(&a->geom_id[g->k.id], &e, g, false,
						      __ATOMIC_SEQ_CST, __ATOMIC_ACQUIRE)) {
			k = geom_install(a, g);
			if (k)
				return k;
			continue;	/* dropped by geom_install (retired, not freed) */
		}
		free(g);	/* another thread published one first (or s changed): again */
	}
	slab_report(a, s, SLAB_ERR_PAGE, off, "not used: the descriptor keeps changing");
	errno = EINVAL;
	return NULL;
}

void geom_forget(struct arena *a, const struct kmem_cache *s)
{
	aoff_t self = cache_is_copy(a, s) ? s->self : arena_off_of(a, s);

	__atomic_thread_fence(__ATOMIC_SEQ_CST);	/* after the destroy: see geom_install */
	for (unsigned int id = 0; id < SLUB_MAX_CACHES; id++) {
		struct cache_geom *g = __atomic_load_n(&a->geom_id[id], __ATOMIC_ACQUIRE);

		if (g && g->k.self == self)
			geom_drop(a, g);
	}
}

void geom_disown(struct arena *a, const struct kmem_cache *s)
{
	aoff_t self = cache_is_copy(a, s) ? s->self : arena_off_of(a, s);

	for (unsigned int id = 0; id < SLUB_MAX_CACHES; id++) {
		struct cache_geom *g = __atomic_load_n(&a->geom_id[id], __ATOMIC_ACQUIRE);

		if (g && g->k.self == self)
			__atomic_store_n(&g->opened, false, __ATOMIC_RELAXED);
	}
}

struct kmem_cache *geom_fresh(struct arena *a, struct kmem_cache *s, bool open)
{
	struct kmem_cache *k;
	struct cache_geom *g;

	__atomic_thread_fence(__ATOMIC_SEQ_CST);	/* after a create: see geom_install */
	k = cache_geom(a, s);
	g = (struct cache_geom *)k;
	/* a system cache is never destroyed: its copy is always its own */
	if (k && !(k->state & CACHE_SYSTEM) && !__atomic_load_n(&g->opened, __ATOMIC_RELAXED) &&
	    k->random != atomic_load_relaxed(&s->random)) {
		geom_drop(a, g);
		k = cache_geom(a, s);
		g = (struct cache_geom *)k;
	}
	if (k && open)
		__atomic_store_n(&g->opened, true, __ATOMIC_RELAXED);
	return k;
}

void geom_free_all(struct arena *a)
{
	for (unsigned int id = 0; id < SLUB_MAX_CACHES; id++) {
		free(a->geom_id[id]);
		a->geom_id[id] = NULL;
	}
	for (unsigned int i = 0; i < GEOM_RETIRED; i++) {
		free(a->geom_retired[i]);
		a->geom_retired[i] = NULL;
	}
	while (a->geom_aging) {
		struct cache_geom *g = a->geom_aging;

		a->geom_aging = g->aging;
		free(g);
	}
	a->geom_aging_nr = 0;
	memset(a->geom_front, 0, sizeof(a->geom_front));
}
