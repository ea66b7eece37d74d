/*
 * dispatch.c - answers to control requests.  One function, dispatch(),
 * takes a decoded request and fills a response; it is what slubd runs for
 * every frame and what the fuzz target drives.  It never trusts the request
 * beyond what request_decode() checked: names, sizes and flags go to the
 * engine, which refuses bad ones with -EINVAL, and the error reply says
 * what was wrong.
 *
 * References.  Every pool reference a client takes (create) is recorded on
 * its connection, so that it can be dropped when the connection closes,
 * whatever the client did.  Destroy drops one of the caller's own; a pool
 * the caller does not reference may be destroyed only by its creator's uid
 * or root, and only when asked to force it (slubctl), which drops every
 * connection's references to it.  Its creator is the uid slubd recorded when
 * it made the pool (policy.c), never the descriptor's word in the arena.
 */
#include <errno.h>
#include <event2/bufferevent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "slubd.h"

#define SHOWN_MAX 170	/* 40 bytes, each at most \\xNN */

struct report_scratch {
	Slubd__Report rep[SLUBD_MAX_REPORTS];
	Slubd__Report *repp[SLUBD_MAX_REPORTS];
	struct slab_report ring[SLUBD_MAX_REPORTS];
};

struct dispatch_scratch {
	Slubd__HelloReply hello;
	Slubd__AttachReply attach;
	Slubd__CreateReply create;
	Slubd__DestroyReply destroy;
	Slubd__StatsReply stats;
	Slubd__CacheStats *cs;
	Slubd__CacheStats **csp;
	char (*names)[SLUB_NAME_MAX + 1];
	Slubd__ValidateReply validate;
	Slubd__ReclaimReply reclaim;
	Slubd__ReportsReply reports;
	struct report_scratch *rs;	/* do_reports': SLUBD_MAX_REPORTS of each */
	char first_error[160];
	char error[512];
	bool dropped;		/* destroy: the caller's reference went */
	bool busy_said;		/* the answer says "busy" and what was done already */
};

static void fail(Slubd__Response *resp, struct dispatch_scratch *x, int err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void fail(Slubd__Response *resp, struct dispatch_scratch *x, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(x->error, sizeof(x->error), fmt, ap);
	va_end(ap);
	resp->has_err = 1;
	resp->err = err;
	resp->error = x->error;
	resp->body_case = SLUBD__RESPONSE__BODY__NOT_SET;
}

/*
 * shown - a requested name as it may go back in an error text: at most 40
 * bytes, anything but printable ASCII as \xNN, so that a reply never echoes
 * control bytes to the terminal that prints it
 */
static const char *shown(const char *name, char buf[SHOWN_MAX])
{
	size_t n = 0;

	for (size_t i = 0; name[i] && i < 40 && n + 5 < SHOWN_MAX; i++) {
		unsigned char ch = (unsigned char)name[i];

		if (ch >= 0x20 && ch < 0x7f)
			buf[n++] = (char)ch;
		else
			n += (size_t)snprintf(buf + n, SHOWN_MAX - n, "\\x%02x", ch);
	}
	buf[n] = 0;
	return buf;
}

/* ---- references ------------------------------------------------------------ */

/* off in the set of *n offsets (at most max): added if new; false when full */
static bool note_once(aoff_t *set, unsigned int *n, unsigned int max, aoff_t off)
{
	for (unsigned int i = 0; i < *n; i++)
		if (set[i] == off)
			return true;
	if (*n >= max)
		return false;
	set[(*n)++] = off;
	return true;
}

static struct conn_ref *ref_find(struct conn *c, aoff_t cache)
{
	for (unsigned int i = 0; i < c->nr_refs; i++)
		if (c->refs[i].cache == cache)
			return &c->refs[i];
	return NULL;
}

/* c on s->holders (once): it holds references, or attached (reclaim --force asks) */
static void holder_add(struct server *s, struct conn *c)
{
	if (c->holder)
		return;
	c->holder = true;
	c->hprev = NULL;
	c->hnext = s->holders;
	if (s->holders)
		s->holders->hprev = c;
	s->holders = c;
}

/*
 * c opened the pool at off (a reference, its own or slubd's: keep): it may
 * hold objects of it even once it drops the reference, so reclaim --force
 * leaves the pool alone while c is open (force_discard)
 */
static void opened_note(struct conn *c, aoff_t off)
{
	if (!note_once(c->opened, &c->nr_opened, SLUBD_CONN_OPENED, off))
		c->opened_many = true;
}

/*
 * References are the worker's: ref_add, ref_remove, conn_drop_refs and the
 * forced destroy's walk of s->holders (the connections that ever held one,
 * or attached, until their drop) run on it alone, so they need no lock; so do
 * c->opened and c->attached, and reclaim's reading of them.
 */
static int ref_add(struct server *s, struct conn *c, aoff_t cache, unsigned int max,
		   uint32_t count)
{
	struct conn_ref *r = ref_find(c, cache), *n;

	if (r) {
		r->count += count;
		return 0;
	}
	if (c->nr_refs >= max)
		return -EMFILE;
	n = realloc(c->refs, (c->nr_refs + 1) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	c->refs = n;
	c->refs[c->nr_refs++] = (struct conn_ref){ cache, count };
	if (c != &s->keeper)
		holder_add(s, c);
	return 0;
}

static void ref_remove(struct conn *c, struct conn_ref *r)
{
	*r = c->refs[--c->nr_refs];
}

/*
 * destroy one reference of k: 0 dropped (or nothing left to drop),
 * -ETIMEDOUT a busy lock stopped it before anything changed (the reference
 * stays: try again later)
 */
static int drop_one(struct server *s, struct kmem_cache *k)
{
	uint64_t taken = slab_lock_taken();
	int rc = slab_cache_destroy(s->arena, k);

	/* slab_mutex, its first lock, not taken: the count is untouched */
	if (rc == -ETIMEDOUT && slab_lock_taken() == taken)
		return rc;
	return 0;
}

/*
 * drop every reference c holds; the pools they kept may go.  False when a
 * busy lock (a client holding it) kept some: they stay recorded, for the
 * worker to try again.
 */
bool conn_drop_refs(struct server *s, struct conn *c)
{
	if (c->owner) {
		held_drop(s, c);	/* its process is alive by its lives alone from now on */
		c->owner = 0;
	}
	while (c->nr_refs) {
		struct conn_ref *r = &c->refs[c->nr_refs - 1];
		struct kmem_cache *k = slab_cache_at(s->arena, r->cache);

		while (k && r->count) {
			if (drop_one(s, k))
				return false;
			r->count--;
		}
		c->nr_refs--;
	}
	if (c->holder) {
		if (c->hprev)
			c->hprev->hnext = c->hnext;
		else
			s->holders = c->hnext;
		if (c->hnext)
			c->hnext->hprev = c->hprev;
		c->holder = false;
	}
	return true;
}

/* ---- requests -------------------------------------------------------------- */

static void do_hello(struct conn *c, const Slubd__Hello *h, Slubd__Response *resp,
		     struct dispatch_scratch *x, struct reply_plan *plan)
{
	if (h->version != SLUBD_PROTOCOL_VERSION) {
		fail(resp, x, EPROTO, "protocol version %u is not served: slubd speaks version %u",
		     h->version, SLUBD_PROTOCOL_VERSION);
		plan->close_after = true;
		return;
	}
	if (h->client)
		snprintf(c->who, sizeof(c->who), "%s", h->client);
	c->state = CONN_READY;
	if (c->bev)	/* attached clients may stay idle for as long as they like */
		bufferevent_set_timeouts(c->bev, NULL, NULL);
	slubd__hello_reply__init(&x->hello);
	x->hello.version = SLUBD_PROTOCOL_VERSION;
	x->hello.server = "slubd";
	resp->body_case = SLUBD__RESPONSE__BODY_HELLO;
	resp->hello = &x->hello;
}

static void do_attach(struct server *s, struct conn *c, Slubd__Response *resp,
		      struct dispatch_scratch *x, struct reply_plan *plan)
{
	/* known to have the arena, until its close drops it off s->holders */
	c->attached = true;
	holder_add(s, c);
	slubd__attach_reply__init(&x->attach);
	x->attach.map_base = arena_recorded_base(s->arena);
	x->attach.size = arena_size(s->arena);
	x->attach.layout_version = 1;
	x->attach.backing = (char *)arena_backing_name(s->arena);
	x->attach.arena_id = arena_id(s->arena);
	resp->body_case = SLUBD__RESPONSE__BODY_ATTACH;
	resp->attach = &x->attach;
	plan->send_fd = true;
}

/*
 * do_identify - an attached client says its process's owner id, from the
 * thread that claimed it (proto: IdentifyRequest): slubd holds it alive
 * while this connection is open (shm/ident.c: "Held by a connection").
 */
static void do_identify(struct server *s, struct conn *c, const Slubd__IdentifyRequest *r,
			Slubd__Response *resp, struct dispatch_scratch *x)
{
	char why[200];
	int rc;

	if (!c->attached) {
		fail(resp, x, EPROTO, "identify before attach: attach first");
		return;
	}
	if (c->owner) {
		if (c->owner != r->owner)
			fail(resp, x, EEXIST, "identify: this connection said owner id %#x already: one "
			     "id a connection", c->owner);
		return;
	}
	rc = held_identify(s, c, r->owner, why, sizeof(why));
	if (rc) {
		log_msg("client pid %d uid %u: identify refused: %s (its process is alive by its "
			"threads only)", (int)c->pid, (unsigned)c->uid, why);
		fail(resp, x, -rc, "identify: %s", why);
		return;
	}
	c->owner = r->owner;
}

static const char *create_error(int rc)
{
	switch (rc) {
	case -EINVAL:
		/* the arguments passed names.c's checks first (do_create): what is left */
		return "the allocator refused it: a lock of the arena cannot be taken (slubctl "
		       "validate names it), or the object with its metadata fits no slab";
	case -EEXIST:
		return "a pool of that name exists with another size, align, flags or ctor";
	case -ENOMEM:
		return "out of memory in the arena";
	default:
		return strerror(-rc);
	}
}

static int count_one(struct kmem_cache *k, void *arg)
{
	*(unsigned int *)arg += !slab_cache_is_system(k);
	return 0;
}

static unsigned int count_pools(struct server *s)
{
	unsigned int n = 0;

	slab_for_each_cache(s->arena, count_one, &n);
	return n;
}

/* ---- the pools slubd knows (stats) ------------------------------------------- */

/*
 * s->pools - the offsets of the pools slubd last saw: the arena's list, read
 * whenever slab_mutex is free at a stats request, and every pool created
 * through slubd since.  It lets stats answer from counters while a client
 * holds (or has scribbled) slab_mutex.  The worker's alone.  Every offset is
 * checked again (slab_cache_at: bounds and magic) before it is read.
 */
static void pools_note(struct server *s, aoff_t off)
{
	(void)note_once(s->pools, &s->nr_pools, SLUB_MAX_CACHES, off);
}

struct pools_walk {
	struct server *s;
	aoff_t off[SLUB_MAX_CACHES];
	unsigned int n;
};

static int pools_one(struct kmem_cache *k, void *arg)
{
	struct pools_walk *w = arg;
	aoff_t off = arena_offset(w->s->arena, k);

	if (off && w->n < SLUB_MAX_CACHES)
		w->off[w->n++] = off;
	return 0;
}

/* read the arena's list again if slab_mutex is free now (no waiting on it) */
static void pools_refresh(struct server *s)
{
	struct pools_walk *w = malloc(sizeof(*w));

	if (!w)
		return;
	w->s = s;
	w->n = 0;
	slab_lock_deadline(1);	/* a try: a held slab_mutex keeps the last list */
	if (slab_for_each_cache(s->arena, pools_one, w) == 0) {
		memcpy(s->pools, w->off, w->n * sizeof(w->off[0]));
		s->nr_pools = w->n;
	}
	slab_lock_deadline(SLUBD_LOCK_WAIT_MS);	/* and stats is not "busy" for it */
	free(w);
}

/*
 * drop_later - count references of the pool at off, given up by their
 * holder, are dropped by the worker once the lock that stopped it is free: they move to a
 * connection record of its own (on s->holders, so that a forced destroy
 * still finds it), whose drop is queued as a closed connection's is.  False:
 * no memory (nothing moved).
 */
static bool drop_later(struct server *s, aoff_t off, uint32_t count)
{
	struct conn *d = calloc(1, sizeof(*d));

	if (!d)
		return false;
	d->srv = s;
	d->closed = true;
	if (ref_add(s, d, off, SLUBD_MAX_REFS, count)) {
		free(d);
		return false;
	}
	if (!server_queue_drop(s, d)) {
		d->nr_refs = 0;
		(void)conn_drop_refs(s, d);	/* off s->holders */
		free(d->refs);
		free(d);
		return false;
	}
	return true;
}

/*
 * give_back - drop n references of k that this request took (a create that
 * cannot finish: all or nothing); those a busy lock stops are dropped later
 * by the worker (drop_later), never left counted with no holder
 */
static void give_back(struct server *s, struct kmem_cache *k, uint32_t n)
{
	while (n && !drop_one(s, k))
		n--;
	if (n && !drop_later(s, arena_offset(s->arena, k), n))
		log_msg("out of memory: %u references of pool %s stay counted", n,
			slab_cache_name(k));
}

static void do_create(struct server *s, struct conn *c, const Slubd__CreateRequest *r,
		      Slubd__Response *resp, struct dispatch_scratch *x);

/*
 * do_lookup - a create of the pool called r->name with the geometry it has
 * (kmem_cache_lookup): never creates one.  Creates and destroys run on this
 * thread alone, so the pool found is the one opened; should it have gone in
 * between all the same (created comes back true), the reference is given
 * back and the answer is ENOENT, so a lookup never leaves a pool behind.
 */
static void do_lookup(struct server *s, struct conn *c, const Slubd__CreateRequest *r,
		      Slubd__Response *resp, struct dispatch_scratch *x)
{
	Slubd__CreateRequest cr = *r;
	struct kmem_cache *k = slab_cache_find(s->arena, r->name);
	char nm[SHOWN_MAX];
	size_t size, align;
	unsigned long flags;
	bool has_ctor;

	if (!k || policy_system(s, k)) {
		fail(resp, x, ENOENT, "lookup %s: no such pool%s", shown(r->name, nm),
		     k ? " (the arena's own caches cannot be opened)" : "");
		return;
	}
	slab_cache_geometry(k, &size, &align, &flags, &has_ctor);
	cr.has_lookup = 0;
	cr.has_keep = cr.has_refs = 0;	/* one reference, the connection's */
	cr.size = size;
	cr.has_align = cr.has_flags = cr.has_has_ctor = 1;
	cr.align = align;
	cr.flags = flags;
	cr.has_ctor = has_ctor;
	do_create(s, c, &cr, resp, x);
	if (!resp->err && resp->create && resp->create->created) {
		k = slab_cache_at(s->arena, resp->create->offset);
		if (k) {
			struct conn_ref *cref = ref_find(c, resp->create->offset);

			if (cref && (cref->count -= 1) == 0)
				ref_remove(c, cref);
			give_back(s, k, 1);
		}
		fail(resp, x, ENOENT, "lookup %s: no such pool", shown(r->name, nm));
	}
}

static void do_create(struct server *s, struct conn *c, const Slubd__CreateRequest *r,
		      Slubd__Response *resp, struct dispatch_scratch *x)
{
	char nm[SHOWN_MAX];
	struct kmem_cache *k;
	uint32_t want = r->has_refs && r->refs ? r->refs : 1, taken;
	/* SIGHUP changes them on the loop meanwhile (server.c): atomic words */
	unsigned int max_refs = __atomic_load_n(&s->cfg.max_refs, __ATOMIC_RELAXED);
	unsigned int max_caches = __atomic_load_n(&s->cfg.max_caches, __ATOMIC_RELAXED);
	bool created;
	int rc;

	if (want > max_refs) {
		fail(resp, x, EINVAL, "create %s: %u references at once, above max_refs (%u)",
		     shown(r->name, nm), want, max_refs);
		return;
	}
	if (r->has_lookup && r->lookup) {
		do_lookup(s, c, r, resp, x);
		return;
	}
	/* the engine's own limits (shm/names.c), each said with the one passed */
	{
		char why[200];

		if (slab_name_check(r->name, why, sizeof(why)) ||
		    slab_size_check(r->size, why, sizeof(why)) ||
		    slab_align_check(r->has_align ? r->align : 0, why, sizeof(why)) ||
		    slab_flags_check(r->has_flags ? r->flags : 0, why, sizeof(why))) {
			fail(resp, x, EINVAL, "create %s: %s", shown(r->name, nm), why);
			return;
		}
		if (slab_name_reserved(r->name)) {
			fail(resp, x, EEXIST, "create %s: the name is reserved: kmem_cache, "
			     "kmem_cache_node and kmalloc-* are the arena's own caches",
			     shown(r->name, nm));
			return;
		}
	}
	if (!slab_cache_find(s->arena, r->name) && count_pools(s) >= max_caches) {
		fail(resp, x, ENOSPC, "create %s: slubd serves %u pools already (max_caches)",
		     shown(r->name, nm), max_caches);
		return;
	}
	rc = slab_cache_open(s->arena, r->name, r->size, r->has_align ? r->align : 0,
			     r->has_flags ? r->flags : 0, r->has_has_ctor && r->has_ctor, c->uid, &k,
			     &created);
	if (rc) {
		fail(resp, x, -rc, "create %s: %s", shown(r->name, nm), create_error(rc));
		return;
	}
	if (created)
		policy_created(s, k, r->name, c->uid);	/* who may cap, force, reclaim it */
	/*
	 * more references at once: each is one more open of the same pool.
	 * All or nothing: one that fails (a busy slab_mutex, say) gives back
	 * those taken, and the answer says so; an "ok" holds them all.
	 */
	for (taken = 1; taken < want; taken++) {
		struct kmem_cache *k2 = NULL;
		bool again;

		rc = slab_cache_open(s->arena, r->name, r->size, r->has_align ? r->align : 0,
				     r->has_flags ? r->flags : 0, r->has_has_ctor && r->has_ctor,
				     c->uid, &k2, &again);
		/* (the same pool: creates and destroys run on this thread alone) */
		if (rc) {
			give_back(s, k, taken);
			fail(resp, x, -rc, "create %s: %u of %u references taken, then: %s; none "
			     "kept", shown(r->name, nm), taken, want, create_error(rc));
			return;
		}
	}
	pools_note(s, arena_offset(s->arena, k));
	opened_note(c, arena_offset(s->arena, k));
	rc = ref_add(s, r->has_keep && r->keep ? &s->keeper : c, arena_offset(s->arena, k),
		     r->has_keep && r->keep ? SLUBD_MAX_REFS : max_refs, taken);
	if (!rc && r->has_keep && r->keep) {
		uint64_t locks = slab_lock_taken();

		slab_cache_keep(s->arena, k, (int)taken);	/* survive a restart of slubd */
		if (slab_lock_taken() == locks) {
			/* slab_mutex busy: not counted as kept; all or nothing */
			struct conn_ref *kr = ref_find(&s->keeper, arena_offset(s->arena, k));

			if (kr && (kr->count -= taken) == 0)
				ref_remove(&s->keeper, kr);
			give_back(s, k, taken);
			fail(resp, x, EBUSY, "create %s: the references could not be recorded as "
			     "slubd's (keep): none kept", shown(r->name, nm));
			return;
		}
	}
	if (rc) {
		give_back(s, k, taken);
		fail(resp, x, -rc, "create %s: this connection holds %u pool references "
		     "(max_refs)", shown(r->name, nm), c->nr_refs);
		return;
	}
	slubd__create_reply__init(&x->create);
	x->create.offset = arena_offset(s->arena, k);
	x->create.has_created = 1;
	x->create.created = created;
	resp->body_case = SLUBD__RESPONSE__BODY_CREATE;
	resp->create = &x->create;
	if (created) {
		char fl[128];

		log_msg("pool %s created (%llu bytes, flags %s) by pid %d uid %u", r->name,
			(unsigned long long)r->size,
			slab_flags_format(r->has_flags ? r->flags : 0, fl, sizeof(fl)), (int)c->pid,
			(unsigned)c->uid);
	}
}

/* the pool of c's own references called name (none: NULL); no lock taken */
static struct kmem_cache *own_ref_named(struct server *s, struct conn *c, const char *name)
{
	for (unsigned int i = 0; i < c->nr_refs; i++) {
		struct kmem_cache *k = slab_cache_at(s->arena, c->refs[i].cache);

		if (k && !strncmp(slab_cache_name(k), name, SLUB_NAME_MAX + 1))
			return k;
	}
	return NULL;
}

/*
 * a forced destroy met a busy lock: say so, and what it did - the references
 * it dropped stay dropped, and a destroy again drops the rest and removes the
 * pool (the answer is complete: dispatch adds nothing)
 */
static void busy_destroy(struct server *s, Slubd__Response *resp, struct dispatch_scratch *x,
			 const char *verb, const char *name, struct kmem_cache *k,
			 unsigned int dropped)
{
	char nm[SHOWN_MAX], held[120];

	if (!slab_lock_busy(held, sizeof(held)))
		snprintf(held, sizeof(held), "a lock is held");
	fail(resp, x, EBUSY, "busy: %s; %s %s: %u reference%s dropped, the pool %s: %s "
	     "again to finish", held, verb, shown(name, nm), dropped, dropped == 1 ? "" : "s",
	     slab_cache_at(s->arena, arena_offset(s->arena, k)) == k ? "stays" : "is gone", verb);
	x->busy_said = true;
}

/*
 * drop_every_ref - the creator or root removes the pool k: every
 * connection's references go, and slubd's (s->holders: those of closed
 * connections not yet dropped too), then the pool, if it holds no objects.
 * False: a busy lock stopped it, and the answer says so and what was done.
 */
static bool drop_every_ref(struct server *s, Slubd__Response *resp, struct dispatch_scratch *x,
			   const char *verb, const char *name, struct kmem_cache *k)
{
	aoff_t off = arena_offset(s->arena, k);
	unsigned int dropped = 0;

	for (struct conn *o = s->holders; ; o = o->hnext) {
		struct conn *holder = o ? o : &s->keeper;
		struct conn_ref *orf = ref_find(holder, off);

		while (orf && orf->count) {
			if (drop_one(s, k)) {
				/* busy: what was dropped stays dropped; again finishes */
				busy_destroy(s, resp, x, verb, name, k, dropped);
				return false;
			}
			/*
			 * kept lowered after the drop: a busy slab_mutex
			 * here leaves kept one high (the pool outlives a
			 * restart: a leak, never an early removal)
			 */
			if (holder == &s->keeper)
				slab_cache_keep(s->arena, k, -1);
			orf->count--;
			dropped++;
		}
		if (orf)
			ref_remove(holder, orf);
		if (!o)
			break;
	}
	if (slab_cache_at(s->arena, off) == k)
		slab_cache_destroy(s->arena, k);	/* unreferenced: removal again */
	if (slab_lock_busy(NULL, 0)) {
		/* every reference went; the removal met a busy lock */
		busy_destroy(s, resp, x, verb, name, k, dropped);
		return false;
	}
	return true;
}

static bool creator_may(struct server *s, struct conn *c, struct kmem_cache *k, const char *name,
			const char *verb, const char *what, const char *refused, int err,
			Slubd__Response *resp, struct dispatch_scratch *x);

static void do_destroy(struct server *s, struct conn *c, const Slubd__DestroyRequest *r,
		       Slubd__Response *resp, struct dispatch_scratch *x)
{
	char nm[SHOWN_MAX];
	struct kmem_cache *k = slab_cache_find(s->arena, r->name);
	struct conn_ref *ref;
	aoff_t off;

	if (!k)
		k = own_ref_named(s, c, r->name);	/* slab_mutex busy: ours still known */
	if (!k) {
		fail(resp, x, ENOENT, "destroy %s: no such pool", shown(r->name, nm));
		return;
	}
	if (policy_system(s, k)) {
		char why[300];
		uint32_t creator;

		if (policy_of(s, k, &creator, why, sizeof(why)) != POLICY_SYSTEM)
			why[0] = 0;	/* the arena's word alone says so */
		fail(resp, x, EPERM, "destroy %s: the arena's own caches cannot be destroyed%s",
		     shown(r->name, nm), why);
		return;
	}
	off = arena_offset(s->arena, k);
	ref = ref_find(c, off);
	if (ref) {
		/*
		 * the caller's own reference (-EBUSY: it stays, the reply says
		 * so).  A busy lock met before the reference went: nothing
		 * changed, and dispatch answers "busy".  One met after it went
		 * (emptying the pool, its last reference): the reference is
		 * gone, so the answer is the destroy reply, "not removed" - a
		 * "busy, try again" would be untrue, the reference being no
		 * longer there to drop again.
		 */
		if (drop_one(s, k)) {
			/*
			 * Busy before anything changed.  libslub's destroy (not
			 * forced) has forgotten the reference before it asked,
			 * and does not ask again: the worker drops it once the
			 * lock is free (drop_later), and the answer says it went.
			 * A forced one is answered "busy": nothing changed.
			 */
			if ((r->has_force && r->force) || !drop_later(s, off, 1))
				return;
		}
		if (--ref->count == 0)
			ref_remove(c, ref);
		x->dropped = true;
	} else if (!(r->has_force && r->force)) {
		/* no reference of this connection to drop (a forked child, say) */
	} else if (!creator_may(s, c, k, r->name, "destroy", "destroy a pool it does not "
				"reference", "destroyed", EACCES, resp, x)) {
		return;		/* answered */
	} else if (!drop_every_ref(s, resp, x, "destroy", r->name, k)) {
		return;		/* busy: answered */
	}
	slubd__destroy_reply__init(&x->destroy);
	x->destroy.has_removed = 1;
	/* no lock: a busy slab_mutex must not read as "removed" (find's NULL) */
	x->destroy.removed = slab_cache_at(s->arena, off) != k;
	if (!x->destroy.removed) {
		int32_t refs = slab_cache_refcount(s->arena, k);

		x->destroy.has_refcount = refs >= 0;	/* -ETIMEDOUT: not known now */
		x->destroy.refcount = refs;
	}
	resp->body_case = SLUBD__RESPONSE__BODY_DESTROY;
	resp->destroy = &x->destroy;
	if (x->destroy.removed)
		log_msg("pool %s removed by pid %d uid %u", r->name, (int)c->pid, (unsigned)c->uid);
}

static void do_stats(struct server *s, const Slubd__StatsRequest *r, Slubd__Response *resp,
		     struct dispatch_scratch *x)
{
	char nm[SHOWN_MAX];
	struct kmem_cache **ks;
	struct slab_cache_info *cis;
	unsigned int n = 0, nk = 0;

	/* counters only: no lock is waited for (s->pools) */
	pools_refresh(s);
	x->cs = calloc(s->nr_pools + 1, sizeof(*x->cs));
	x->csp = calloc(s->nr_pools + 1, sizeof(*x->csp));
	x->names = calloc(s->nr_pools + 1, sizeof(*x->names));
	ks = calloc(s->nr_pools + 1, sizeof(*ks));
	cis = calloc(s->nr_pools + 1, sizeof(*cis));
	if (!x->cs || !x->csp || !x->names || !ks || !cis)
		goto nomem;
	for (unsigned int i = 0; i < s->nr_pools; i++) {
		struct kmem_cache *k = slab_cache_at(s->arena, s->pools[i]);

		if (!k)
			continue;	/* gone since (destroyed), or not a pool now */
		/* the name first (bounded: a scribbled one may lack its NUL) */
		if (r->name && strncmp(r->name, slab_cache_name(k), SLUB_NAME_MAX + 1))
			continue;
		ks[nk++] = k;
	}
	/*
	 * the figures of every pool asked from its counters, without a lock
	 * (slab_cache_info_many, shm/stats.c): O(pools), whatever the arena's
	 * size, and answered while a client holds any lock of the arena
	 */
	if (slab_cache_info_many(s->arena, ks, nk, cis))
		goto nomem;
	for (unsigned int i = 0; i < nk; i++) {
		struct kmem_cache *k = ks[i];
		struct slab_cache_info ci = cis[i];
		Slubd__CacheStats *c = &x->cs[n];

		if (!ci.offset)
			continue;	/* slab_cache_info's -EINVAL: no cache now */
		ci.name[sizeof(ci.name) - 1] = 0;
		if (r->name && strcmp(r->name, ci.name))
			continue;
		slubd__cache_stats__init(c);
		memcpy(x->names[n], ci.name, sizeof(ci.name));
		c->name = x->names[n];
		c->object_size = ci.object_size;
		c->size = ci.size;
		c->objs_per_slab = ci.objs_per_slab;
		c->pages_per_slab = 1u << ci.order;
		c->active_objs = ci.active_objs;
		c->num_objs = ci.num_objs;
		c->active_slabs = ci.active_slabs;
		c->num_slabs = ci.num_slabs;
		c->refcount = ci.refcount;
		/* every counter of stats_list.h, by its name */
#define STAT_FIELD(e, name, shown) c->has_##name = 1, c->name = ci.stat[e];
		SLAB_STAT_LIST(STAT_FIELD)
#undef STAT_FIELD
		c->has_nr_partial = 1;
		c->nr_partial = ci.nr_partial;
		c->has_align = c->has_flags = c->has_errors = c->has_system = 1;
		c->align = ci.align;
		c->flags = ci.flags;
		for (int e = 0; e < SLAB_ERR_NR; e++)
			c->errors += ci.errors[e];
		c->system = slab_cache_is_system(k);
		c->has_max_objects = c->has_max_bytes = 1;
		c->max_objects = ci.max_objects;
		c->max_bytes = ci.max_bytes;
		x->csp[n] = c;
		n++;
	}
	free(ks);
	free(cis);
	if (r->name && n == 0) {
		fail(resp, x, ENOENT, "stats %s: no such pool", shown(r->name, nm));
		return;
	}
	slubd__stats_reply__init(&x->stats);
	x->stats.arena_size = arena_size(s->arena);
	x->stats.arena_used = arena_used_bytes(s->arena);
	x->stats.backing = (char *)arena_backing_name(s->arena);
	x->stats.map_base = (uint64_t)(uintptr_t)arena_base(s->arena);
	x->stats.n_caches = n;
	x->stats.caches = x->csp;
	x->stats.has_clients = 1;
	/*
	 * the loop's count; the asking connection is one of them and is not
	 * counted (a client closed meanwhile never reads this answer)
	 */
	x->stats.clients = __atomic_load_n(&s->nr_conns, __ATOMIC_RELAXED);
	if (x->stats.clients)
		x->stats.clients--;
	resp->body_case = SLUBD__RESPONSE__BODY_STATS;
	resp->stats = &x->stats;
	return;
nomem:
	free(ks);
	free(cis);
	fail(resp, x, ENOMEM, "stats: out of memory");
}

static int shrink_one(struct kmem_cache *k, void *arg)
{
	slab_shrink(arg, k);
	return 0;
}

static void do_shrink(struct server *s, const Slubd__ShrinkRequest *r, Slubd__Response *resp,
		      struct dispatch_scratch *x)
{
	char nm[SHOWN_MAX];
	if (r->name) {
		struct kmem_cache *k = slab_cache_find(s->arena, r->name);

		if (!k) {
			fail(resp, x, ENOENT, "shrink %s: no such pool", shown(r->name, nm));
			return;
		}
		slab_shrink(s->arena, k);
	} else {
		slab_for_each_cache(s->arena, shrink_one, s->arena);
	}
}

/*
 * creator_may - may c make a request of k's creator (verb: the request's
 * name; what: "cap this pool" and the like; refused: what the arena's own
 * caches cannot be)?  Decided by policy_may_manage (policy.c), from slubd's
 * own record, never from the descriptor's words a client can write; false,
 * answered (err, or EPERM), when not.
 */
static bool creator_may(struct server *s, struct conn *c, struct kmem_cache *k, const char *name,
			const char *verb, const char *what, const char *refused, int err,
			Slubd__Response *resp, struct dispatch_scratch *x)
{
	char nm[SHOWN_MAX], why[300];
	uint32_t creator = 0;

	switch (policy_may_manage(s, k, name, c->uid, &creator, why, sizeof(why))) {
	case POLICY_SYSTEM:
		fail(resp, x, EPERM, "%s %s: the arena's own caches cannot be %s%s", verb,
		     shown(name, nm), refused, why);
		return false;
	case POLICY_DISAGREES:
		fail(resp, x, EPERM, "%s %s: %s: refused (slubctl validate %s)", verb,
		     shown(name, nm), why, shown(name, nm));
		return false;
	case POLICY_UNKNOWN:
		fail(resp, x, err, "%s %s: slubd has no record of who made this pool (made past "
		     "slubd, or before a restart that lost the record): only root may %s (you are "
		     "uid %u)", verb, shown(name, nm), what, (unsigned)c->uid);
		return false;
	case POLICY_NOT_CREATOR:
		fail(resp, x, err, "%s %s: only its creator (uid %u) or root may %s (you are uid %u)",
		     verb, shown(name, nm), creator, what, (unsigned)c->uid);
		return false;
	case POLICY_OK:
		break;
	}
	return true;
}

/*
 * pool_of_creator - the pool name, for a request only its creator's uid or
 * root may make (creator_may); NULL, answered, when there is none or it is
 * not the caller's to change
 */
static struct kmem_cache *pool_of_creator(struct server *s, struct conn *c, const char *name,
					  const char *verb, const char *what, const char *refused,
					  int err, Slubd__Response *resp, struct dispatch_scratch *x)
{
	char nm[SHOWN_MAX];
	struct kmem_cache *k = slab_cache_find(s->arena, name);

	if (!k) {
		fail(resp, x, ENOENT, "%s %s: no such pool", verb, shown(name, nm));
		return NULL;
	}
	return creator_may(s, c, k, name, verb, what, refused, err, resp, x) ? k : NULL;
}

/*
 * do_set_limit - cap a pool (its creator's uid or root); an absent cap stays
 * as it is.  The reply has no body: stats shows the caps in force.
 */
static void do_set_limit(struct server *s, struct conn *c, const Slubd__SetLimitRequest *r,
			 Slubd__Response *resp, struct dispatch_scratch *x)
{
	char nm[SHOWN_MAX];
	struct kmem_cache *k = pool_of_creator(s, c, r->name, "set_limit", "cap this pool", "capped",
					       EPERM, resp, x);
	struct slab_cache_info ci;
	uint64_t objs, bytes;

	if (!k)
		return;		/* answered */
	if (slab_cache_info(s->arena, k, &ci)) {
		fail(resp, x, EINVAL, "set_limit %s: the pool cannot be read", shown(r->name, nm));
		return;
	}
	objs = r->has_max_objects ? r->max_objects : ci.max_objects;
	bytes = r->has_max_bytes ? r->max_bytes : ci.max_bytes;
	if (slab_cache_set_limits(s->arena, k, objs, bytes)) {
		fail(resp, x, EINVAL, "set_limit %s: not a pool of this arena", shown(r->name, nm));
		return;
	}
	log_msg("pool %s: caps max_objects %llu, max_bytes %llu (0: none), set by pid %d uid %u",
		r->name, (unsigned long long)objs, (unsigned long long)bytes, (int)c->pid,
		(unsigned)c->uid);
}

/* the reports counted against k (NULL: every cache), as stats sums them */
static uint64_t reported_errors(struct server *s, struct kmem_cache *k)
{
	struct pools_walk *w = k ? NULL : malloc(sizeof(*w));
	struct kmem_cache **ks = NULL;
	struct slab_cache_info *cis = NULL;
	unsigned int n = 1;
	uint64_t sum = 0;

	if (!k) {
		if (!w)
			return 0;
		w->s = s;
		w->n = 0;
		slab_for_each_cache(s->arena, pools_one, w);
		n = w->n;
	}
	ks = calloc(n + 1, sizeof(*ks));
	cis = calloc(n + 1, sizeof(*cis));
	if (ks && cis) {
		for (unsigned int i = 0; i < n; i++)
			ks[i] = k ? k : slab_cache_at(s->arena, w->off[i]);
		if (slab_cache_info_many(s->arena, ks, n, cis) == 0)
			for (unsigned int i = 0; i < n; i++)
				for (int e = 0; cis[i].offset && e < SLAB_ERR_NR; e++)
					sum += cis[i].errors[e];
	}
	free(ks);
	free(cis);
	free(w);
	return sum;
}

/*
 * unknown_live - the pid of a live process in the arena whose id slubd
 * does not hold for an open connection (none said it: a forked child before
 * its first call to slubd, a client between two slubds): 1, *pid set (0: of
 * another pid namespace); 0 when every one is held; -errno (-EAGAIN: a
 * thread without a life word, so that no one can be told absent)
 */
static int unknown_live(struct server *s, uint32_t *pid)
{
	uint32_t first = 0;
	int n = slab_unheld_pids(s->arena, &first, 1);

	if (n <= 0)
		return n;
	*pid = first;
	return 1;
}

/*
 * force_discard - reclaim --force: with no live reference and no unknown
 * live process (see ReclaimRequest), drop every reference left, give every
 * slab back (slab_cache_discard) and remove the pool.  False: refused or
 * busy, the answer says which and what was done.
 *
 * Why no live process's object should go: a process that holds objects of
 * the pool opened it (a reference, recorded on its connection: live_refs,
 * and c->opened, which outlives the reference: a program may free its
 * objects after kmem_cache_destroy) - unless it is unknown to slubd: a live
 * process with a slot in the arena (ident.c: a life word, the kernel's
 * word) whose id no open connection said (Identify: a forked child before
 * its first call to slubd, a client between two slubds) refuses the discard.
 * References, opens and attaches change on this thread alone, so none
 * comes between the checks and the discard; a process that attaches later
 * must ask this thread first, and finds the pool gone.  Not seen (the
 * man page says so): a process handed objects by pointer that never opened
 * the pool (its handle copied from another process), and one that maps an
 * arena file without slubd.
 */
static bool force_discard(struct server *s, Slubd__Response *resp, struct dispatch_scratch *x,
			  const char *name, struct kmem_cache *k)
{
	char nm[SHOWN_MAX];
	struct slab_scrub_result dr;
	uint32_t pid = 0;
	int rc;

	if (x->reclaim.live_refs) {
		fail(resp, x, EBUSY, "reclaim --force %s: %u reference%s of live programs keep it: "
		     "nothing discarded (they must destroy it, or exit)", shown(name, nm),
		     x->reclaim.live_refs, x->reclaim.live_refs == 1 ? "" : "s");
		return false;
	}
	for (struct conn *o = s->holders; o; o = o->hnext) {
		bool opened = o->opened_many;

		for (unsigned int i = 0; i < o->nr_opened && !opened; i++)
			opened = o->opened[i] == arena_offset(s->arena, k);
		if (opened && !__atomic_load_n(&o->closed, __ATOMIC_RELAXED)) {
			fail(resp, x, EBUSY, "reclaim --force %s: pid %d opened it and is still "
			     "connected (it may hold objects of it): nothing discarded (it must exit)",
			     shown(name, nm), (int)o->pid);
			return false;
		}
	}
	held_prune(s);		/* a process gone, its connection kept open by another */
	rc = unknown_live(s, &pid);
	if (rc) {
		if (rc < 0 && pid == 0)
			fail(resp, x, rc == -EAGAIN ? EBUSY : -rc, "reclaim --force %s: %s: nothing "
			     "discarded", shown(name, nm), rc == -EAGAIN ?
			     "a thread without a life word uses the arena, so that no process can be "
			     "told absent" : strerror(-rc));
		else if (pid)
			fail(resp, x, EBUSY, "reclaim --force %s: pid %u uses the arena without an "
			     "open connection to slubd, and may use the pool: nothing discarded (stop "
			     "it, or let it reconnect)", shown(name, nm), pid);
		else
			fail(resp, x, EBUSY, "reclaim --force %s: a process of another pid namespace "
			     "uses the arena without an open connection to slubd: nothing discarded",
			     shown(name, nm));
		return false;
	}
	if (!drop_every_ref(s, resp, x, "reclaim", name, k))
		return false;
	if (slab_cache_at(s->arena, arena_offset(s->arena, k)) != k)
		return true;	/* it was empty: gone with its last reference */
	rc = slab_cache_discard(s->arena, k, &dr);
	x->reclaim.has_discarded = 1;
	x->reclaim.discarded = dr.discarded_objects;
	if (rc == -EAGAIN && slab_lock_busy(NULL, 0))
		return false;	/* dispatch answers "busy"; again finishes */
	if (rc == -EUCLEAN) {
		/* slab_cache_discard checks the descriptor before it follows its offsets */
		fail(resp, x, EUCLEAN, "reclaim --force %s: its descriptor in the arena is "
		     "inconsistent (a client wrote over it): nothing discarded (slubctl validate %s "
		     "says what)", shown(name, nm), shown(name, nm));
		return false;
	}
	if (rc) {
		fail(resp, x, rc == -EAGAIN ? EIO : -rc, "reclaim --force %s: %s; %llu objects "
		     "discarded before (slubctl reports %s)", shown(name, nm),
		     rc == -EAGAIN ? "a lock of the pool cannot be taken" : strerror(-rc),
		     (unsigned long long)dr.discarded_objects, shown(name, nm));
		return false;
	}
	slab_cache_destroy(s->arena, k);	/* unreferenced, no slab left: removed */
	return true;
}

/*
 * do_reclaim - free what dead owners left in the pool, then remove it if no
 * live connection references it (ReclaimRequest in slubd.proto).
 *
 * No live process's object is freed: slab_reclaim_dead frees an object only
 * when its owner record names a process slot the kernel says is dead (its
 * life word, never a pid), read under the object's node lock, under which
 * no live process is between an allocation and its record (slub_debug.c).
 * A pool without owner records frees nothing here.
 *
 * No pool a live process references goes: a connection not closed that
 * holds a reference keeps it (this runs on the worker, which alone changes
 * references, so none is taken meanwhile); those left - slubd's own (slubctl
 * create) and closed connections' - go as a forced destroy drops them, and
 * the pool goes only if it then holds no objects (slab_cache_destroy).
 */
static void do_reclaim(struct server *s, struct conn *c, const Slubd__ReclaimRequest *r,
		       Slubd__Response *resp, struct dispatch_scratch *x)
{
	char nm[SHOWN_MAX];
	struct kmem_cache *k = pool_of_creator(s, c, r->name, "reclaim", "reclaim this pool",
					       "reclaimed", EACCES, resp, x);
	struct slab_scrub_result sr;
	struct slab_cache_info ci;
	aoff_t off;

	held_prune(s);		/* processes gone: their objects are a dead owner's now */
	if (!k)
		return;		/* answered */
	off = arena_offset(s->arena, k);
	if (slab_cache_info(s->arena, k, &ci)) {
		fail(resp, x, EINVAL, "reclaim %s: the pool cannot be read (slubctl validate %s)",
		     shown(r->name, nm), shown(r->name, nm));
		return;
	}
	slubd__reclaim_reply__init(&x->reclaim);
	x->reclaim.owners = ci.flags & SLAB_STORE_USER;
	if (x->reclaim.owners) {
		int rc = slab_reclaim_dead(s->arena, k, &sr);

		x->reclaim.freed = sr.reclaimed_objects;
		x->reclaim.dead_owners = sr.dead_pids;
		reports_log(s, true);	/* each dead owner's line, once */
		if (rc == -EAGAIN && slab_lock_busy(NULL, 0))
			return;		/* dispatch answers "busy: LOCK held by pid N" */
		if (rc) {
			fail(resp, x, rc == -EAGAIN ? EIO : -rc, "reclaim %s: %s; %llu objects freed "
			     "before (slubctl reports %s)", shown(r->name, nm),
			     rc == -EAGAIN ? "a lock of the pool cannot be taken" : strerror(-rc),
			     (unsigned long long)sr.reclaimed_objects, shown(r->name, nm));
			return;
		}
	}
	for (struct conn *o = s->holders; o; o = o->hnext) {
		struct conn_ref *orf = o->closed ? NULL : ref_find(o, off);

		x->reclaim.live_refs += orf ? orf->count : 0;
	}
	x->reclaim.has_live_refs = 1;
	/*
	 * the objects left, once the CPUs' cached free ones went back
	 * (shrink): a pool that holds some keeps its references (slubd's own
	 * among them) - reclaim removes only what it can remove whole
	 */
	slab_shrink(s->arena, k);
	if (!slab_cache_info(s->arena, k, &ci)) {
		x->reclaim.has_objects = 1;
		x->reclaim.objects = ci.active_objs;
	}
	if (r->has_force && r->force) {
		if (!force_discard(s, resp, x, r->name, k))
			return;		/* refused or busy: answered */
	} else if (!x->reclaim.live_refs && x->reclaim.has_objects && !x->reclaim.objects &&
		   !drop_every_ref(s, resp, x, "reclaim", r->name, k)) {
		return;		/* busy: answered, with what was done */
	}
	x->reclaim.removed = slab_cache_at(s->arena, off) != k;
	if (x->reclaim.removed)
		x->reclaim.objects = 0;
	else if (x->reclaim.has_discarded && !slab_cache_info(s->arena, k, &ci))
		x->reclaim.objects = ci.active_objs;	/* in slabs a live process was at work in */
	resp->body_case = SLUBD__RESPONSE__BODY_RECLAIM;
	resp->reclaim = &x->reclaim;
	log_msg("pool %s: reclaim%s by pid %d uid %u: %llu objects of %u dead process%s freed, "
		"%llu discarded; %s", r->name, r->has_force && r->force ? " --force" : "", (int)c->pid,
		(unsigned)c->uid, (unsigned long long)x->reclaim.freed, x->reclaim.dead_owners,
		x->reclaim.dead_owners == 1 ? "" : "es", (unsigned long long)x->reclaim.discarded,
		x->reclaim.removed ? "pool removed" :
		x->reclaim.live_refs ? "kept: live connections reference it" :
		"kept: it holds objects");
}

/*
 * do_reports - the ring's last reports (at most SLUBD_MAX_REPORTS), oldest
 * first, those against the pool name only when given; read without a lock
 * (slab_reports: a slot being written is skipped)
 */
static void do_reports(struct server *s, const Slubd__ReportsRequest *r, Slubd__Response *resp,
		       struct dispatch_scratch *x)
{
	char nm[SHOWN_MAX];
	struct slab_report batch[16];
	struct report_scratch *rs = x->rs = calloc(1, sizeof(*x->rs));
	uint64_t cursor = 0;
	unsigned int n = 0;

	if (!rs) {
		fail(resp, x, ENOMEM, "reports: out of memory");
		return;
	}
	for (;;) {
		uint64_t from = cursor;
		int m = slab_reports(s->arena, batch, 16, &cursor);

		for (int i = 0; i < m; i++) {
			if (r->name && strcmp(r->name, batch[i].cache_name))
				continue;
			if (n == SLUBD_MAX_REPORTS)	/* keep the newest */
				memmove(rs->ring, rs->ring + 1, --n * sizeof(rs->ring[0]));
			rs->ring[n++] = batch[i];
		}
		if (cursor == from)
			break;
	}
	if (r->name && !n && !slab_cache_find(s->arena, r->name)) {
		fail(resp, x, ENOENT, "reports %s: no such pool, and no report names it",
		     shown(r->name, nm));
		return;
	}
	slubd__reports_reply__init(&x->reports);
	for (unsigned int i = 0; i < n; i++) {
		Slubd__Report *o = &rs->rep[i];
		const struct slab_report *q = &rs->ring[i];

		slubd__report__init(o);
		o->kind = q->kind;
		o->kind_name = (char *)slab_error_name((enum slab_error)q->kind);
		o->pool = q->cache_name[0] ? (char *)q->cache_name : NULL;
		o->has_offset = q->object != 0;
		o->offset = q->object;
		o->pid = q->pid;
		o->time_ns = q->time_ns;
		o->detail = q->detail[0] ? (char *)q->detail : NULL;
		rs->repp[i] = o;
	}
	x->reports.n_reports = n;
	x->reports.reports = rs->repp;
	x->reports.total = cursor;
	resp->body_case = SLUBD__RESPONSE__BODY_REPORTS;
	resp->reports = &x->reports;
}

static void do_validate(struct server *s, const Slubd__ValidateRequest *r, Slubd__Response *resp,
			struct dispatch_scratch *x)
{
	char nm[SHOWN_MAX];
	struct slab_validate_result v;
	struct kmem_cache *k = NULL;

	if (r->name && !(k = slab_cache_find(s->arena, r->name))) {
		fail(resp, x, ENOENT, "validate %s: no such pool", shown(r->name, nm));
		return;
	}
	slab_validate(s->arena, k, &v);
	slubd__validate_reply__init(&x->validate);
	x->validate.caches = v.caches;
	x->validate.slabs = v.slabs;
	x->validate.objects = v.objects;
	x->validate.allocated = v.allocated;
	x->validate.free = v.free;
	x->validate.errors = v.nr_errors;
	x->validate.has_reported = 1;
	x->validate.reported = reported_errors(s, k);
	if (v.nr_errors) {
		snprintf(x->first_error, sizeof(x->first_error), "%s", v.first_error);
		x->validate.first_error = x->first_error;
		log_msg("validate%s%s: %llu errors, the first: %s", r->name ? " " : "",
			r->name ? r->name : "", (unsigned long long)v.nr_errors, v.first_error);
	}
	resp->body_case = SLUBD__RESPONSE__BODY_VALIDATE;
	resp->validate = &x->validate;
}

void dispatch(struct server *s, struct conn *c, const Slubd__Request *req, Slubd__Response *resp,
	      struct dispatch_scratch **scratch, struct reply_plan *plan)
{
	struct dispatch_scratch *x = calloc(1, sizeof(*x));

	*scratch = x;
	resp->id = req->id;
	if (!x) {
		static char msg[] = "slubd is out of memory";

		resp->has_err = 1;
		resp->err = ENOMEM;
		resp->error = msg;
		return;
	}
	if (c->state == CONN_HELLO && req->body_case != SLUBD__REQUEST__BODY_HELLO) {
		fail(resp, x, EPROTO, "the first request must be hello (got %s)", request_name(req));
		plan->close_after = true;
		return;
	}
	if (req->body_case != SLUBD__REQUEST__BODY_HELLO && !c->allowed) {
		fail(resp, x, EACCES, "uid %u gid %u may not use this slubd (no longer allowed by "
		     "[access] of its configuration); ask its administrator to add your uid to "
		     "allow_uids, or you to a group of allow_gids (usermod -aG GROUP USER), then "
		     "SIGHUP slubd", (unsigned)c->uid, (unsigned)c->gid);
		return;
	}
	switch (req->body_case) {
	case SLUBD__REQUEST__BODY_HELLO:
		if (c->state != CONN_HELLO) {
			fail(resp, x, EPROTO, "hello may be sent only once");
			return;
		}
		do_hello(c, req->hello, resp, x, plan);
		break;
	case SLUBD__REQUEST__BODY_ATTACH:
		do_attach(s, c, resp, x, plan);
		break;
	case SLUBD__REQUEST__BODY_CREATE:
		do_create(s, c, req->create, resp, x);
		break;
	case SLUBD__REQUEST__BODY_DESTROY:
		do_destroy(s, c, req->destroy, resp, x);
		break;
	case SLUBD__REQUEST__BODY_STATS:
		do_stats(s, req->stats, resp, x);
		break;
	case SLUBD__REQUEST__BODY_SHRINK:
		do_shrink(s, req->shrink, resp, x);
		break;
	case SLUBD__REQUEST__BODY_VALIDATE:
		do_validate(s, req->validate, resp, x);
		break;
	case SLUBD__REQUEST__BODY_SET_LIMIT:
		do_set_limit(s, c, req->set_limit, resp, x);
		break;
	case SLUBD__REQUEST__BODY_RECLAIM:
		do_reclaim(s, c, req->reclaim, resp, x);
		break;
	case SLUBD__REQUEST__BODY_REPORTS:
		do_reports(s, req->reports, resp, x);
		break;
	case SLUBD__REQUEST__BODY_IDENTIFY:
		do_identify(s, c, req->identify, resp, x);
		break;
	default:
		fail(resp, x, EINVAL, "unknown request type %d", (int)req->body_case);
		break;
	}
	/*
	 * A lock attempt gave up (the worker's deadline): a client holds that
	 * lock, perhaps stopped.  The answer says so, unless the request did
	 * what it was for (a create whose reference is recorded).
	 */
	{
		char held[120];

		if (slab_lock_busy(held, sizeof(held)) && !x->busy_said &&
		    !(resp->body_case == SLUBD__RESPONSE__BODY_CREATE && !resp->err) &&
		    !(resp->body_case == SLUBD__RESPONSE__BODY_DESTROY && !resp->err && x->dropped))
			fail(resp, x, EBUSY, "busy: %s; try again", held);
	}
}

void dispatch_done(struct dispatch_scratch *x)
{
	if (!x)
		return;
	free(x->cs);
	free(x->csp);
	free(x->names);
	free(x->rs);
	free(x);
}
