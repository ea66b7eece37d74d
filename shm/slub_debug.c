/*
 * slub_debug.c - what checks the engine: the debug caches' paths (red zones,
 * poison, owner tracking), error reports, validate, scrub and statistics.
 *
 * Debug caches (SLAB_RED_ZONE, SLAB_POISON, SLAB_STORE_USER) use no CPU
 * slabs, as the kernel's debug caches do since 6.2: every alloc and free
 * runs under the node's list_lock, where each object can be checked whole.
 * Their slabs are on the node's partial list or, with no free object, on its
 * full list.
 *
 * validate and scrub take every CPU lock of a cache (ascending) and then its
 * node locks (ascending), so that no slow path moves a slab while they look;
 * the lockless paths still run, so their counts are exact only while no
 * process allocates or frees.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define RED_INACTIVE	0xbb
#define RED_ACTIVE	0xcc
#define POISON_FREE	0x6b
#define POISON_END	0xa5

/* ---- reports ------------------------------------------------------------ */

static void (*report_fn)(const struct slab_report *r, void *arg);
static void *report_arg;

void slab_set_report_fn(void (*fn)(const struct slab_report *r, void *arg), void *arg)
{
	report_fn = fn;
	report_arg = arg;
}

static const char *const error_names[SLAB_ERR_NR] = {
	[SLAB_ERR_DOUBLE_FREE] = "double free",
	[SLAB_ERR_BAD_POINTER] = "bad pointer",
	[SLAB_ERR_WRONG_CACHE] = "wrong cache",
	[SLAB_ERR_FREELIST] = "corrupt free pointer",
	[SLAB_ERR_REDZONE] = "red zone overwritten",
	[SLAB_ERR_POISON] = "write after free",
	[SLAB_ERR_COUNTERS] = "slab counters wrong",
	[SLAB_ERR_LIST] = "slab list wrong",
	[SLAB_ERR_PAGE] = "page descriptor wrong",
	[SLAB_ERR_ORPHAN] = "orphaned slab",
};

const char *slab_error_name(enum slab_error e)
{
	return e > 0 && e < SLAB_ERR_NR ? error_names[e] : "unknown";
}

void slab_report(struct arena *a, struct kmem_cache *s, enum slab_error kind, aoff_t obj,
		 const char *fmt, ...)
{
	struct arena_hdr *h = a->hdr;
	struct slab_report r;
	uint64_t ticket;
	struct report_slot *slot;
	va_list ap;

	memset(&r, 0, sizeof(r));
	r.kind = kind;
	r.pid = os_pid();
	r.cache = s ? s->self : 0;
	r.object = obj;
	r.time_ns = os_now_ns();
	if (s)
		snprintf(r.cache_name, sizeof(r.cache_name), "%s", s->name);
	va_start(ap, fmt);
	vsnprintf(r.detail, sizeof(r.detail), fmt, ap);
	va_end(ap);
	if (s && kind < SLAB_ERR_NR)
		atomic_add_relaxed(&s->errors[kind], 1);

	/* the ring: a ticket picks the slot; seq says when it is whole */
	ticket = atomic_fetch_add_relaxed(&h->report_head, 1);
	slot = &h->reports[ticket % REPORT_RING];
	atomic_store_release(&slot->seq, 0);
	slot->r = r;
	atomic_store_release(&slot->seq, ticket + 1);
	if (report_fn)
		report_fn(&r, report_arg);
}

int slab_reports(struct arena *a, struct slab_report *out, int max, uint64_t *cursor)
{
	struct arena_hdr *h = a->hdr;
	uint64_t head = atomic_load_acquire(&h->report_head), t = *cursor;
	int n = 0;

	if (head > REPORT_RING && t < head - REPORT_RING)
		t = head - REPORT_RING;
	for (; t < head && n < max; t++) {
		struct report_slot *slot = &h->reports[t % REPORT_RING];

		if (atomic_load_acquire(&slot->seq) != t + 1)
			continue;
		out[n] = slot->r;
		if (atomic_load_acquire(&slot->seq) == t + 1)
			n++;
	}
	*cursor = t;
	return n;
}

/* ---- object checks -------------------------------------------------------- */

static bool poisoned(const struct kmem_cache *s)
{
	return (s->flags & SLAB_POISON) && !s->has_ctor;
}

void debug_init_object(struct kmem_cache *s, char *obj, bool active)
{
	if (s->flags & SLAB_RED_ZONE) {
		int v = active ? RED_ACTIVE : RED_INACTIVE;

		memset(obj - s->red_left_pad, v, s->red_left_pad);
		memset(obj + s->object_size, v, s->inuse - s->object_size);
	}
	if (!active && poisoned(s)) {
		memset(obj, POISON_FREE, s->object_size - 1);
		obj[s->object_size - 1] = (char)POISON_END;
	}
}

static bool bytes_are(const char *p, int v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)p[i] != v)
			return false;
	return true;
}

static bool redzone_ok(const struct kmem_cache *s, const char *obj, int v)
{
	return bytes_are(obj - s->red_left_pad, v, s->red_left_pad) &&
	       bytes_are(obj + s->object_size, v, s->inuse - s->object_size);
}

static bool poison_ok(const struct kmem_cache *s, const char *obj)
{
	return bytes_are(obj, POISON_FREE, s->object_size - 1) &&
	       (unsigned char)obj[s->object_size - 1] == POISON_END;
}

static void track(struct arena *a, struct kmem_cache *s, char *obj, int which, void *caller)
{
	struct slab_track *t;

	if (!(s->flags & SLAB_STORE_USER))
		return;
	t = (struct slab_track *)(obj + s->track_off) + which;
	(void)a;
	t->addr = (uint64_t)(uintptr_t)caller;
	t->time_ns = os_now_ns();
	t->pid = os_pid();
	t->cpu = shm_current_cpu();
}

static const char *owner_text(struct kmem_cache *s, const char *obj, char *buf, size_t len)
{
	const struct slab_track *t;

	if (!(s->flags & SLAB_STORE_USER))
		return "";
	t = (const struct slab_track *)(obj + s->track_off);
	snprintf(buf, len, " (last alloc pid %u at %#llx, last free pid %u at %#llx)", t[0].pid,
		 (unsigned long long)t[0].addr, t[1].pid, (unsigned long long)t[1].addr);
	return buf;
}

bool debug_alloc_check(struct arena *a, struct kmem_cache *s, char *obj, void *caller)
{
	aoff_t off = arena_off_of(a, obj);
	char who[96];
	bool ok = true;

	if (poisoned(s) && !poison_ok(s, obj)) {
		slab_report(a, s, SLAB_ERR_POISON, off,
			    "free object %#llx was written to: withheld%s",
			    (unsigned long long)off, owner_text(s, obj, who, sizeof(who)));
		ok = false;
	}
	if (ok && (s->flags & SLAB_RED_ZONE) && !redzone_ok(s, obj, RED_INACTIVE)) {
		slab_report(a, s, SLAB_ERR_REDZONE, off,
			    "red zone of free object %#llx overwritten: withheld%s",
			    (unsigned long long)off, owner_text(s, obj, who, sizeof(who)));
		ok = false;
	}
	debug_init_object(s, obj, true);
	track(a, s, obj, 0, caller);
	return ok;
}

/*
 * debug_free_check - an object whose red zone was overwritten is not freed
 * (as in the kernel): it stays allocated, its red zone restored, so that the
 * write that hit it cannot spread into the free list.
 */
bool debug_free_check(struct arena *a, struct kmem_cache *s, char *obj, void *caller)
{
	aoff_t off = arena_off_of(a, obj);
	char who[96];

	if ((s->flags & SLAB_RED_ZONE) && !redzone_ok(s, obj, RED_ACTIVE)) {
		slab_report(a, s, SLAB_ERR_REDZONE, off,
			    "red zone of object %#llx overwritten (write past its %u bytes): "
			    "object kept allocated%s",
			    (unsigned long long)off, s->object_size, owner_text(s, obj, who, sizeof(who)));
		debug_init_object(s, obj, true);
		return false;
	}
	track(a, s, obj, 1, caller);
	debug_init_object(s, obj, false);
	return true;
}

/* ---- the debug caches' paths ---------------------------------------------- */

static bool in_slab(struct arena *a, const struct kmem_cache *s, struct page_desc *pd, aoff_t x)
{
	aoff_t start = pfn_off(pd_pfn(a, pd));
	uint64_t bytes = (uint64_t)CNT_OBJECTS(atomic_load_relaxed(&pd->slab.hi)) * s->size;

	return x >= start && x - start < bytes && (x - start) % s->size == s->red_left_pad;
}

void *slab_alloc_debug(struct arena *a, struct kmem_cache *s, void *caller);
void slab_free_debug(struct arena *a, struct kmem_cache *s, aoff_t off, void *caller);

void *slab_alloc_debug(struct arena *a, struct kmem_cache *s, void *caller)
{
	unsigned int node = os_current_node(s->nr_nodes);
	struct kmem_cache_node *n = cache_node(a, s, node);
	struct page_desc *pd;
	struct olist *it;
	uint64_t fl, cnt;
	aoff_t next;

	stat_inc_relaxed(&cache_cpu(a, s, shm_current_cpu() % s->nr_cpus)->stat[ALLOC_SLOWPATH]);
	for (;;) {
		node_lock(a, s, n);
		it = olist_next(a, &n->partial, &n->partial);
		pd = it ? pd_of_lru(a, arena_off_of(a, it)) : NULL;
		if (pd)
			break;
		node_unlock(n);
		pd = slab_new_for_debug(a, s, node);
		if (!pd)
			return NULL;
		node_lock(a, s, n);
		olist_add(a, &n->partial, &pd->lru);
		pd->list = SL_NODE_PARTIAL;
		n->nr_partial++;
		node_unlock(n);
	}
	load128_atomic(&pd->slab, &fl, &cnt);
	next = fl && in_slab(a, s, pd, fl) ? get_freepointer(a, s, fl) : 1;
	if (!fl || (next && !in_slab(a, s, pd, next))) {
		slab_report(a, s, SLAB_ERR_FREELIST, fl,
			    "free pointer of object %#llx decodes to %#llx: slab quarantined",
			    (unsigned long long)fl, (unsigned long long)next);
		olist_del(a, &pd->lru);
		n->nr_partial--;
		pd->list = SL_NONE;
		pd->flags |= PG_CORRUPT;
		atomic_store_relaxed(&pd->slab.lo, 0);
		node_unlock(n);
		return slab_alloc_debug(a, s, caller);
	}
	atomic_store_relaxed(&pd->slab.lo, next);
	atomic_store_relaxed(&pd->slab.hi, CNT_MAKE(CNT_INUSE(cnt) + 1, CNT_OBJECTS(cnt), 0, 0));
	if (!next) {
		olist_del(a, &pd->lru);
		n->nr_partial--;
		olist_add(a, &n->full, &pd->lru);
		pd->list = SL_FULL;
		n->nr_full++;
	}
	if (!debug_alloc_check(a, s, arena_at(a, fl), caller)) {
		/* written to while free: keep it out of use (allocated, never handed
		 * out), as the kernel does, and take another */
		node_unlock(n);
		return slab_alloc_debug(a, s, caller);
	}
	node_unlock(n);
	return arena_at(a, fl);
}

void slab_free_debug(struct arena *a, struct kmem_cache *s, aoff_t off, void *caller)
{
	struct page_desc *pd = off < a->size ? pd_of_off(a, off) : NULL;
	struct kmem_cache_node *n;
	uint64_t fl, cnt;
	uint32_t inuse, steps = 0;
	bool discard = false;

	if (pd && pd->head >= a->first_pfn && pd->head < a->nr_pages)
		pd = pd_of_pfn(a, pd->head);
	else
		pd = NULL;
	if (!pd || (pd->flags & (PG_HEAD | PG_SLAB)) != (PG_HEAD | PG_SLAB) ||
	    (pd->flags & PG_CORRUPT)) {
		slab_report(a, s, SLAB_ERR_BAD_POINTER, off, "%#llx is not an object of any slab",
			    (unsigned long long)off);
		return;
	}
	if (pd->cache != s->self) {
		struct kmem_cache *t = cache_of_off(a, pd->cache);

		slab_report(a, s, SLAB_ERR_WRONG_CACHE, off, "object %#llx of cache %s freed into %s",
			    (unsigned long long)off, t ? t->name : "?", s->name);
		return;
	}
	if (!in_slab(a, s, pd, off)) {
		slab_report(a, s, SLAB_ERR_BAD_POINTER, off, "%#llx is inside an object, not at its start",
			    (unsigned long long)off);
		return;
	}
	stat_inc_relaxed(&cache_cpu(a, s, shm_current_cpu() % s->nr_cpus)->stat[FREE_SLOWPATH]);
	n = slab_node(a, s, pd);
	node_lock(a, s, n);
	load128_atomic(&pd->slab, &fl, &cnt);
	for (aoff_t x = fl; x && steps <= CNT_OBJECTS(cnt); steps++) {
		if (x == off) {
			char who[96];

			slab_report(a, s, SLAB_ERR_DOUBLE_FREE, off, "object %#llx freed twice%s",
				    (unsigned long long)off,
				    owner_text(s, arena_at(a, off), who, sizeof(who)));
			node_unlock(n);
			return;
		}
		if (!in_slab(a, s, pd, x))
			break;
		x = get_freepointer(a, s, x);
	}
	if (!debug_free_check(a, s, arena_at(a, off), caller)) {
		node_unlock(n);
		return;
	}
	inuse = CNT_INUSE(cnt) ? CNT_INUSE(cnt) - 1 : 0;
	set_freepointer(a, s, off, fl);
	atomic_store_relaxed(&pd->slab.lo, off);
	atomic_store_relaxed(&pd->slab.hi, CNT_MAKE(inuse, CNT_OBJECTS(cnt), 0, 0));
	if (pd->list == SL_FULL) {
		olist_del(a, &pd->lru);
		n->nr_full--;
		olist_add_tail(a, &n->partial, &pd->lru);
		pd->list = SL_NODE_PARTIAL;
		n->nr_partial++;
	}
	if (inuse == 0 && n->nr_partial > s->min_partial && pd->list == SL_NODE_PARTIAL) {
		olist_del(a, &pd->lru);
		n->nr_partial--;
		pd->list = SL_NONE;
		discard = true;
	}
	node_unlock(n);
	if (discard)
		slab_discard(a, s, pd);
}

/* ---- walking a cache ------------------------------------------------------ */

enum where { W_NONE = 0, W_NODE, W_FULL, W_CPU, W_CPU_PARTIAL };

struct walk {
	struct arena *a;
	struct kmem_cache *s;
	uint8_t *where;			/* per pfn */
	uint16_t *cpu_of;		/* per pfn, for W_CPU */
	struct slab_validate_result *r;
	bool report;			/* validate: each error also goes out as a report */
	uint8_t *seen;			/* per object of the slab being checked */
};

static int walk_init(struct walk *w, struct arena *a, struct kmem_cache *s,
		     struct slab_validate_result *r, bool report)
{
	*w = (struct walk){ a, s, NULL, NULL, r, report, NULL };
	w->where = calloc(a->nr_pages, 1);
	w->cpu_of = calloc(a->nr_pages, sizeof(uint16_t));
	w->seen = malloc(MAX_OBJS_PER_SLAB + 1);
	if (w->where && w->cpu_of && w->seen)
		return 0;
	free(w->where);
	free(w->cpu_of);
	free(w->seen);
	return -ENOMEM;
}

static void walk_fini(struct walk *w)
{
	free(w->where);
	free(w->cpu_of);
	free(w->seen);
}

static void walk_err(struct walk *w, enum slab_error kind, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void walk_err(struct walk *w, enum slab_error kind, const char *fmt, ...)
{
	char msg[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	w->r->errors[kind]++;
	w->r->nr_errors++;
	if (!w->r->first_error[0])
		snprintf(w->r->first_error, sizeof(w->r->first_error), "%s: %.120s",
			 w->s ? w->s->name : "arena", msg);
	if (w->report)
		slab_report(w->a, w->s, kind, 0, "validate: %s", msg);
}

static void lock_cache(struct arena *a, struct kmem_cache *s)
{
	for (unsigned int cpu = 0; cpu < s->nr_cpus; cpu++)
		cpu_lock_for_walk(a, s, cpu);
	for (unsigned int node = 0; node < s->nr_nodes; node++)
		node_lock(a, s, cache_node(a, s, node));
}

static void unlock_cache(struct arena *a, struct kmem_cache *s)
{
	for (unsigned int node = s->nr_nodes; node-- > 0;)
		node_unlock(cache_node(a, s, node));
	for (unsigned int cpu = s->nr_cpus; cpu-- > 0;)
		shm_lock_release(&cache_cpu(a, s, cpu)->lock);
}

/* mark where each slab of s is listed; count list errors */
static void mark_lists(struct walk *w)
{
	struct arena *a = w->a;
	struct kmem_cache *s = w->s;

	for (unsigned int node = 0; node < s->nr_nodes; node++) {
		struct kmem_cache_node *n = cache_node(a, s, node);
		struct olist *heads[2] = { &n->partial, &n->full };
		uint64_t want[2] = { n->nr_partial, n->nr_full };

		for (int k = 0; k < 2; k++) {
			struct olist *it = heads[k];
			uint64_t count = 0;

			while ((it = olist_next(a, heads[k], it)) && count <= a->nr_pages) {
				struct page_desc *pd = pd_of_lru(a, arena_off_of(a, it));
				uint8_t expect = k ? SL_FULL : SL_NODE_PARTIAL;

				if (!pd || pd->cache != s->self || pd->list != expect) {
					walk_err(w, SLAB_ERR_LIST, "node %u %s list holds a foreign entry",
						 node, k ? "full" : "partial");
					break;
				}
				if (w->where[pd_pfn(a, pd)])
					walk_err(w, SLAB_ERR_LIST, "slab %u is on two lists", pd_pfn(a, pd));
				w->where[pd_pfn(a, pd)] = k ? W_FULL : W_NODE;
				count++;
			}
			if (count != want[k])
				walk_err(w, SLAB_ERR_LIST, "node %u: %llu slabs on the %s list, count says %llu",
					 node, (unsigned long long)count, k ? "full" : "partial",
					 (unsigned long long)want[k]);
		}
	}
	for (unsigned int cpu = 0; cpu < s->nr_cpus; cpu++) {
		struct kmem_cache_cpu *c = cache_cpu(a, s, cpu);
		aoff_t link = c->partial;
		uint32_t count = 0;

		if (c->slab_pfn) {
			if (c->slab_pfn < a->nr_pages) {
				w->where[c->slab_pfn] = W_CPU;
				w->cpu_of[c->slab_pfn] = (uint16_t)cpu;
			} else {
				walk_err(w, SLAB_ERR_LIST, "cpu %u: slab %u is outside the arena", cpu,
					 c->slab_pfn);
			}
		}
		while (link && count <= a->nr_pages) {
			struct page_desc *pd = pd_of_lru(a, link);

			if (!pd || pd->cache != s->self || pd->list != SL_CPU_PARTIAL) {
				walk_err(w, SLAB_ERR_LIST, "cpu %u partial list holds a foreign entry", cpu);
				break;
			}
			w->where[pd_pfn(a, pd)] = W_CPU_PARTIAL;
			count++;
			link = pd->lru.next;
		}
		if (count != c->partial_slabs)
			walk_err(w, SLAB_ERR_LIST, "cpu %u: %u slabs on the partial list, count says %u",
				 cpu, count, c->partial_slabs);
	}
}

/*
 * walk_freelist - follow a freelist of slab pd from fl, marking each object
 * in seen[].  Returns how many, or -1 if a link is bad (reported once).
 */
static long walk_freelist(struct walk *w, struct page_desc *pd, aoff_t fl, uint8_t *seen)
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

static void check_slab(struct walk *w, struct page_desc *pd, uint8_t *seen)
{
	struct arena *a = w->a;
	struct kmem_cache *s = w->s;
	uint32_t pfn = pd_pfn(a, pd);
	uint64_t fl, cnt;
	uint32_t objects, inuse;
	long nfree, ncpu = 0;
	bool frozen;

	load128_atomic(&pd->slab, &fl, &cnt);
	objects = CNT_OBJECTS(cnt);
	inuse = CNT_INUSE(cnt);
	frozen = CNT_FROZEN(cnt);
	w->r->slabs++;
	if (pd->flags & PG_CORRUPT) {
		walk_err(w, SLAB_ERR_FREELIST, "slab %u is quarantined after a corrupt free pointer", pfn);
		w->r->objects += objects;
		w->r->allocated += objects;
		return;
	}
	if ((objects != oo_objects(s->oo) || pd->order != oo_order(s->oo)) &&
	    (objects != oo_objects(s->min) || pd->order != oo_order(s->min))) {
		walk_err(w, SLAB_ERR_PAGE, "slab %u: order %u with %u objects fits neither oo nor min",
			 pfn, pd->order, objects);
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
	} else if (frozen && os_pid_alive(CNT_OWNER(cnt)) == false) {
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
	default:
		if (!frozen && fl && w->where[pfn] == W_NONE && !os_pid_alive(CNT_OWNER(cnt)))
			walk_err(w, SLAB_ERR_ORPHAN, "slab %u has free objects but is on no list", pfn);
	}

	if (s->flags & (SLAB_RED_ZONE | SLAB_POISON)) {
		aoff_t start = pfn_off(pfn);

		for (uint32_t i = 0; i < objects; i++) {
			char *obj = arena_at(a, start + (aoff_t)i * s->size + s->red_left_pad);

			if ((s->flags & SLAB_RED_ZONE) &&
			    !redzone_ok(s, obj, seen[i] ? RED_INACTIVE : RED_ACTIVE))
				walk_err(w, SLAB_ERR_REDZONE, "object %#llx: red zone overwritten",
					 (unsigned long long)arena_off_of(a, obj));
			if (seen[i] && poisoned(s) && !poison_ok(s, obj))
				walk_err(w, SLAB_ERR_POISON, "free object %#llx was written to",
					 (unsigned long long)arena_off_of(a, obj));
		}
	}
}

static int validate_cache(struct arena *a, struct kmem_cache *s, struct slab_validate_result *r)
{
	struct walk w;
	uint64_t slabs = 0, objs = 0, counted_slabs = r->slabs, counted_objs = r->objects;

	if (walk_init(&w, a, s, r, true))
		return -ENOMEM;
	r->caches++;
	lock_cache(a, s);
	mark_lists(&w);
	for (uint32_t pfn = a->first_pfn; pfn < a->nr_pages; pfn++) {
		struct page_desc *pd = pd_of_pfn(a, pfn);

		if ((pd->flags & (PG_HEAD | PG_SLAB)) == (PG_HEAD | PG_SLAB) && pd->cache == s->self)
			check_slab(&w, pd, w.seen);
	}
	for (unsigned int node = 0; node < s->nr_nodes; node++) {
		slabs += atomic_load_relaxed(&cache_node(a, s, node)->nr_slabs);
		objs += atomic_load_relaxed(&cache_node(a, s, node)->total_objects);
	}
	unlock_cache(a, s);
	if (slabs != r->slabs - counted_slabs || objs != r->objects - counted_objs)
		walk_err(&w, SLAB_ERR_COUNTERS, "node counters say %llu slabs / %llu objects, found %llu / %llu",
			 (unsigned long long)slabs, (unsigned long long)objs,
			 (unsigned long long)(r->slabs - counted_slabs),
			 (unsigned long long)(r->objects - counted_objs));
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
		char err[160];

		rc = slab_for_each_cache(a, validate_one, &v);
		if (!rc && buddy_check(a, err, sizeof(err))) {
			struct walk w = { a, NULL, NULL, NULL, r, true, NULL };

			walk_err(&w, SLAB_ERR_PAGE, "%s", err);
		}
		/* every slab page belongs to a live cache or to a live process in transit */
		for (uint32_t pfn = a->first_pfn; !rc && pfn < a->nr_pages; pfn++) {
			struct page_desc *pd = pd_of_pfn(a, pfn);

			if ((pd->flags & (PG_HEAD | PG_SLAB)) == (PG_HEAD | PG_SLAB) &&
			    !cache_of_off(a, pd->cache) && !(pd->cache == 0 && os_pid_alive(pd->owner))) {
				struct walk w = { a, NULL, NULL, NULL, r, true, NULL };

				walk_err(&w, SLAB_ERR_PAGE, "slab %u belongs to no cache", pfn);
			}
		}
	}
	if (rc)
		return rc;
	return r->nr_errors ? -EUCLEAN : 0;
}

/* ---- scrub ---------------------------------------------------------------- */

static void scrub_cache(struct arena *a, struct kmem_cache *s, struct slab_scrub_result *r)
{
	struct slab_validate_result dummy;
	struct walk w;
	aoff_t empty = 0;
	uint8_t *seen;

	memset(&dummy, 0, sizeof(dummy));
	if (walk_init(&w, a, s, &dummy, false))
		return;
	seen = w.seen;
	lock_cache(a, s);
	mark_lists(&w);
	for (uint32_t pfn = a->first_pfn; pfn < a->nr_pages; pfn++) {
		struct page_desc *pd = pd_of_pfn(a, pfn);
		struct kmem_cache_node *n;
		uint64_t fl, cnt;

		if ((pd->flags & (PG_HEAD | PG_SLAB)) != (PG_HEAD | PG_SLAB) || pd->cache != s->self ||
		    (pd->flags & PG_CORRUPT))
			continue;
		load128_atomic(&pd->slab, &fl, &cnt);
		if (w.where[pfn] != W_NONE) {
			continue;
		}
		if (pd->list != SL_NONE)
			pd->list = SL_NONE;	/* it says it is on a list it is not on */
		if (!CNT_FROZEN(cnt) && !fl)
			continue;		/* full: legitimately on no list */
		if (os_pid_alive(CNT_OWNER(cnt)))
			continue;		/* a live process is moving it */
		/* an orphan: unfreeze it, ours now, and put it where it belongs */
		while (!cas128_full(&pd->slab, fl, cnt, fl,
				    CNT_MAKE(CNT_INUSE(cnt), CNT_OBJECTS(cnt), 0, os_pid())))
			load128_atomic(&pd->slab, &fl, &cnt);
		r->orphans++;
		n = slab_node(a, s, pd);
		if (CNT_INUSE(cnt) == 0 && n->nr_partial >= s->min_partial) {
			pd->lru.next = empty;
			empty = pd_lru_off(a, pd);
		} else if (fl) {
			olist_add_tail(a, &n->partial, &pd->lru);
			pd->list = SL_NODE_PARTIAL;
			n->nr_partial++;
		} else if (s->flags & SLAB_DEBUG_FLAGS) {
			olist_add(a, &n->full, &pd->lru);
			pd->list = SL_FULL;
			n->nr_full++;
		}
	}
	/* objects held by processes that are gone (known with SLAB_STORE_USER) */
	if (s->flags & SLAB_STORE_USER) {
		for (uint32_t pfn = a->first_pfn; pfn < a->nr_pages; pfn++) {
			struct page_desc *pd = pd_of_pfn(a, pfn);
			uint64_t fl, cnt;
			uint32_t objects;

			if ((pd->flags & (PG_HEAD | PG_SLAB)) != (PG_HEAD | PG_SLAB) || pd->cache != s->self)
				continue;
			load128_atomic(&pd->slab, &fl, &cnt);
			objects = CNT_OBJECTS(cnt);
			memset(seen, 0, objects);
			if (walk_freelist(&w, pd, fl, seen) < 0)
				continue;
			for (uint32_t i = 0; i < objects; i++) {
				char *obj = arena_at(a, pfn_off(pfn) + (aoff_t)i * s->size + s->red_left_pad);
				const struct slab_track *t = (const struct slab_track *)(obj + s->track_off);

				if (!seen[i] && t[0].pid && !os_pid_alive(t[0].pid))
					r->leaked_objects++;
			}
		}
	}
	unlock_cache(a, s);
	while (empty) {
		struct page_desc *pd = pd_of_lru(a, empty);

		if (!pd)
			break;
		empty = pd->lru.next;
		slab_discard(a, s, pd);
	}
	walk_fini(&w);
}

struct scrub_all {
	struct arena *a;
	struct slab_scrub_result *r;
};

static int scrub_one(struct kmem_cache *s, void *arg)
{
	struct scrub_all *v = arg;

	scrub_cache(v->a, s, v->r);
	return 0;
}

int slab_scrub(struct arena *a, struct slab_scrub_result *r)
{
	struct scrub_all v = { a, r };

	memset(r, 0, sizeof(*r));
	/* taking each lock repairs what a dead owner left; then look for orphans */
	slab_for_each_cache(a, scrub_one, &v);
	return buddy_scrub(a, &r->transit_blocks);
}

/* ---- statistics ----------------------------------------------------------- */

static const char *const stat_names[NR_SLAB_STATS] = {
	"alloc_fastpath", "alloc_slowpath", "free_fastpath", "free_slowpath",
	"free_frozen", "free_add_partial", "free_remove_partial",
	"alloc_from_partial", "alloc_slab", "alloc_refill", "free_slab",
	"cpuslab_flush", "deactivate_full", "deactivate_empty", "deactivate_partial",
	"deactivate_bypass", "cmpxchg_double_cpu_fail", "cmpxchg_double_fail",
	"cpu_partial_alloc", "cpu_partial_free", "cpu_partial_node", "cpu_partial_drain",
};

const char *slab_stat_name(enum slab_stat st)
{
	return st < NR_SLAB_STATS ? stat_names[st] : "unknown";
}

/*
 * slab_cache_info - /proc/slabinfo's figures and the counters.  The object
 * counts walk the cache's slabs without locks: exact while nothing
 * allocates or frees, never a wild read (every link is checked).
 */
int slab_cache_info(struct arena *a, struct kmem_cache *s, struct slab_cache_info *out)
{
	memset(out, 0, sizeof(*out));
	if (!s || !cache_of_off(a, arena_off_of(a, s)))
		return -EINVAL;
	snprintf(out->name, sizeof(out->name), "%s", s->name);
	out->offset = s->self;
	out->flags = s->flags;
	out->object_size = s->object_size;
	out->size = s->size;
	out->align = s->align;
	out->offset_fp = s->offset;
	out->red_left_pad = s->red_left_pad;
	out->inuse = s->inuse;
	out->order = oo_order(s->oo);
	out->objs_per_slab = oo_objects(s->oo);
	out->min_order = oo_order(s->min);
	out->min_partial = s->min_partial;
	out->cpu_partial = s->cpu_partial;
	out->refcount = s->refcount;
	for (int e = 0; e < SLAB_ERR_NR; e++)
		out->errors[e] = atomic_load_relaxed(&s->errors[e]);
	for (unsigned int cpu = 0; cpu < s->nr_cpus; cpu++) {
		struct kmem_cache_cpu *c = cache_cpu(a, s, cpu);

		for (int st = 0; st < NR_SLAB_STATS; st++)
			out->stat[st] += atomic_load_relaxed(&c->stat[st]);
		out->stat[ALLOC_FASTPATH] += atomic_load_relaxed(&c->alloc_fast);
		out->stat[FREE_FASTPATH] += atomic_load_relaxed(&c->free_fast);
	}
	for (unsigned int node = 0; node < s->nr_nodes; node++)
		out->nr_partial += atomic_load_relaxed(&cache_node(a, s, node)->nr_partial);

	{
		struct slab_validate_result r;
		struct walk w;

		memset(&r, 0, sizeof(r));
		if (walk_init(&w, a, s, &r, false))
			return -ENOMEM;
		for (unsigned int cpu = 0; cpu < s->nr_cpus; cpu++) {
			uint32_t pfn = atomic_load_relaxed(&cache_cpu(a, s, cpu)->slab_pfn);

			if (pfn && pfn < a->nr_pages) {
				w.where[pfn] = W_CPU;
				w.cpu_of[pfn] = (uint16_t)cpu;
			}
		}
		for (uint32_t pfn = a->first_pfn; pfn < a->nr_pages; pfn++) {
			struct page_desc *pd = pd_of_pfn(a, pfn);
			uint64_t before;

			if ((pd->flags & (PG_HEAD | PG_SLAB)) != (PG_HEAD | PG_SLAB) || pd->cache != s->self)
				continue;
			before = r.allocated;
			check_slab(&w, pd, w.seen);
			if (r.allocated > before)
				out->active_slabs++;
		}
		out->num_slabs = r.slabs;
		out->num_objs = r.objects;
		out->active_objs = r.allocated;
		walk_fini(&w);
	}
	return 0;
}
