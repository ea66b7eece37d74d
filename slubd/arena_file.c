/*
 * arena_file.c - slubd's arena at start: open_arena takes the arena from
 * store.c (adopted, with its pools, or made), checks its kmalloc caches
 * against [arena] slab_debug, and takes back what slubd held in it: the
 * references it keeps for pools made with slubctl create (s->keeper), the
 * owner ids it held for its clients (held.c), and its record of who made
 * each pool (policy.c).
 *
 * Locks: none of its own.  It runs once, from server_init, before the
 * worker and the scrubber start: the only thread, so s->keeper (later the
 * worker's) is its own here.  Every read of the arena goes through guarded()
 * (guard.c): a client may cut the arena file while slubd starts.
 *
 * May call: store.c (store_open_arena), guard.c, held.c (held_adopt),
 * policy.c (policy_open), shm/ (slab_debug_*, slab_for_each_cache,
 * slab_cache_kept), log_msg.  Nothing of the connections, the worker or the
 * scrubber.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "slubd.h"

static int kept_one(struct kmem_cache *k, void *arg)
{
	struct server *s = arg;
	uint32_t kept = slab_cache_is_system(k) ? 0 : slab_cache_kept(s->arena, k);

	if (kept) {
		struct conn_ref *n = realloc(s->keeper.refs, (s->keeper.nr_refs + 1) * sizeof(*n));

		if (!n)
			return -ENOMEM;
		s->keeper.refs = n;
		n[s->keeper.nr_refs++] = (struct conn_ref){ arena_offset(s->arena, k), kept };
	}
	return 0;
}

/*
 * open_arena - the arena (store.c: adopted, with its pools, or made), then
 * the references slubd keeps for pools made with slubctl create
 */
struct kept_args {
	struct server *s;
	int rc;
	const struct slab_debug_spec *sp;	/* compared with the arena's kmalloc caches */
	int debug_differs;
	char msg[200];
};

/* under guarded(): reads the arena, which a client may cut meanwhile */
static void kept_fn(void *arg)
{
	struct kept_args *x = arg;

	x->debug_differs = slab_debug_compare(x->s->arena, x->sp, x->msg, sizeof(x->msg));
	x->rc = slab_for_each_cache(x->s->arena, kept_one, x->s);
	if (!x->rc)
		x->rc = policy_open(x->s);	/* who made each pool: slubd's record */
	held_adopt(x->s);	/* what a previous slubd held for its clients (its record) */
}

int open_arena(struct server *s, char *err, size_t errlen)
{
	struct slab_debug_spec sp;
	struct kept_args x = { .s = s, .sp = &sp };
	char msg[200], what[300];
	int rc;

	/* [arena] slab_debug (checked by config_load): a new arena's kmalloc caches */
	if (slab_debug_parse(s->cfg.slab_debug, &sp, msg, sizeof(msg)))
		memset(&sp, 0, sizeof(sp));
	slab_debug_set(&sp);
	rc = store_open_arena(s, err, errlen);
	if (rc)
		return rc;
	/* guarded: a client may cut the arena file while slubd starts */
	if (guarded(s, kept_fn, &x)) {
		snprintf(err, errlen, "the arena file was cut while slubd took its pools back, "
			 "and its size cannot be restored");
		return -EFAULT;
	}
	if (x.debug_differs)
		log_msg("slab_debug: this arena was made before with other kmalloc caches (%s); an "
			"arena keeps its caches: stop slubd and remove the arena to make a new one "
			"with slab_debug = %s", x.msg, s->cfg.slab_debug[0] ? s->cfg.slab_debug : "-");
	else if (s->cfg.slab_debug[0]) {
		slab_debug_describe(&sp, what, sizeof(what));
		log_msg("slab_debug: kmalloc caches debugged: %s", what);
	}
	return x.rc;
}
