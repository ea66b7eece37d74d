/*
 * policy.c - who made each pool, kept by slubd itself, never read from the
 * arena.
 *
 * A pool's descriptor (struct kmem_cache) lies in the arena, which every
 * attached client maps writable: its owner_uid, its name and its
 * CACHE_SYSTEM bit are words any client can change.  So slubd decides who
 * may cap, destroy (forced) or reclaim a pool from a record of its own:
 * for each pool, by the offset of its descriptor, the uid it made the pool
 * for (do_create), the name it gave it, and whether it is one of the
 * arena's own caches (kmem_cache, kmem_cache_node, kmalloc-*).  The arena's
 * words are only compared with the record: a pool whose descriptor says
 * another name, another creator or another system-ness than the record is
 * one a client wrote over, and every request of its creator is refused,
 * saying so (logged once per pool and slubd run) - for root too, since the
 * engine would act on the descriptor slubd can no longer trust.
 *
 * What the record starts from.  The arena's own caches are recorded when
 * slubd opens the arena: those the engine's list calls system or that have a
 * reserved name, and those the header's kmalloc table names.  For a new
 * arena that is exact: no client has mapped it yet.  For an arena adopted
 * from an earlier slubd (a restart: the supervisor, systemd's fd store, a
 * file) the saved record below comes first; what the arena says is taken
 * only for offsets the saved record lacks, and then only in the safe
 * direction: a descriptor that looks like an arena cache is one (a client
 * can make its own pool unremovable, never another's removable), and a pool
 * the record does not know has no creator: only root may cap, force or
 * reclaim it, and the answer says why.
 *
 * The saved record.  Every change (a pool made) rewrites a file beside the
 * socket, in the socket's directory (checked by store.c: slubd's own, closed
 * to others' writes): NAME.pools for the socket NAME.sock, mode 0600, made
 * as a new file and renamed over the old one, so that a reader never sees
 * half of it.  It names the arena (its id): a record of another arena is
 * ignored.  At start it is read only if it is a regular file of slubd's
 * user, closed to group and others, with one link.  No directory (a socket
 * directory slubd cannot check): the record lives in memory only, and
 * after a restart only root may manage the pools made before it.
 *
 * The decisions are here, the answers' wording in dispatch.c: who may use
 * slubd at all (policy_allows, from [access]: the event loop's, at accept
 * and on SIGHUP), which pools are the arena's own (policy_system: not
 * opened, not destroyed), and who may manage a pool (policy_may_manage: cap,
 * forced destroy, reclaim).
 *
 * Threads: the worker alone reads and changes the record (do_create and the
 * policy questions run there); policy_open runs before the worker starts.
 * policy_allows reads only the configuration it is given.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "slubd.h"

#define POLICY_MAGIC "slubd-pools 1"

struct pool_rec {
	aoff_t off;			/* the descriptor's offset: the key */
	uint32_t uid;			/* who slubd made it for */
	bool system;			/* one of the arena's own caches */
	bool said;			/* a disagreement of the arena's logged (this run) */
	char name[SLUB_NAME_MAX + 1];	/* the name slubd gave it */
};

struct policy {
	struct pool_rec *recs;
	unsigned int nr, cap;
	int dirfd;			/* where the record is saved; -1: nowhere */
	char file[120], tmp[130];	/* its name there, and the one it is written as */
	bool save_failed_said;
};

static struct pool_rec *rec_at(struct policy *p, aoff_t off)
{
	for (unsigned int i = 0; i < p->nr; i++)
		if (p->recs[i].off == off)
			return &p->recs[i];
	return NULL;
}

/* the record of off, made if new (NULL: no memory) */
static struct pool_rec *rec_add(struct policy *p, aoff_t off)
{
	struct pool_rec *r = rec_at(p, off);

	if (r)
		return r;
	if (p->nr == p->cap) {
		unsigned int cap = p->cap ? p->cap * 2 : 64;
		struct pool_rec *n = realloc(p->recs, cap * sizeof(*n));

		if (!n)
			return NULL;
		p->recs = n;
		p->cap = cap;
	}
	r = &p->recs[p->nr++];
	memset(r, 0, sizeof(*r));
	r->off = off;
	return r;
}

/* the arena's name of k, bounded (a scribbled one may lack its NUL) */
static void arena_name(const struct kmem_cache *k, char out[SLUB_NAME_MAX + 1])
{
	snprintf(out, SLUB_NAME_MAX + 1, "%.*s", SLUB_NAME_MAX, slab_cache_name(k));
}

/* does the arena call k one of its own caches? */
static bool arena_says_system(const struct kmem_cache *k)
{
	char nm[SLUB_NAME_MAX + 1];

	arena_name(k, nm);
	return slab_cache_is_system(k) || slab_name_reserved(nm);
}

/* ---- the saved record ------------------------------------------------------- */

/* write the record (those of pools gone left out) as a new file, renamed over the old */
static void policy_save(struct server *s)
{
	struct policy *p = s->policy;
	unsigned int kept = 0;
	FILE *f;
	int fd;

	if (!p || p->dirfd < 0)
		return;
	for (unsigned int i = 0; i < p->nr; i++)	/* removed pools: their record goes */
		if (slab_cache_at(s->arena, p->recs[i].off))
			p->recs[kept++] = p->recs[i];
	p->nr = kept;
	unlinkat(p->dirfd, p->tmp, 0);
	fd = openat(p->dirfd, p->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (f) {
		fprintf(f, "%s %" PRIx64 "\n", POLICY_MAGIC, arena_id(s->arena));
		for (unsigned int i = 0; i < p->nr; i++)
			fprintf(f, "%" PRIx64 " %u %d %s\n", (uint64_t)p->recs[i].off, p->recs[i].uid,
				p->recs[i].system, p->recs[i].name[0] ? p->recs[i].name : "-");
		if (fflush(f) == 0 && fdatasync(fileno(f)) == 0 && fclose(f) == 0 &&
		    renameat(p->dirfd, p->tmp, p->dirfd, p->file) == 0)
			return;
		f = NULL;
	} else if (fd >= 0) {
		close(fd);
	}
	if (f)
		fclose(f);
	if (!p->save_failed_said)
		log_msg("the pools' record %s cannot be saved (%s): after a restart of slubd, only "
			"root may manage the pools made since", p->file, strerror(errno));
	p->save_failed_said = true;
	unlinkat(p->dirfd, p->tmp, 0);
}

/* read the saved record, if it is slubd's own and of this arena: the pools read, or -1 */
static int policy_load(struct server *s)
{
	struct policy *p = s->policy;
	char line[200], nm[SLUB_NAME_MAX + 2], why[120];
	uint64_t id, off;
	unsigned int uid;
	int sys, n = 0;
	struct stat st;
	FILE *f;
	int fd;

	fd = openat(p->dirfd, p->file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
	    (st.st_mode & 077) || st.st_nlink != 1) {
		log_msg("the pools' record %s is not slubd's own (a regular file of uid %u, mode "
			"0600, one link): ignored", p->file, (unsigned)geteuid());
		close(fd);
		return -1;
	}
	f = fdopen(fd, "r");
	if (!f) {
		close(fd);
		return -1;
	}
	if (!fgets(line, sizeof(line), f) || sscanf(line, POLICY_MAGIC " %" SCNx64, &id) != 1 ||
	    id != arena_id(s->arena)) {
		log_msg("the pools' record %s is of another arena: ignored", p->file);
		fclose(f);
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		struct pool_rec *r;

		if (sscanf(line, "%" SCNx64 " %u %d %32s", &off, &uid, &sys, nm) != 4 ||
		    (strcmp(nm, "-") && slab_name_check(nm, why, sizeof(why))))
			continue;	/* slubd wrote none such: passed over */
		r = rec_add(p, (aoff_t)off);
		if (!r)
			break;
		r->uid = uid;
		r->system = sys != 0;
		snprintf(r->name, sizeof(r->name), "%.*s", SLUB_NAME_MAX, strcmp(nm, "-") ? nm : "");
		n++;
	}
	fclose(f);
	return n;
}

void record_file_names(const char *sock, const char *kind, char *file, size_t flen, char *tmp,
		       size_t tlen)
{
	size_t n = strlen(sock);

	if (n > 5 && !strcmp(sock + n - 5, ".sock"))
		n -= 5;
	snprintf(file, flen, "%.*s.%s", (int)(n < 100 ? n : 100), sock, kind);
	snprintf(tmp, tlen, ".%s.new", file);
}

/* the record's file name beside the socket: NAME.pools for NAME.sock (else SOCKET.pools) */
static void record_names(struct policy *p, const char *sock)
{
	record_file_names(sock, "pools", p->file, sizeof(p->file), p->tmp, sizeof(p->tmp));
}

int policy_dirfd(struct server *s)
{
	return s->policy ? s->policy->dirfd : -1;
}

/* ---- the arena's own caches ------------------------------------------------- */

static int system_one(struct kmem_cache *k, void *arg)
{
	struct server *s = arg;
	aoff_t off = arena_offset(s->arena, k);
	struct pool_rec *r;

	if (!off || !arena_says_system(k))
		return 0;
	r = rec_at(s->policy, off);
	if (r)
		return 0;	/* the saved record decides */
	r = rec_add(s->policy, off);
	if (!r)
		return -ENOMEM;
	r->system = true;
	arena_name(k, r->name);
	return 0;
}

/* the kmalloc caches as the header's table names them, by size class */
static int kmalloc_system(struct server *s)
{
	static const size_t sizes[] = { 8, 16, 32, 64, 96, 128, 192, 256, 512, 1024, 2048, 4096,
					8192 };

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		struct kmem_cache *k = slab_kmalloc_cache(s->arena, sizes[i]);
		aoff_t off = k ? arena_offset(s->arena, k) : 0;
		struct pool_rec *r;

		if (!off || !slab_cache_at(s->arena, off))
			continue;
		r = rec_add(s->policy, off);
		if (!r)
			return -ENOMEM;
		if (!r->system && r->name[0]) {
			/* the saved record made a pool of it: an arena cache wins */
			log_msg("pool %s: its descriptor is the arena's kmalloc cache for %zu bytes: "
				"recorded as the arena's own", r->name, sizes[i]);
		}
		r->system = true;
		if (!r->name[0])
			snprintf(r->name, sizeof(r->name), "kmalloc-%zu", sizes[i]);
	}
	return 0;
}

int policy_open(struct server *s)
{
	struct policy *p = calloc(1, sizeof(*p));
	char dir[200], err[200];
	int saved = -1, rc;

	if (!p)
		return -ENOMEM;
	s->policy = p;
	p->dirfd = -1;
	record_names(p, store_split(s->cfg.socket, dir, sizeof(dir)));
	if (s->sock_dirfd >= 0)
		p->dirfd = fcntl(s->sock_dirfd, F_DUPFD_CLOEXEC, 0);
	else if (dir[0])	/* a socket systemd made: its directory, checked as slubd's own */
		p->dirfd = store_open_dir(dir, false, 0, err, sizeof(err));
	if (p->dirfd < 0) {
		p->dirfd = -1;
		log_msg("the pools' record is kept in memory only (no checked socket directory): "
			"after a restart of slubd, only root may manage the pools made before it");
	} else {
		saved = policy_load(s);
	}
	rc = slab_for_each_cache(s->arena, system_one, s);
	if (!rc)
		rc = kmalloc_system(s);
	if (rc)
		return rc;
	if (saved >= 0)
		log_msg("the pools' record %s read: %d entries (each pool's creator, and the "
			"arena's own caches)", p->file, saved);
	policy_save(s);
	return 0;
}

void policy_fini(struct server *s)
{
	struct policy *p = s->policy;

	if (!p)
		return;
	if (p->dirfd >= 0)
		close(p->dirfd);
	free(p->recs);
	free(p);
	s->policy = NULL;
}

/* ---- the questions ---------------------------------------------------------- */

void policy_created(struct server *s, struct kmem_cache *k, const char *name, uint32_t uid)
{
	struct pool_rec *r;

	if (!s->policy)
		return;		/* no record kept (the fuzz target's server): root alone may */
	r = rec_add(s->policy, arena_offset(s->arena, k));
	if (!r) {
		log_msg("out of memory: pool %s has no creator in slubd's record (only root may "
			"manage it)", name);
		return;
	}
	r->uid = uid;
	r->system = false;
	r->said = false;
	snprintf(r->name, sizeof(r->name), "%s", name);
	policy_save(s);
}

bool policy_system(struct server *s, struct kmem_cache *k)
{
	struct pool_rec *r = s->policy ? rec_at(s->policy, arena_offset(s->arena, k)) : NULL;

	return (r && r->system) || arena_says_system(k);
}

enum policy_verdict policy_of(struct server *s, struct kmem_cache *k, uint32_t *creator,
			      char *why, size_t len)
{
	struct pool_rec *r = s->policy ? rec_at(s->policy, arena_offset(s->arena, k)) : NULL;
	char nm[SLUB_NAME_MAX + 1];
	uint32_t owner = slab_cache_owner(k);
	bool sys = arena_says_system(k);

	arena_name(k, nm);
	why[0] = 0;
	if (r && r->system) {
		if (strcmp(nm, r->name) || !sys) {
			snprintf(why, len, " (%s in slubd's record; its descriptor in the arena now "
				 "says %s%s: a client wrote over it)", r->name, nm,
				 sys ? "" : ", not the arena's own");
			if (!r->said)
				log_msg("cache %s: its descriptor in the arena says %s%s: a client "
					"wrote over it; slubd's record decides", r->name, nm,
					sys ? "" : ", not the arena's own");
			r->said = true;
		}
		return POLICY_SYSTEM;
	}
	if (!r)
		return sys ? POLICY_SYSTEM : POLICY_UNKNOWN;
	if (sys || strcmp(nm, r->name) || owner != r->uid) {
		snprintf(why, len, "its descriptor in the arena disagrees with slubd's record (made "
			 "as %s for uid %u; the arena says %s, uid %u%s): a client wrote over it, "
			 "and slubd acts on no pool it cannot trust", r->name, r->uid, nm,
			 (unsigned)owner, sys ? ", the arena's own" : "");
		if (!r->said)
			log_msg("pool %s: %s", r->name, why);
		r->said = true;
		return POLICY_DISAGREES;
	}
	*creator = r->uid;
	return POLICY_OK;
}

/*
 * policy_may_manage - may uid make a request of k's creator (cap it, destroy
 * it forced, reclaim it)?  POLICY_OK when it may: root, or the creator in
 * slubd's record; root also for a pool slubd has no record of.  Else why
 * not: POLICY_SYSTEM (one of the arena's own caches), POLICY_DISAGREES (the
 * descriptor is not what slubd made: refused to root too), POLICY_UNKNOWN
 * (no record: only root), POLICY_NOT_CREATOR (*creator made it).  why: as
 * policy_of's, for the answer.
 */
enum policy_verdict policy_may_manage(struct server *s, struct kmem_cache *k, const char *name,
				      uid_t uid, uint32_t *creator, char *why, size_t len)
{
	/*
	 * the name decides too: a reserved one is the arena's own whatever the
	 * record says (a reviewer's two writes once made kmalloc-64 a pool of
	 * uid 65534, which reclaim --force then discarded)
	 */
	if (slab_name_reserved(name)) {
		why[0] = 0;
		return POLICY_SYSTEM;
	}
	switch (policy_of(s, k, creator, why, len)) {
	case POLICY_SYSTEM:
		return POLICY_SYSTEM;
	case POLICY_DISAGREES:
		return POLICY_DISAGREES;
	case POLICY_UNKNOWN:
		return uid == 0 ? POLICY_OK : POLICY_UNKNOWN;
	case POLICY_OK:
	case POLICY_NOT_CREATOR:	/* policy_of never says so */
		break;
	}
	return uid != 0 && uid != *creator ? POLICY_NOT_CREATOR : POLICY_OK;
}

/*
 * policy_allows - who may use this slubd at all ([access]): root, slubd's
 * own uid, the uids of allow_uids, and members (primary gid or one of
 * groups[nr_groups]) of allow_gids.  Checked at accept and again on SIGHUP
 * (conn.c: peer_allowed gathers the peer's credentials).
 */
bool policy_allows(const struct config *c, uid_t uid, gid_t gid, const gid_t *groups,
		   unsigned int nr_groups)
{
	if (uid == 0 || uid == geteuid())
		return true;
	for (unsigned int i = 0; i < c->nr_allow_uids; i++)
		if (c->allow_uids[i] == uid)
			return true;
	for (unsigned int i = 0; i < c->nr_allow_gids; i++) {
		if (c->allow_gids[i] == gid)
			return true;
		for (unsigned int g = 0; g < nr_groups; g++)
			if (c->allow_gids[i] == groups[g])
				return true;
	}
	return false;
}
