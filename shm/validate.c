/*
 * validate.c - walking a cache and validate: every slab of every cache
 * against its lists, counters, freelists and (debug caches) red zones and
 * poison; the arena's header and the list of caches; cache_walkable, the
 * check that what a flush or discard follows is whole.
 *
 * validate takes every CPU lock of a cache (ascending) and then its node
 * locks (ascending), so that no slow path moves a slab while it looks; the
 * lockless paths still run, so its counts are exact only while no process
 * allocates or frees.  What it reads may have been scribbled on: see the
 * rules at the top of slub_debug.c (cache_check first, slab_shape before
 * sizing, every link checked, every walk bounded).
 *
 * Layer: above slub_debug.c.  It calls slub_debug.c (in_slab, slab_shape),
 * debug_obj.c, slub.c's locks and lists, buddy.c (buddy_check,
 * buddy_acct_check), slub_cache.c's descriptor checks, the cache list,
 * report.c, lock.c, list.c, os.c; nothing above it.  scrub.c and the
 * statistics use its walk (struct walk, lock_cache, walk_freelist).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* ---- walking a cache ------------------------------------------------------ */

int walk_init(struct walk *w, struct arena *a, struct kmem_cache *s,
		     struct slab_validate_result *r, bool report)
{
	*w = (struct walk){ a, s, NULL, NULL, r, report, NULL };
	w->where = calloc(a->nr_pages, 1);
	w->cpu_of = calloc(a->nr_pages, sizeof(uint16_t));
	/* per index a 16-bit count allows: the count may change between reads (no lock) */
	w->seen = malloc((size_t)CNT_OBJECTS(~0ULL) + 1);
	if (w->where && w->cpu_of && w->seen)
		return 0;
	free(w->where);
	free(w->cpu_of);
	free(w->seen);
	return -ENOMEM;
}

void walk_fini(struct walk *w)
{
	free(w->where);
	free(w->cpu_of);
	free(w->seen);
}

void walk_err(struct walk *w, enum slab_error kind, const char *fmt, ...)
{
	char msg[160], nm[SLUB_NAME_MAX + 1];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	w->r->errors[kind]++;
	w->r->nr_errors++;
	if (!w->r->first_error[0])
		snprintf(w->r->first_error, sizeof(w->r->first_error), "%s: %.120s",
			 w->s ? cache_name_safe(w->s, nm) : "arena", msg);
	if (w->report)
		slab_report(w->a, w->s, kind, 0, "validate: %s", msg);
}

/*
 * lock_cache - every lock of s, CPUs then nodes, ascending.  0, or -errno
 * when one cannot be taken (reported; its name in why): then none is held,
 * and the caller skips s.
 */
int lock_cache(struct arena *a, struct kmem_cache *s, char *why, size_t len)
{
	unsigned int cpu, node = 0;
	int rc = 0;

	for (cpu = 0; cpu < s->nr_cpus && !rc; cpu++)
		if ((rc = cpu_lock_for_walk(a, s, cpu)) && why)
			snprintf(why, len, "the lock of cpu %u cannot be taken (%d)", cpu, -rc);
	if (!rc)
		for (; node < s->nr_nodes && !rc; node++)
			if ((rc = node_lock(a, s, cache_node(a, s, node))) && why)
				snprintf(why, len, "the list_lock of node %u cannot be taken (%d)",
					 node, -rc);
	if (!rc)
		return 0;
	/* give back what was taken: the failed one is not held */
	if (node)
		for (node--; node-- > 0;)
			node_unlock(cache_node(a, s, node));
	else
		cpu--;
	while (cpu-- > 0)
		shm_lock_release(&cache_cpu(a, s, cpu)->lock);
	return rc;
}

void unlock_cache(struct arena *a, struct kmem_cache *s)
{
	for (unsigned int node = s->nr_nodes; node-- > 0;)
		node_unlock(cache_node(a, s, node));
	for (unsigned int cpu = s->nr_cpus; cpu-- > 0;)
		shm_lock_release(&cache_cpu(a, s, cpu)->lock);
}

bool is_slab_head(const struct page_desc *pd)
{
	return (pd->flags & (PG_HEAD | PG_SLAB)) == (PG_HEAD | PG_SLAB);
}

/*
 * mark where each slab of s is listed; count list errors.  Every link is
 * checked before it is followed, and each walk ends at its first bad entry
 * or at a slab seen before.  Returns true when every list was found whole.
 */
static bool mark_lists(struct walk *w)
{
	struct arena *a = w->a;
	struct kmem_cache *s = w->s;
	uint64_t errors = w->r->nr_errors;

	for (unsigned int node = 0; node < s->nr_nodes; node++) {
		struct kmem_cache_node *n = cache_node(a, s, node);
		struct olist *heads[2] = { &n->partial, &n->full };
		uint64_t want[2] = { n->nr_partial, n->nr_full };

		for (int k = 0; k < 2; k++) {
			const char *lname = k ? "full" : "partial";
			uint8_t expect = k ? SL_FULL : SL_NODE_PARTIAL, mark = k ? W_FULL : W_NODE;
			struct olist *h = heads[k], *it = h;
			aoff_t hoff = arena_off_of(a, h), prev = hoff;
			uint64_t count = 0;
			bool whole = false;

			while (count <= a->nr_pages) {
				aoff_t next = atomic_load_relaxed(&it->next);
				struct page_desc *pd;
				uint32_t pfn;

				if (next == hoff) {
					whole = true;
					break;
				}
				it = olist_next(a, h, it);
				pd = it ? pd_of_lru(a, next) : NULL;
				if (!pd || !is_slab_head(pd) || pd->cache != s->self || pd->list != expect) {
					walk_err(w, SLAB_ERR_LIST, "node %u %s list holds %#llx, no %s slab of "
						 "this cache", node, lname, (unsigned long long)next, lname);
					break;
				}
				pfn = pd_pfn(a, pd);
				if (w->where[pfn]) {
					if (w->where[pfn] == mark)
						walk_err(w, SLAB_ERR_LIST, "node %u %s list loops at slab %u",
							 node, lname, pfn);
					else
						walk_err(w, SLAB_ERR_LIST, "slab %u is on two lists", pfn);
					break;
				}
				if (it->prev != prev)
					walk_err(w, SLAB_ERR_LIST, "node %u %s list: the back link of slab %u "
						 "is wrong", node, lname, pfn);
				if (pd->node != node)
					walk_err(w, SLAB_ERR_LIST, "slab %u on node %u's %s list says node %u",
						 pfn, node, lname, pd->node);
				w->where[pfn] = mark;
				prev = next;
				count++;
			}
			if (whole && h->prev != prev)
				walk_err(w, SLAB_ERR_LIST, "node %u %s list: the head's back link is wrong",
					 node, lname);
			if (count != want[k])
				walk_err(w, SLAB_ERR_LIST, "node %u: %llu slabs on the %s list, count says %llu",
					 node, (unsigned long long)count, lname,
					 (unsigned long long)want[k]);
		}
	}
	for (unsigned int cpu = 0; cpu < s->nr_cpus; cpu++) {
		struct kmem_cache_cpu *c = cache_cpu(a, s, cpu);
		uint32_t spfn = c->slab_pfn, count = 0;
		aoff_t link = c->partial;

		/* with c's lock held no deactivation is half done (a dead owner's
		 * was finished when the lock was taken), and the bounds the free
		 * fast path reads are the cpu slab's */
		if (atomic_load_relaxed(&c->intent) != INTENT_NONE)
			walk_err(w, SLAB_ERR_LIST, "cpu %u: a deactivation (intent %u) is left half done",
				 cpu, c->intent);
		if (spfn) {
			struct page_desc *pd = spfn >= a->first_pfn && spfn < a->nr_pages ?
					       pd_of_pfn(a, spfn) : NULL;

			if (!pd || !is_slab_head(pd) || pd->cache != s->self)
				walk_err(w, SLAB_ERR_LIST, "cpu %u: its slab %u is no slab of this cache",
					 cpu, spfn);
			else if (w->where[spfn])
				walk_err(w, SLAB_ERR_LIST, "cpu %u: its slab %u is on a list too", cpu, spfn);
			else {
				w->where[spfn] = W_CPU;
				w->cpu_of[spfn] = (uint16_t)cpu;
				if (atomic_load_relaxed(&c->slab_start) != pfn_off(spfn) ||
				    atomic_load_relaxed(&c->slab_bytes) !=
				    (uint64_t)CNT_OBJECTS(atomic_load_relaxed(&pd->slab.hi)) * s->size)
					walk_err(w, SLAB_ERR_LIST, "cpu %u: the bounds of its slab %u are "
						 "wrong (%#llx, %u bytes)", cpu, spfn,
						 (unsigned long long)c->slab_start, c->slab_bytes);
			}
		} else if (atomic_load_relaxed(&c->slab_bytes)) {
			walk_err(w, SLAB_ERR_LIST, "cpu %u: no cpu slab, but bounds of %u bytes", cpu,
				 c->slab_bytes);
		}
		while (link && count <= a->nr_pages) {
			struct page_desc *pd = pd_of_lru(a, link);
			uint32_t pfn;

			if (!pd || !is_slab_head(pd) || pd->cache != s->self || pd->list != SL_CPU_PARTIAL) {
				walk_err(w, SLAB_ERR_LIST, "cpu %u partial list holds %#llx, no cpu partial "
					 "slab of this cache", cpu, (unsigned long long)link);
				break;
			}
			pfn = pd_pfn(a, pd);
			if (w->where[pfn]) {
				if (w->where[pfn] == W_CPU_PARTIAL)
					walk_err(w, SLAB_ERR_LIST, "cpu %u partial list loops at slab %u",
						 cpu, pfn);
				else
					walk_err(w, SLAB_ERR_LIST, "slab %u is on two lists", pfn);
				break;
			}
			if (pd->cpu != cpu)
				walk_err(w, SLAB_ERR_LIST, "slab %u on cpu %u's partial list says cpu %u",
					 pfn, cpu, pd->cpu);
			w->where[pfn] = W_CPU_PARTIAL;
			count++;
			link = pd->lru.next;
		}
		if (count != c->partial_slabs)
			walk_err(w, SLAB_ERR_LIST, "cpu %u: %u slabs on the partial list, count says %u",
				 cpu, count, c->partial_slabs);
	}
	return w->r->nr_errors == errors;
}

/*
 * walk_freelist - follow a freelist of slab pd from fl, marking each object
 * in seen[].  Returns how many, or -1 if a link is bad (reported once).
 */
long walk_freelist(struct walk *w, struct page_desc *pd, aoff_t fl, uint8_t *seen)
{
	struct arena *a = w->a;
	struct kmem_cache *s = w->s;
	aoff_t start = pfn_off(pd_pfn(a, pd));
	uint32_t objects = CNT_OBJECTS(atomic_load_relaxed(&pd->slab.hi));
	long n = 0;

	while (fl) {
		uint64_t idx;

		if (!in_slab(a, s, pd, fl)) {
			walk_err(w, SLAB_ERR_FREELIST,
				 "slab %u: a free pointer decodes to %#llx, outside the slab or misaligned",
				 pd_pfn(a, pd), (unsigned long long)fl);
			return -1;
		}
		idx = (fl - start) / s->size;
		if (seen[idx] || (uint32_t)n >= objects) {
			walk_err(w, SLAB_ERR_FREELIST, "slab %u: freelist loops at object %#llx",
				 pd_pfn(a, pd), (unsigned long long)fl);
			return -1;
		}
		seen[idx] = 1;
		n++;
		fl = get_freepointer(a, s, fl);
	}
	return n;
}

void check_slab(struct walk *w, struct page_desc *pd, uint8_t *seen)
{
	struct arena *a = w->a;
	struct kmem_cache *s = w->s;
	uint32_t pfn = pd_pfn(a, pd);
	uint64_t fl, cnt;
	uint32_t objects, inuse;
	long nfree, ncpu = 0;
	bool frozen;
	char why[96];

	load128_atomic(&pd->slab, &fl, &cnt);
	objects = CNT_OBJECTS(cnt);
	inuse = CNT_INUSE(cnt);
	frozen = CNT_FROZEN(cnt);
	w->r->slabs++;
	if (slab_shape(a, s, pd, why, sizeof(why))) {
		walk_err(w, SLAB_ERR_PAGE, "slab %u: %s", pfn, why);
		return;
	}
	if (pd->flags & PG_CORRUPT) {
		walk_err(w, SLAB_ERR_FREELIST, "slab %u is quarantined after a corrupt free pointer", pfn);
		w->r->objects += objects;
		w->r->allocated += objects;
		return;
	}
	w->r->objects += objects;
	memset(seen, 0, objects);
	nfree = walk_freelist(w, pd, fl, seen);
	if (w->where[pfn] == W_CPU) {
		struct kmem_cache_cpu *c = cache_cpu(a, s, w->cpu_of[pfn]);

		ncpu = walk_freelist(w, pd, atomic_load_relaxed(&c->fl.lo), seen);
		if (!frozen)
			walk_err(w, SLAB_ERR_COUNTERS, "cpu slab %u is not frozen", pfn);
	} else if (frozen && !ident_alive(a, CNT_OWNER(cnt))) {
		walk_err(w, SLAB_ERR_ORPHAN, "slab %u is frozen but no CPU's slab (owner %u is gone)",
			 pfn, CNT_OWNER(cnt));
	}
	if (nfree < 0 || ncpu < 0) {
		w->r->allocated += inuse <= objects ? inuse : objects;
		return;
	}
	if (inuse + (uint64_t)nfree != objects)
		walk_err(w, SLAB_ERR_COUNTERS, "slab %u: %u in use + %ld free != %u objects", pfn, inuse,
			 nfree, objects);
	w->r->free += (uint64_t)(nfree + ncpu);
	w->r->allocated += objects - (uint64_t)(nfree + ncpu) <= objects ?
			   objects - (uint64_t)(nfree + ncpu) : 0;

	switch (pd->list) {
	case SL_NODE_PARTIAL:
		if (w->where[pfn] != W_NODE)
			walk_err(w, SLAB_ERR_LIST, "slab %u says node partial but is not on it", pfn);
		break;
	case SL_CPU_PARTIAL:
		if (w->where[pfn] != W_CPU_PARTIAL)
			walk_err(w, SLAB_ERR_LIST, "slab %u says cpu partial but is not on it", pfn);
		break;
	case SL_FULL:
		if (w->where[pfn] != W_FULL)
			walk_err(w, SLAB_ERR_LIST, "slab %u says full but is not on the full list", pfn);
		break;
	case SL_NONE:
		if (!frozen && fl && w->where[pfn] == W_NONE && !ident_alive(a, CNT_OWNER(cnt)))
			walk_err(w, SLAB_ERR_ORPHAN, "slab %u has free objects but is on no list", pfn);
		break;
	default:
		walk_err(w, SLAB_ERR_LIST, "slab %u says list %u, which is none", pfn, pd->list);
	}

	if (s->flags & (SLAB_RED_ZONE | SLAB_POISON)) {
		aoff_t start = pfn_off(pfn);

		for (uint32_t i = 0; i < objects; i++) {
			char *obj = arena_at(a, start + (aoff_t)i * s->size + s->red_left_pad);

			if ((s->flags & SLAB_RED_ZONE) &&
			    !debug_redzone_ok(s, obj, seen[i] ? RED_INACTIVE : RED_ACTIVE))
				walk_err(w, SLAB_ERR_REDZONE, "object %#llx: red zone overwritten%s%u%s",
					 (unsigned long long)arena_off_of(a, obj),
					 seen[i] ? "" : " (a write past its ", seen[i] ? 0 :
					 debug_asked_size(s, obj), seen[i] ? "" : " bytes)");
			if (seen[i] && debug_poisoned(s) && !debug_poison_ok(s, obj))
				walk_err(w, SLAB_ERR_POISON, "free object %#llx was written to",
					 (unsigned long long)arena_off_of(a, obj));
		}
	}
}

/*
 * the descriptor of s, before anything is followed from it: an error (and
 * true) when it cannot be walked
 */
static bool descriptor_bad(struct arena *a, struct kmem_cache *s, struct slab_validate_result *r)
{
	struct walk w = { a, s, NULL, NULL, r, true, NULL };
	char why[120];
	int kind;

	if (!cache_name_ok(s))
		walk_err(&w, SLAB_ERR_PAGE, "descriptor: the name is not 1..%d bytes of "
			 "[A-Za-z0-9._:-] and a NUL", SLUB_NAME_MAX);
	kind = cache_check(a, s, why, sizeof(why));
	if (kind)
		walk_err(&w, (enum slab_error)kind, "%s: not walked", why);
	return kind != 0;
}

static int validate_cache(struct arena *a, struct kmem_cache *s, struct slab_validate_result *r)
{
	struct walk w;
	char why[160];

	r->caches++;
	if (descriptor_bad(a, s, r))
		return 0;
	if (walk_init(&w, a, s, r, true))
		return -ENOMEM;
	if (lock_cache(a, s, why, sizeof(why))) {
		w.report = false;	/* lock_failed reported it, naming the lock */
		walk_err(&w, SLAB_ERR_LOCK, "%s: not walked", why);
		w.report = true;
	} else {
		mark_lists(&w);
		for (uint32_t pfn = a->first_pfn; pfn < a->nr_pages; pfn++) {
			struct page_desc *pd = pd_of_pfn(a, pfn);

			if (is_slab_head(pd) && pd->cache == s->self)
				check_slab(&w, pd, w.seen);
		}
		unlock_cache(a, s);
	}
	/* the counts: exact under the zone lock (blocks in transit included) */
	if (buddy_acct_check(a, s, why, sizeof(why)))
		walk_err(&w, SLAB_ERR_COUNTERS, "%s", why);
	walk_fini(&w);
	return 0;
}

struct validate_all {
	struct arena *a;
	struct slab_validate_result *r;
};

static int validate_one(struct kmem_cache *s, void *arg)
{
	struct validate_all *v = arg;

	return validate_cache(v->a, s, v->r);
}

static void arena_err(void *arg, enum slab_error kind, const char *msg)
{
	walk_err(arg, kind, "%s", msg);
}

/* what the header says of the arena against what this process mapped and trusts */
static void validate_header(struct arena *a, struct walk *w)
{
	const struct arena_hdr *h = a->hdr;
	uint32_t nr_chunks = (uint32_t)(a->size / CHUNK_SIZE);

	if (h->magic != ARENA_MAGIC || h->version != ARENA_LAYOUT_VERSION || h->arch != ARENA_ARCH ||
	    h->state != ARENA_READY || h->hdr_size != sizeof(*h))
		walk_err(w, SLAB_ERR_PAGE, "arena header: magic, version, architecture or state "
			 "overwritten");
	if (h->size != a->size || h->page_size != PAGE_SIZE || h->nr_pages != a->nr_pages ||
	    h->pd_off != arena_off_of(a, a->pd) || h->chunk_off != arena_off_of(a, a->chunks) ||
	    h->nr_chunks != nr_chunks || h->nr_cpus != a->nr_cpus || h->nr_nodes != a->nr_nodes)
		walk_err(w, SLAB_ERR_PAGE, "arena header: its geometry is not the one mapped (%llu bytes, "
			 "%u pages, %u CPUs, %u nodes)", (unsigned long long)a->size, a->nr_pages,
			 a->nr_cpus, a->nr_nodes);
	for (uint32_t c = 0; c < nr_chunks; c++)
		if (a->chunks[c] != CHUNK_HOLE && a->chunks[c] != CHUNK_BACKED) {
			walk_err(w, SLAB_ERR_PAGE, "arena header: chunk %u has state %u", c, a->chunks[c]);
			break;
		}
}

int slab_validate(struct arena *a, struct kmem_cache *s, struct slab_validate_result *r)
{
	int rc;

	memset(r, 0, sizeof(*r));
	if (s) {
		if (!cache_of_off(a, arena_off_of(a, s)))
			return -EINVAL;
		rc = validate_cache(a, s, r);
	} else {
		struct validate_all v = { a, r };
		struct walk w = { a, NULL, NULL, NULL, r, true, NULL };
		char err[160];

		validate_header(a, &w);
		cache_list_check(a, arena_err, &w);
		rc = slab_for_each_cache(a, validate_one, &v);
		if (!rc && buddy_check(a, err, sizeof(err)))
			walk_err(&w, SLAB_ERR_PAGE, "%s", err);
		/* every slab page belongs to a live cache or to a live process in transit */
		for (uint32_t pfn = a->first_pfn; !rc && pfn < a->nr_pages; pfn++) {
			struct page_desc *pd = pd_of_pfn(a, pfn);

			if (is_slab_head(pd) && !cache_of_off(a, pd->cache) &&
			    !(pd->cache == 0 && ident_alive(a, pd->owner)))
				walk_err(&w, SLAB_ERR_PAGE, "slab %u belongs to no cache (%#llx)", pfn,
					 (unsigned long long)pd->cache);
		}
	}
	if (rc)
		return rc;
	return r->nr_errors ? -EUCLEAN : 0;
}

/*
 * walkable_locked - what the engine's flush and discard (slub.c) will follow
 * of s, every lock of s held: each node list and cpu partial list reaches
 * its end in at most nr_pages steps through slabs of s that say they are
 * there, each cpu slab is a slab of s, and each lockless freelist starts
 * inside the slab it belongs to (count_list checks every link after it).
 */
static int walkable_locked(struct arena *a, struct kmem_cache *s, char *why, size_t len)
{
	char shape[96];

#define BAD(...) do { \
	if (why && len) \
		snprintf(why, len, __VA_ARGS__); \
	return SLAB_ERR_LIST; \
} while (0)
	for (unsigned int node = 0; node < s->nr_nodes; node++) {
		struct kmem_cache_node *n = cache_node(a, s, node);
		struct olist *heads[2] = { &n->partial, &n->full };

		for (int k = 0; k < 2; k++) {
			struct olist *h = heads[k], *it = h;
			aoff_t hoff = arena_off_of(a, h);
			uint64_t steps = 0;

			while (atomic_load_relaxed(&it->next) != hoff) {
				struct page_desc *pd;

				it = olist_next(a, h, it);
				pd = it ? pd_of_lru(a, arena_off_of(a, it)) : NULL;
				if (!pd || !is_slab_head(pd) || pd->cache != s->self ||
				    pd->list != (k ? SL_FULL : SL_NODE_PARTIAL))
					BAD("node %u %s list holds what is no slab of it", node,
					    k ? "full" : "partial");
				if (++steps > a->nr_pages)
					BAD("node %u %s list loops", node, k ? "full" : "partial");
			}
		}
	}
	for (unsigned int cpu = 0; cpu < s->nr_cpus; cpu++) {
		struct kmem_cache_cpu *c = cache_cpu(a, s, cpu);
		uint32_t spfn = c->slab_pfn;
		aoff_t fl = atomic_load_relaxed(&c->fl.lo), link = c->partial;
		struct page_desc *pd = NULL;
		uint64_t steps = 0;

		if (spfn) {
			pd = spfn >= a->first_pfn && spfn < a->nr_pages ? pd_of_pfn(a, spfn) : NULL;
			if (!pd || !is_slab_head(pd) || pd->cache != s->self ||
			    slab_shape(a, s, pd, shape, sizeof(shape)))
				BAD("cpu %u: its slab %u is no slab of it", cpu, spfn);
		} else if (fl) {
			uint32_t head = fl < a->size ? pd_of_off(a, fl)->head : 0;

			pd = head >= a->first_pfn && head < a->nr_pages ? pd_of_pfn(a, head) : NULL;
			if (pd && (!is_slab_head(pd) || pd->cache != s->self ||
				   slab_shape(a, s, pd, shape, sizeof(shape))))
				pd = NULL;
		}
		if (fl && (!pd || !in_slab(a, s, pd, fl)))
			BAD("cpu %u: its freelist starts at %#llx, outside its slab", cpu,
			    (unsigned long long)fl);
		while (link) {
			pd = pd_of_lru(a, link);
			if (!pd || !is_slab_head(pd) || pd->cache != s->self || pd->list != SL_CPU_PARTIAL ||
			    slab_shape(a, s, pd, shape, sizeof(shape)))
				BAD("cpu %u partial list holds what is no cpu partial slab of it", cpu);
			if (++steps > a->nr_pages)
				BAD("cpu %u partial list loops", cpu);
			link = pd->lru.next;
		}
	}
	return 0;
#undef BAD
}

int cache_walkable(struct arena *a, struct kmem_cache *s, char *why, size_t len)
{
	int kind = cache_check(a, s, why, len), rc;

	if (kind)
		return kind;
	rc = lock_cache(a, s, why, len);
	if (rc) {
		errno = -rc;
		return SLAB_ERR_LOCK;
	}
	kind = walkable_locked(a, s, why, len);
	unlock_cache(a, s);
	return kind;
}

/*
 * cache_list_check - the list of caches and what the header says of it:
 * every entry a cache, every back link right, no loop, as many caches as
 * cache ids in use, and the header's own caches live.  Each problem goes to
 * err(arg, kind, message).
 */
void cache_list_check(struct arena *a, void (*err)(void *arg, enum slab_error kind, const char *msg),
		      void *arg)
{
	struct arena_hdr *h = a->hdr;
	struct olist *head = &h->slab_caches, *it = head;
	aoff_t hoff = arena_off_of(a, head), prev = hoff;
	aoff_t *seen = malloc(LIST_WALK_MAX * sizeof(*seen));
	char msg[160], nm[SLUB_NAME_MAX + 1] = "the head";
	unsigned int nseen = 0, count = 0, ids = 0;
	bool whole = false;

	if (!seen) {
		err(arg, SLAB_ERR_LIST, "cache list: out of memory to check it");
		return;
	}
	if (slab_mutex_lock(a)) {
		err(arg, SLAB_ERR_LOCK, "cache list: slab_mutex cannot be taken: not checked");
		free(seen);
		return;
	}
	while (nseen < LIST_WALK_MAX) {
		aoff_t next = atomic_load_relaxed(&it->next);
		struct kmem_cache *s;

		if (next == hoff) {
			whole = true;
			break;
		}
		it = olist_next(a, head, it);
		if (!it) {
			snprintf(msg, sizeof(msg), "cache list: the link after %s leaves the arena (%#llx)",
				 nm, (unsigned long long)next);
			err(arg, SLAB_ERR_LIST, msg);
			break;
		}
		if (seen_before(seen, nseen, next)) {
			snprintf(msg, sizeof(msg), "cache list: loops after %s (back to %#llx)", nm,
				 (unsigned long long)next);
			err(arg, SLAB_ERR_LIST, msg);
			break;
		}
		seen[nseen++] = next;
		s = cache_of_list(a, it);
		if (!s) {
			aoff_t d = next - offsetof(struct kmem_cache, list);

			if (arena_range_ok(a, d, desc_bytes(a))) {
				struct kmem_cache *t = arena_at(a, d);
				char tn[SLUB_NAME_MAX + 1];

				snprintf(msg, sizeof(msg), "cache list: after %s, %s at %#llx is no live cache "
					 "(self %#llx, state %#x)", nm, cache_name_safe(t, tn),
					 (unsigned long long)d, (unsigned long long)t->self, t->state);
			} else {
				snprintf(msg, sizeof(msg), "cache list: after %s, %#llx is no cache", nm,
					 (unsigned long long)next);
			}
			err(arg, SLAB_ERR_LIST, msg);
			snprintf(nm, sizeof(nm), "%#llx", (unsigned long long)next);
		} else {
			if (it->prev != prev) {
				snprintf(msg, sizeof(msg), "cache list: the back link of %s is %#llx, not %#llx",
					 cache_name_safe(s, nm), (unsigned long long)it->prev,
					 (unsigned long long)prev);
				err(arg, SLAB_ERR_LIST, msg);
			}
			cache_name_safe(s, nm);
			count++;
		}
		prev = next;
	}
	if (whole && head->prev != prev) {
		snprintf(msg, sizeof(msg), "cache list: the head's back link is %#llx, not %#llx (%s)",
			 (unsigned long long)head->prev, (unsigned long long)prev, nm);
		err(arg, SLAB_ERR_LIST, msg);
	}
	for (unsigned int i = 0; i < sizeof(h->cache_ids); i++)
		ids += (unsigned int)__builtin_popcount(h->cache_ids[i]);
	if (whole && ids != count) {
		snprintf(msg, sizeof(msg), "cache list: %u caches listed, %u cache ids in use", count, ids);
		err(arg, SLAB_ERR_LIST, msg);
	}
	slab_mutex_unlock(a);
	free(seen);

	if (!cache_of_off(a, h->kmem_cache) || !cache_of_off(a, h->kmem_cache_node)) {
		snprintf(msg, sizeof(msg), "arena header: the kmem_cache (%#llx) or kmem_cache_node "
			 "(%#llx) cache is gone", (unsigned long long)h->kmem_cache,
			 (unsigned long long)h->kmem_cache_node);
		err(arg, SLAB_ERR_PAGE, msg);
	}
	for (int i = 1; i < NR_KMALLOC; i++) {
		if (i > 2 && i < KMALLOC_SHIFT_LOW)
			continue;
		if (!cache_of_off(a, h->kmalloc_caches[i])) {
			snprintf(msg, sizeof(msg), "arena header: %s at %#llx is no cache", kmalloc_names[i],
				 (unsigned long long)h->kmalloc_caches[i]);
			err(arg, SLAB_ERR_PAGE, msg);
		}
	}
}
