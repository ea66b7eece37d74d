/*
 * libslub.c - the public API (slub.h) over the engine (shm/) and the
 * control connection (ctl.c).
 *
 * One attachment per process:
 *   g_arena   the mapped arena.  Written under g_lock at attach and detach
 *             only; allocation and free read it without a lock (they may not
 *             run concurrently with slub_detach(), as with any free()).
 *   g_ctl     the control connection, used under g_lock.  After fork() the
 *             child's copy is dropped (pthread_atfork) and made again the
 *             next time the child needs it: the arena mapping itself is
 *             inherited, so the child's pools work at once.
 *
 * Pool references are held by the control connection: slubd drops them all
 * when it closes, whatever the process did.  g_held lists the references
 * this process took (under g_lock); a new connection (in a forked child, or
 * after slubd restarted) takes them again before anything else, so that the
 * pools a process uses stay referenced whatever happened to the daemon.  A
 * control call that finds the connection broken reconnects and tries once
 * more.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "shm.h"
#define SLUB_NO_INLINE		/* slub_offset and slub_ptr: the exported functions here */
#include "slub.h"

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static struct arena *g_arena;
static struct ctl_conn g_ctl = { .fd = -1 };
static struct ctl_target g_target;	/* what this process attached to */
/* why this thread's last slub_attach() failed (slub_attach_error) */
static __thread char t_attach_err[512];
static uint64_t g_arena_id;
static uint64_t g_map_base;	/* where slubd mapped the arena (Attach's map_base) */
static char g_backing[320];	/* what backs it, as slubd said at attach (slub.h) */
/* what the inline slub_offset / slub_ptr read: set with g_arena (see slub.h) */
struct __slub_map __slub_map;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

/*
 * The handle kmem_cache_create gives is this process's private, pinned copy
 * of the pool's geometry (slab_cache_pin, shm/geom.c): kmem_cache_alloc and
 * kmem_cache_free use it as it is, without a lookup, and a scribble on the
 * shared descriptor cannot reach them.  One handle per pool per process (a
 * second create of the same pool gives the same pointer); it stays valid
 * until the last kmem_cache_destroy of it here (or slub_detach).  Whatever
 * needs the pool itself (destroy, shrink, limits, give, owner, slub_offset)
 * finds the shared descriptor from the handle's entry here.
 */
struct held {
	aoff_t off;		/* the pool's descriptor */
	uint32_t count;		/* references this process took */
	bool retake;		/* a new slubd does not know them yet (it was busy) */
	struct kmem_cache *h;	/* the handle given out (a pinned copy) */
};
static struct held *g_held;
static unsigned int g_nr_held;

static struct held *held_find(aoff_t off)
{
	for (unsigned int i = 0; i < g_nr_held; i++)
		if (g_held[i].off == off)
			return &g_held[i];
	return NULL;
}

/* g_lock held: the entry of handle s (a pinned copy given out), if any */
static struct held *held_of_handle(const struct kmem_cache *s)
{
	for (unsigned int i = 0; s && i < g_nr_held; i++)
		if (g_held[i].h == s)
			return &g_held[i];
	return NULL;
}

/* g_lock held: one more reference to the pool at off (shared descriptor s);
 * the handle to give out (the entry's pinned copy), or NULL and errno */
static struct kmem_cache *held_add(aoff_t off, struct kmem_cache *s)
{
	struct held *h = held_find(off), *n;
	struct kmem_cache *k;

	if (h) {
		h->count++;
		return h->h;
	}
	k = slab_cache_pin(g_arena, s);
	if (!k)
		return NULL;	/* reported: no live, consistent pool there */
	n = realloc(g_held, (g_nr_held + 1) * sizeof(*n));
	if (!n) {
		slab_cache_unpin(g_arena, k);
		errno = ENOMEM;
		return NULL;
	}
	g_held = n;
	g_held[g_nr_held++] = (struct held){ off, 1, false, k };
	return k;
}

static void held_drop(aoff_t off)
{
	struct held *h = held_find(off);

	if (h && --h->count == 0) {
		slab_cache_unpin(g_arena, h->h);	/* the handle is no longer valid */
		*h = g_held[--g_nr_held];
	}
}

/* g_lock held: the shared descriptor handle s names (a handle given out, or
 * a descriptor in the arena), checked live; NULL if none */
static struct kmem_cache *pool_of(struct kmem_cache *s)
{
	struct held *h = held_of_handle(s);

	if (!g_arena || !s)
		return NULL;
	if (h)
		return slab_cache_at(g_arena, h->off);
	return slab_cache_at(g_arena, arena_offset(g_arena, s)) == s ? s : NULL;
}

static void atfork_prepare(void) { pthread_mutex_lock(&g_lock); }
static void atfork_parent(void) { pthread_mutex_unlock(&g_lock); }

static void atfork_child(void)
{
	/* the parent's connection is the parent's: let go of our copy only */
	ctl_close(&g_ctl);
	/*
	 * our own slot now (ident.c ran its handler first: we hold nothing of
	 * the parent's), so that slubd sees a live process that uses the arena
	 * from the first instruction on, though we use only the fast paths
	 * (reclaim --force asks)
	 */
	if (g_arena)
		(void)slab_self(g_arena);
	pthread_mutex_unlock(&g_lock);
}

static void init_once(void)
{
	pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
}

/* a simple request; resp must be freed with slubd__response__free_unpacked */
static int call(Slubd__Request *req, Slubd__Response **resp, int *fd)
{
	char err[256];

	return ctl_call(&g_ctl, req, resp, fd, err, sizeof(err));
}

/*
 * connect and Hello, then Attach; *fd gets the arena's descriptor.  err (may
 * be NULL) gets why it failed.
 */
static int connect_attach(const struct ctl_target *t, int *fd, Slubd__Response **resp, char *err,
			  size_t errlen)
{
	Slubd__Request req = SLUBD__REQUEST__INIT;
	Slubd__AttachRequest at = SLUBD__ATTACH_REQUEST__INIT;
	char buf[512];
	int rc;

	if (!err) {
		err = buf;
		errlen = sizeof(buf);
	}
	rc = ctl_connect_target(&g_ctl, t, "libslub", err, errlen);
	if (rc) {
		if (!strstr(err, t->path)) {	/* a refusal by slubd: say whose */
			char pre[160];
			int n = snprintf(pre, sizeof(pre), "slubd at %s: ", t->path);
			size_t l = strlen(err);

			if (n > 0 && (size_t)n < sizeof(pre) && (size_t)n + l < errlen) {
				memmove(err + n, err, l + 1);
				memcpy(err, pre, (size_t)n);
			}
		}
		return rc;
	}
	req.body_case = SLUBD__REQUEST__BODY_ATTACH;
	req.attach = &at;
	rc = ctl_call(&g_ctl, &req, resp, fd, err, errlen);
	if (rc)
		return rc;
	if ((*resp)->err || (*resp)->body_case != SLUBD__RESPONSE__BODY_ATTACH || *fd < 0) {
		rc = (*resp)->err ? -(*resp)->err : -EPROTO;
		snprintf(err, errlen, "slubd at %s refused to attach: %s", t->path,
			 (*resp)->error && *(*resp)->error ? (*resp)->error :
			 (*resp)->err ? strerror((*resp)->err) : "no arena in its answer");
		slubd__response__free_unpacked(*resp, NULL);
		*resp = NULL;
		if (*fd >= 0)
			close(*fd);
		*fd = -1;
		ctl_close(&g_ctl);
	}
	return rc;
}

/*
 * "busy": slubd gave up waiting for an arena lock that another process holds
 * (stopped, traced, or just slow) after its own deadline (0.75 s), and did
 * nothing.  A create is all or nothing there, so asking again is safe: up to
 * BUSY_RETRY_MS in all, pauses doubling from BUSY_FIRST_MS; then EBUSY to
 * the caller.  A destroy is never asked again: slubd finishes a busy one
 * itself (slubd/dispatch.c).
 */
#define BUSY_FIRST_MS	50
#define BUSY_RETRY_MS	2000

static void busy_pause(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* g_lock held: ask slubd to open (create) pool s; 0 or -errno */
static int send_create(const char *name, size_t size, size_t align, unsigned long flags,
		       bool has_ctor, uint32_t refs, aoff_t *off)
{
	Slubd__Request req = SLUBD__REQUEST__INIT;
	Slubd__CreateRequest cr = SLUBD__CREATE_REQUEST__INIT;
	Slubd__Response *resp;
	int rc;

	cr.name = (char *)name;
	cr.size = size;
	cr.has_align = 1;
	cr.align = align;
	cr.has_flags = 1;
	cr.flags = flags;
	cr.has_has_ctor = 1;
	cr.has_ctor = has_ctor;
	cr.has_refs = refs > 1;
	cr.refs = refs;
	req.body_case = SLUBD__REQUEST__BODY_CREATE;
	req.create = &cr;
	for (unsigned int wait_ms = BUSY_FIRST_MS, waited = 0;; waited += wait_ms, wait_ms *= 2) {
		if (waited + wait_ms > BUSY_RETRY_MS)	/* the last pause ends at BUSY_RETRY_MS */
			wait_ms = BUSY_RETRY_MS > waited ? BUSY_RETRY_MS - waited : 0;
		rc = call(&req, &resp, NULL);
		if (rc)
			return rc;
		if (resp->err)
			rc = -resp->err;
		else if (resp->body_case != SLUBD__RESPONSE__BODY_CREATE)
			rc = -EPROTO;
		else
			*off = resp->create->offset;
		slubd__response__free_unpacked(resp, NULL);
		if (rc != -EBUSY || !wait_ms)
			return rc;
		busy_pause(wait_ms);
	}
}

/*
 * g_lock held, attached: tell slubd this process's owner id in the arena,
 * from this thread, which holds its life (slab_self) and is blocked here
 * meanwhile, so that the id is alive while slubd checks it (ident.c: "Held
 * by a connection").  0 or -errno, err says why.
 */
static int identify(struct arena *a, char *err, size_t errlen)
{
	Slubd__Request req = SLUBD__REQUEST__INIT;
	Slubd__IdentifyRequest id = SLUBD__IDENTIFY_REQUEST__INIT;
	Slubd__Response *resp;
	int rc, fd = -1;

	id.owner = slab_self(a);
	if (id.owner == SLAB_OWNER_UNKNOWN)
		return 0;	/* no slot to be had: such an owner never counts as dead anyway */
	req.body_case = SLUBD__REQUEST__BODY_IDENTIFY;
	req.identify = &id;
	rc = ctl_call(&g_ctl, &req, &resp, &fd, err, errlen);
	if (fd >= 0)
		close(fd);
	if (rc)
		return rc;
	rc = resp->err ? -resp->err : 0;
	if (rc)
		snprintf(err, errlen, "slubd refused this process's id in the arena: %s",
			 resp->error && *resp->error ? resp->error : strerror(resp->err));
	slubd__response__free_unpacked(resp, NULL);
	return rc;
}

/*
 * g_lock held, a new connection (a new slubd): take this process's
 * references again; only_pending: those a busy slubd did not take yet.  Once
 * one stays busy through send_create's retries, the rest wait for the next
 * control call too, so that one held lock costs a caller 2 s, not 2 s a pool.
 */
static void retake_references(bool only_pending)
{
	bool busy = false;

	for (unsigned int i = 0; i < g_nr_held;) {
		struct kmem_cache *s;
		char name[SLUB_NAME_MAX + 1];
		size_t size, align;
		unsigned long flags;
		bool has_ctor;
		aoff_t off = 0;

		if ((only_pending && !g_held[i].retake) || busy) {
			g_held[i].retake |= busy;
			i++;
			continue;
		}
		s = slab_cache_at(g_arena, g_held[i].off);
		if (!s) {	/* the pool went while no daemon held our reference (its
				 * handle stays pinned: a use of it fails, never faults) */
			g_held[i] = g_held[--g_nr_held];
			continue;
		}
		snprintf(name, sizeof(name), "%s", slab_cache_name(s));
		slab_cache_geometry(s, &size, &align, &flags, &has_ctor);
		/*
		 * all of them in one request; still busy after the retries: asked
		 * again at the next control call (ensure_connected)
		 */
		g_held[i].retake = busy = send_create(name, size, align, flags, has_ctor,
						      g_held[i].count, &off) == -EBUSY;
		i++;
	}
}

/* g_lock held: is a reference still to be taken again (retake_references)? */
static bool retake_pending(void)
{
	for (unsigned int i = 0; i < g_nr_held; i++)
		if (g_held[i].retake)
			return true;
	return false;
}

/* a failure of the connection itself (not an answer): worth one reconnect */
static bool connection_lost(int rc)
{
	return rc == -EPIPE || rc == -ECONNRESET || rc == -ENOTCONN || rc == -EBADMSG;
}

/* g_lock held: a live control connection to the same arena, or -errno */
static int ensure_connected(void)
{
	Slubd__Response *resp;
	int fd, rc;

	if (!g_arena)
		return -ENOTCONN;
	if (g_ctl.fd >= 0) {
		if (retake_pending())
			retake_references(true);
		return 0;
	}
	rc = connect_attach(&g_target, &fd, &resp, NULL, 0);
	if (rc)
		return rc == -ENOENT || rc == -ECONNREFUSED ? -ENOTCONN : rc;
	close(fd);	/* the mapping we have is the arena; check that it is the same */
	rc = resp->attach->arena_id == g_arena_id && resp->attach->size == arena_size(g_arena) ?
	     0 : -ESTALE;
	slubd__response__free_unpacked(resp, NULL);
	if (rc == 0) {
		char err[256];

		/*
		 * a refusal leaves this process alive by its threads only, as
		 * before it attached (ident.c): the calls it came for go on; a
		 * connection that broke meanwhile is made again next time
		 */
		rc = identify(g_arena, err, sizeof(err));
		if (rc && !connection_lost(rc))
			rc = 0;
	}
	if (rc)
		ctl_close(&g_ctl);
	else
		retake_references(false);
	return rc;
}

/* g_lock held: req over a live connection, made again once if it broke */
static int call_reconnecting(Slubd__Request *req, Slubd__Response **resp)
{
	int rc = -ENOTCONN;

	for (int attempt = 0; attempt < 2; attempt++) {
		rc = ensure_connected();
		if (!rc)
			rc = call(req, resp, NULL);
		if (!connection_lost(rc) || !g_arena)
			break;
	}
	return rc;
}

const char *slub_attach_error(void)
{
	return t_attach_err;
}

int slub_attach(const char *arena)
{
	char *err = t_attach_err, msg[256];
	size_t errlen = sizeof(t_attach_err);
	struct ctl_target t;
	Slubd__Response *resp;
	struct arena *a;
	int fd, rc;

	pthread_once(&g_once, init_once);
	err[0] = 0;
	rc = ctl_target(arena, &t, err, errlen);
	if (rc)
		return rc;
	pthread_mutex_lock(&g_lock);
	if (g_arena) {
		/* one arena per process: its mapping sits at the one shared address */
		snprintf(err, errlen, "already attached to the arena %s (%s): a process is attached to "
			 "one arena at most; slub_detach() first", g_target.arena[0] ? g_target.arena :
			 g_target.name_from == CTL_NAME_UNKNOWN ? "of the socket" : "default", g_target.path);
		pthread_mutex_unlock(&g_lock);
		return -EISCONN;
	}
	rc = connect_attach(&t, &fd, &resp, err, errlen);
	if (rc) {
		pthread_mutex_unlock(&g_lock);
		return rc;
	}
	rc = arena_open(fd, &a, msg, sizeof(msg));
	close(fd);
	if (rc == 0) {
		/* a refusal (slubd logs it) leaves us alive by our threads only, as
		 * for any process without a connection: the attachment stands */
		rc = identify(a, err, errlen);
		if (rc && !connection_lost(rc))
			rc = 0;
		if (rc) {
			arena_close(a);
			ctl_close(&g_ctl);
			slubd__response__free_unpacked(resp, NULL);
			pthread_mutex_unlock(&g_lock);
			return rc;
		}
		err[0] = 0;
	}
	if (rc == 0) {
		g_arena = a;
		g_arena_id = resp->attach->arena_id;
		g_map_base = resp->attach->map_base;
		snprintf(g_backing, sizeof(g_backing), "%s", resp->attach->backing);
		g_target = t;
		__slub_map.size = arena_size(a);
		__slub_map.base = (uintptr_t)arena_base(a);
	} else {
		snprintf(err, errlen, "the arena slubd at %s sent: %s", t.path, msg);
		ctl_close(&g_ctl);
	}
	slubd__response__free_unpacked(resp, NULL);
	pthread_mutex_unlock(&g_lock);
	return rc;
}

void slub_detach(void)
{
	pthread_mutex_lock(&g_lock);
	ctl_close(&g_ctl);	/* slubd drops this connection's references */
	free(g_held);
	g_held = NULL;
	g_nr_held = 0;
	__slub_map.base = 0;
	__slub_map.size = 0;
	if (g_arena)
		arena_close(g_arena);
	g_arena = NULL;
	pthread_mutex_unlock(&g_lock);
}

struct kmem_cache *kmem_cache_create(const char *name, size_t size, size_t align,
				     unsigned long flags, void (*ctor)(void *))
{
	struct kmem_cache *s = NULL;
	aoff_t off = 0;
	int rc;

	if (!slab_cache_args_ok(name, size, align, flags)) {
		errno = EINVAL;	/* what slubd would refuse does not go on the wire */
		return NULL;
	}
	pthread_mutex_lock(&g_lock);
	for (int attempt = 0; attempt < 2; attempt++) {
		rc = ensure_connected();
		if (!rc)
			rc = send_create(name, size, align, flags, ctor != NULL, 1, &off);
		if (!connection_lost(rc) || !g_arena)
			break;
	}
	if (!rc) {
		s = slab_cache_at(g_arena, off);
		if (s) {
			slab_cache_set_ctor(g_arena, s, ctor);
			errno = 0;
			s = held_add(off, s);
			if (!s)	/* our reference goes with the connection */
				rc = -(errno ? errno : ENOMEM);
		} else {
			rc = -EPROTO;
		}
	}
	pthread_mutex_unlock(&g_lock);
	if (rc) {
		errno = rc == -ECONNRESET || rc == -EPIPE ? ENOTCONN : -rc;
		return NULL;
	}
	return s;
}

void kmem_cache_destroy(struct kmem_cache *s)
{
	Slubd__Request req = SLUBD__REQUEST__INIT;
	Slubd__DestroyRequest dr = SLUBD__DESTROY_REQUEST__INIT;
	Slubd__Response *resp;
	char name[SLUB_NAME_MAX + 1];

	if (!s)
		return;
	pthread_mutex_lock(&g_lock);
	s = pool_of(s);		/* the shared descriptor, from here on */
	if (s) {
		aoff_t off = arena_offset(g_arena, s);

		snprintf(name, sizeof(name), "%s", slab_cache_name(s));
		dr.name = name;
		req.body_case = SLUBD__REQUEST__BODY_DESTROY;
		req.destroy = &dr;
		/* forget it first: a reconnect below must not take it again */
		held_drop(off);
		slab_cache_forget(g_arena, s);	/* nor may a pool made later here use its geometry */
		for (int attempt = 0; attempt < 2; attempt++) {
			int rc = ensure_connected();

			if (!rc)
				rc = call(&req, &resp, NULL);
			if (!rc)
				slubd__response__free_unpacked(resp, NULL);
			if (!connection_lost(rc))
				break;
		}
	}
	pthread_mutex_unlock(&g_lock);
}

struct kmem_cache *kmem_cache_lookup(const char *name)
{
	Slubd__Request req = SLUBD__REQUEST__INIT;
	Slubd__CreateRequest cr = SLUBD__CREATE_REQUEST__INIT;
	Slubd__Response *resp;
	struct kmem_cache *s = NULL;
	int rc;

	if (!slab_cache_args_ok(name, 1, 0, 0)) {
		errno = EINVAL;	/* the name's rules are create's */
		return NULL;
	}
	cr.name = (char *)name;
	cr.has_lookup = 1;
	cr.lookup = 1;
	req.body_case = SLUBD__REQUEST__BODY_CREATE;
	req.create = &cr;
	pthread_mutex_lock(&g_lock);
	rc = call_reconnecting(&req, &resp);
	if (!rc) {
		aoff_t off = resp->body_case == SLUBD__RESPONSE__BODY_CREATE ? resp->create->offset : 0;

		rc = resp->err ? -resp->err : off ? 0 : -EPROTO;
		slubd__response__free_unpacked(resp, NULL);
		s = rc ? NULL : slab_cache_at(g_arena, off);
		if (!rc && !s)
			rc = -EPROTO;
		if (s) {
			errno = 0;
			s = held_add(off, s);	/* (this process's ctor, if any, stays set) */
			if (!s)	/* our reference goes with the connection */
				rc = -(errno ? errno : ENOMEM);
		}
	}
	pthread_mutex_unlock(&g_lock);
	if (rc) {
		errno = rc == -ECONNRESET || rc == -EPIPE ? ENOTCONN : -rc;
		return NULL;
	}
	return s;
}

int kmem_cache_stats(struct kmem_cache *s, struct kmem_cache_stats *st)
{
	struct slab_cache_info ci;
	struct kmem_cache *k;
	uint64_t errors = 0;

	if (!g_arena)
		return -ENOTCONN;
	if (!st)
		return -EINVAL;
	pthread_mutex_lock(&g_lock);
	k = pool_of(s);
	pthread_mutex_unlock(&g_lock);
	/* slubd's own reader (do_stats): counters and one lock-free walk, no lock */
	if (!k || slab_cache_info_many(g_arena, &k, 1, &ci) || !ci.offset)
		return -EINVAL;
	memset(st, 0, sizeof(*st));
	st->version = SLUB_STATS_VERSION;
	memcpy(st->name, ci.name, sizeof(st->name) - 1);
	st->name[sizeof(st->name) - 1] = 0;
	st->object_size = ci.object_size;
	st->size = ci.size;
	st->align = ci.align;
	st->flags = ci.flags;
	st->objs_per_slab = ci.objs_per_slab;
	st->pages_per_slab = 1ull << ci.order;
	st->active_objs = ci.active_objs;
	st->num_objs = ci.num_objs;
	st->active_slabs = ci.active_slabs;
	st->num_slabs = ci.num_slabs;
	st->refcount = ci.refcount;
	st->alloc_fastpath = ci.stat[ALLOC_FASTPATH];
	st->alloc_slowpath = ci.stat[ALLOC_SLOWPATH];
	st->free_fastpath = ci.stat[FREE_FASTPATH];
	st->free_slowpath = ci.stat[FREE_SLOWPATH];
	for (int e = 0; e < SLAB_ERR_NR; e++)
		errors += ci.errors[e];
	st->errors = errors;
	st->max_objects = ci.max_objects;
	st->max_bytes = ci.max_bytes;
	return 0;
}

int slub_arena_info(struct slub_arena_info *ai)
{
	int rc = 0;

	if (!ai)
		return -EINVAL;
	pthread_mutex_lock(&g_lock);
	if (!g_arena) {
		rc = -ENOTCONN;
		goto out;
	}
	memset(ai, 0, sizeof(*ai));
	ai->version = SLUB_ARENA_INFO_VERSION;
	ai->at_base = arena_at_base(g_arena);
	snprintf(ai->arena, sizeof(ai->arena), "%s",
		 g_target.arena[0] ? g_target.arena :
		 g_target.name_from == CTL_NAME_UNKNOWN ? "" : "default");
	snprintf(ai->socket, sizeof(ai->socket), "%s", g_target.path);
	snprintf(ai->backing, sizeof(ai->backing), "%s", g_backing);
	ai->base = (uint64_t)(uintptr_t)arena_base(g_arena);
	ai->map_base = g_map_base;
	ai->size = arena_size(g_arena);
	ai->arena_id = g_arena_id;
out:
	pthread_mutex_unlock(&g_lock);
	return rc;
}

/* s: a handle kmem_cache_create gave, a pinned copy (see struct held) */
void *kmem_cache_alloc(struct kmem_cache *s, gfp_t flags)
{
	if (__builtin_expect(!s, 0)) {
		errno = EINVAL;
		return NULL;
	}
	return slab_alloc_pinned(g_arena, s, flags);
}

void *kmem_cache_zalloc(struct kmem_cache *s, gfp_t flags)
{
	return kmem_cache_alloc(s, flags | __GFP_ZERO);
}

void kmem_cache_free(struct kmem_cache *s, void *obj)
{
	if (__builtin_expect(s != NULL, 1))
		slab_free_pinned(g_arena, s, obj);
}

int kmem_cache_alloc_bulk(struct kmem_cache *s, gfp_t flags, size_t nr, void **p)
{
	return slab_alloc_bulk(g_arena, s, flags, nr, p);
}

void kmem_cache_free_bulk(struct kmem_cache *s, size_t nr, void **p)
{
	slab_free_bulk(g_arena, s, nr, p);
}

int kmem_cache_shrink(struct kmem_cache *s)
{
	if (!g_arena)
		return -ENOTCONN;
	pthread_mutex_lock(&g_lock);
	s = pool_of(s);
	pthread_mutex_unlock(&g_lock);
	if (!s)
		return -EINVAL;
	return slab_shrink(g_arena, s);
}

int kmem_cache_set_limit(struct kmem_cache *s, uint64_t max_objects, uint64_t max_bytes)
{
	Slubd__Request req = SLUBD__REQUEST__INIT;
	Slubd__SetLimitRequest lr = SLUBD__SET_LIMIT_REQUEST__INIT;
	Slubd__Response *resp;
	char name[SLUB_NAME_MAX + 1];
	int rc = -ENOTCONN;

	pthread_mutex_lock(&g_lock);
	if (!g_arena)
		goto out;
	rc = -EINVAL;
	s = pool_of(s);
	if (!s)
		goto out;
	snprintf(name, sizeof(name), "%s", slab_cache_name(s));
	lr.name = name;
	lr.has_max_objects = lr.has_max_bytes = 1;
	lr.max_objects = max_objects;
	lr.max_bytes = max_bytes;
	req.body_case = SLUBD__REQUEST__BODY_SET_LIMIT;
	req.set_limit = &lr;
	rc = call_reconnecting(&req, &resp);
	if (!rc) {
		/* ENOENT: the pool went (destroyed by its creator) under this process */
		rc = resp->err == ENOENT ? -EINVAL : -resp->err;
		slubd__response__free_unpacked(resp, NULL);
	}
out:
	pthread_mutex_unlock(&g_lock);
	if (rc == -ECONNRESET || rc == -EPIPE || rc == -EBADMSG)
		rc = -ENOTCONN;
	return rc;
}

int kmem_cache_give(struct kmem_cache *s, void *obj, pid_t pid)
{
	if (!g_arena)
		return -ENOTCONN;
	if (pid <= 0)
		return -ESRCH;
	pthread_mutex_lock(&g_lock);
	s = pool_of(s);
	pthread_mutex_unlock(&g_lock);
	if (!s)
		return -EINVAL;
	return slab_give(g_arena, s, obj, (uint32_t)pid);
}

int kmem_cache_reclaim(struct kmem_cache *s)
{
	struct slab_scrub_result r;
	struct kmem_cache *k;
	int rc;

	if (!g_arena)
		return -ENOTCONN;
	pthread_mutex_lock(&g_lock);
	k = pool_of(s);
	pthread_mutex_unlock(&g_lock);
	/* the scrub's steps, run here: bounded locked steps, untimed waits */
	rc = k ? slab_reclaim_dead(g_arena, k, &r) : -EINVAL;
	if (rc)
		return rc == -EAGAIN ? -EIO : rc;
	return r.reclaimed_objects > INT_MAX ? INT_MAX : (int)r.reclaimed_objects;
}

pid_t kmem_cache_owner(struct kmem_cache *s, const void *obj)
{
	if (!g_arena)
		return 0;
	pthread_mutex_lock(&g_lock);
	s = pool_of(s);
	pthread_mutex_unlock(&g_lock);
	return s ? (pid_t)slab_owner(g_arena, s, obj) : 0;
}

unsigned int kmem_cache_size(struct kmem_cache *s)
{
	return slab_cache_size(s);
}

void *kmalloc(size_t size, gfp_t flags)
{
	if (!g_arena) {
		errno = ENOTCONN;
		return NULL;
	}
	return slab_kmalloc(g_arena, size, flags);
}

void *kzalloc(size_t size, gfp_t flags)
{
	return kmalloc(size, flags | __GFP_ZERO);
}

void *krealloc(const void *p, size_t new_size, gfp_t flags)
{
	if (!g_arena) {
		errno = ENOTCONN;
		return NULL;
	}
	return slab_krealloc(g_arena, p, new_size, flags);
}

void kfree(const void *p)
{
	if (g_arena)
		slab_kfree(g_arena, p);
}

size_t ksize(const void *p)
{
	return g_arena ? slab_ksize_whole(g_arena, p) : 0;
}

/* the exported slub_offset, for programs built before it was inline in slub.h */
uint64_t slub_offset(const void *p)
{
	uint64_t off;

	if (!g_arena)
		return 0;
	off = arena_offset(g_arena, p);
	return off || !p ? off : __slub_offset_handle(p);
}

uint64_t __slub_offset_handle(const void *p)
{
	uint64_t off;
	struct held *h;

	/* a pool's handle (a private copy): its descriptor's offset, as before */
	pthread_mutex_lock(&g_lock);
	h = held_of_handle(p);
	off = h ? h->off : 0;
	pthread_mutex_unlock(&g_lock);
	return off;
}

/* the exported slub_ptr, for programs built before it was inline in slub.h */
void *slub_ptr(uint64_t offset)
{
	return g_arena ? arena_ptr(g_arena, offset) : NULL;
}
