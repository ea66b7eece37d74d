/*
 * fuzz_ctl.c - libFuzzer target for slubd's control protocol.
 *
 * One input is what one client writes on its connection, plus one byte in
 * front that says who the client is:
 *
 *   data[0]   bits 0-1  the peer: 0 root, 1 a uid in allow_uids, 2 a gid in
 *                       allow_gids, 3 a uid the policy refuses (EACCES paths)
 *             bit 2     another client is connected, holding a reference to
 *                       pool "bystander" (uid 7777): forced destroy walks it
 *             bit 3     that client also made pool "kept" with keep=true
 *                       (a reference held by slubd itself, s->keeper)
 *             bit 4     small limits for this input (max_refs 4,
 *                       max_caches 8), so that their refusals are reachable
 *             bit 5     the client uses its pools as libslub would: after
 *                       each successful create it allocates an object in
 *                       the pool (through the arena, not the socket) and
 *                       writes to its ends, so that destroy meets pools that
 *                       hold objects (EBUSY, refcount 0, removal again) and
 *                       validate walks real slabs of the requested geometry
 *             bit 6     it frees those objects only after it hung up (slubd
 *                       has dropped its references: the pools linger,
 *                       unreferenced, until destroyed again); else just
 *                       before
 *   data[1..] the byte stream: frames of a 4-byte big-endian length and a
 *             Slubd__Request, cut and handled exactly as server.c's read_cb
 *             does: frame_length (SLUBD_MAX_REQUEST), request_decode,
 *             dispatch, frame_pack of the reply (send_response), dispatch_done.
 *             A bad header or a body that does not decode gets read_cb's error
 *             reply and ends the connection; so does plan.close_after; an
 *             incomplete last frame is what a client that hangs up leaves.
 *
 * At the end of each input the connection closes as conn_free does:
 * conn_drop_refs, out of s->conns.  Kept pools are then dropped as a forced
 * destroy would (slab_cache_keep -1, slab_cache_destroy), and pools left
 * unreferenced with objects (bit 5) are destroyed again once the objects are
 * freed, so that every input starts from an arena with no pools.
 *
 * What makes a crash, besides ASan and UBSan:
 *   - a reply that frame_pack'ed does not decode again with response_decode
 *     (a client would fail on it), repeats the wrong id, or exceeds
 *     SLUBD_MAX_RESPONSE;
 *   - a pool left in the arena once every connection is closed and slubd's
 *     own references are dropped (a reference leaked by dispatch), or one
 *     that a destroy cannot remove once it holds no object;
 *   - a successful create whose reply's offset names no cache;
 *   - any report of the engine (slab_set_report_fn): nothing here misuses it;
 *   - every FUZZ_VALIDATE_EVERY inputs (default 64; 1 = each), and at exit
 *     (so that a reproducer run alone is checked too): slab_validate(arena,
 *     NULL) reporting errors, or the arena using more than 2 MiB beyond what
 *     it used new, with every pool gone and every cache shrunk (pages leak).
 *
 * FUZZ_TRACE=1 prints one line per request and its reply (to read what a
 * seed or a reproducer does).  log_msg writes to stderr: the stderr FILE is
 * pointed at /dev/null unless FUZZ_VERBOSE is set.  libFuzzer's own output
 * and the sanitizers' reports still reach fd 2 (they do not use the stderr
 * variable).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "slubd.h"

#define ARENA_SIZE	(16UL << 20)
#define UID_ALLOWED	4242u		/* in allow_uids */
#define GID_ALLOWED	4343u		/* in allow_gids */
#define UID_REFUSED	65533u		/* in neither */
#define UID_OTHER	7777u		/* the bystander client */

static struct server S;
static FILE *out;			/* the real stderr, for our own messages */
static unsigned long nr_inputs;
static unsigned long validate_every = 64;
static bool trace;			/* FUZZ_TRACE: one line per request */

/* the client's objects (bit 5) */
#define MAX_OBJS 64
static struct { struct kmem_cache *k; void *p; } objs[MAX_OBJS];
static unsigned int nr_objs;
static bool use_pools;

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(out, "fuzz_ctl: ");
	va_start(ap, fmt);
	vfprintf(out, fmt, ap);
	va_end(ap);
	fputc('\n', out);
	fflush(out);
	abort();
}

static int count_one(struct kmem_cache *k, void *arg)
{
	*(unsigned int *)arg += !slab_cache_is_system(k);
	return 0;
}

static unsigned int count_pools(void)
{
	unsigned int n = 0;

	slab_for_each_cache(S.arena, count_one, &n);
	return n;
}

static int first_pool(struct kmem_cache *k, void *arg)
{
	if (slab_cache_is_system(k))
		return 0;
	*(struct kmem_cache **)arg = k;
	return 1;
}

static void on_report(const struct slab_report *r, void *arg)
{
	(void)arg;
	die("engine report: %s in cache %s at %#llx: %s", slab_error_name(r->kind), r->cache_name,
	    (unsigned long long)r->object, r->detail);
}

static void ctor(void *p)
{
	memset(p, 0xc7, 8);
}

/* what a libslub client does with a pool it has just created or opened */
static void client_alloc(aoff_t off)
{
	struct kmem_cache *k = slab_cache_at(S.arena, off);
	size_t size, align;
	unsigned long flags;
	bool has_ctor;
	void *p;

	if (!k)
		die("a create reply's offset %#llx names no cache", (unsigned long long)off);
	if (!use_pools || nr_objs >= MAX_OBJS)
		return;
	slab_cache_geometry(k, &size, &align, &flags, &has_ctor);
	if (has_ctor)
		slab_cache_set_ctor(S.arena, k, ctor);
	p = slab_alloc(S.arena, k, GFP_KERNEL);
	if (trace)
		fprintf(out, "  the client allocates in %s: %s (arena %llu of %llu KiB used)\n",
			slab_cache_name(k), p ? "ok" : strerror(errno),
			(unsigned long long)arena_used_bytes(S.arena) >> 10,
			(unsigned long long)arena_size(S.arena) >> 10);
	if (!p)
		return;		/* the arena is full: a client sees ENOMEM */
	if (align > 1 && ((uintptr_t)p & (align - 1)))
		die("an object of %s at %p is not aligned to %zu", slab_cache_name(k), p, align);
	/* its first and last bytes: next to the free pointer and the red zones */
	size = slab_cache_size(k);
	memset(p, 0x5a, size < 256 ? size : 128);
	if (size >= 256)
		memset((char *)p + size - 128, 0x5a, 128);
	objs[nr_objs].k = k;
	objs[nr_objs].p = p;
	nr_objs++;
}

static void client_free(void)
{
	for (unsigned int i = 0; i < nr_objs; i++)
		slab_free(S.arena, objs[i].k, objs[i].p);
	nr_objs = 0;
}

static int shrink_one(struct kmem_cache *k, void *arg)
{
	slab_shrink(arg, k);
	return 0;
}

/* pages in use once every cache is shrunk (a Shrink request without a name) */
static uint64_t used_shrunk(void)
{
	slab_for_each_cache(S.arena, shrink_one, S.arena);
	return arena_used_bytes(S.arena);
}

static uint64_t base_used;		/* used_shrunk() of the new arena */
#define USED_SLACK (2UL << 20)		/* what caches may keep beyond it */

static void validate(const char *when)
{
	struct slab_validate_result r;
	int rc = slab_validate(S.arena, NULL, &r);
	uint64_t used;

	if (rc || r.nr_errors)
		die("slab_validate %s (input %lu): rc %d, %llu errors, the first: %s", when, nr_inputs,
		    rc, (unsigned long long)r.nr_errors, r.first_error);
	if (!base_used)
		return;
	used = used_shrunk();
	if (used > base_used + USED_SLACK)
		die("%s (input %lu), with no pool left and every cache shrunk, the arena uses "
		    "%llu KiB, %llu KiB at start: pages leak", when, nr_inputs,
		    (unsigned long long)used >> 10, (unsigned long long)base_used >> 10);
}

/* a last check as the process ends: also what a lone reproducer gets */
static void validate_at_exit(void)
{
	validate("at exit");
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct arena_opts o = { .size = ARENA_SIZE, .huge = ARENA_HUGE_OFF, .base = 1 };
	const char *v = getenv("FUZZ_VALIDATE_EVERY");
	char msg[256];
	int rc;

	(void)argc;
	(void)argv;
	out = stderr;
	if (!getenv("FUZZ_VERBOSE")) {
		FILE *null = fopen("/dev/null", "w");

		if (null)
			stderr = null;	/* log_msg's fprintf(stderr) only; fd 2 stays */
	}
	trace = getenv("FUZZ_TRACE") != NULL;
	if (v && atol(v) > 0)
		validate_every = (unsigned long)atol(v);
	config_defaults(&S.cfg);
	S.cfg.arena_size = ARENA_SIZE;
	S.cfg.huge = ARENA_HUGE_OFF;
	S.cfg.allow_uids[S.cfg.nr_allow_uids++] = UID_ALLOWED;
	S.cfg.allow_uids[S.cfg.nr_allow_uids++] = UID_OTHER;
	S.cfg.allow_gids[S.cfg.nr_allow_gids++] = GID_ALLOWED;
	rc = arena_create(&o, &S.arena, msg, sizeof(msg));
	if (rc)
		die("arena_create: %s (%d)", msg, rc);
	slab_set_report_fn(on_report, NULL);
	validate("at start");
	base_used = used_shrunk();
	atexit(validate_at_exit);
	if (count_pools())
		die("a new arena holds %u pools", count_pools());
	return 0;
}

/* send_response's packing of a reply, and the checks a client would make on it */
static void pack_reply(const Slubd__Response *resp, uint32_t id, bool check_id)
{
	char err[160];
	Slubd__Response *back;
	uint8_t *buf;
	size_t len;
	uint32_t n;

	if (frame_pack(&resp->base, &buf, &len))
		die("frame_pack: out of memory");
	if (len < SLUBD_FRAME_HDR || frame_length(buf, SLUBD_MAX_RESPONSE, &n) ||
	    n != len - SLUBD_FRAME_HDR)
		die("reply frame of %zu bytes has a bad header (limit %u)", len, SLUBD_MAX_RESPONSE);
	back = response_decode(buf + SLUBD_FRAME_HDR, n, err, sizeof(err));
	if (!back)
		die("the reply to request %u (err %d: %s) does not decode: %s", id, resp->err,
		    resp->error ? resp->error : "-", err);
	if (check_id && back->id != id)
		die("the reply to request %u says id %u", id, back->id);
	if (back->has_err != resp->has_err || back->err != resp->err)
		die("the reply to request %u lost its err", id);
	slubd__response__free_unpacked(back, NULL);
	free(buf);
}

/* read_cb's reject_frame: an error reply, then the connection closes */
static void reject_frame(int err, const char *msg)
{
	Slubd__Response resp = SLUBD__RESPONSE__INIT;

	resp.has_err = 1;
	resp.err = err;
	resp.error = (char *)msg;
	pack_reply(&resp, 0, false);
	if (trace)
		fprintf(out, "  frame refused -> err %d: %s, close\n", err, msg);
}

/* one decoded request on c, as read_cb runs it; false: the connection closes */
static bool fuzz_serve(struct conn *c, Slubd__Request *req)
{
	Slubd__Response resp = SLUBD__RESPONSE__INIT;
	struct dispatch_scratch *scratch = NULL;
	struct reply_plan plan = { false, false };

	c->requests++;
	dispatch(&S, c, req, &resp, &scratch, &plan);
	pack_reply(&resp, req->id, true);
	if (!resp.err && resp.body_case == SLUBD__RESPONSE__BODY_CREATE)
		client_alloc(resp.create->offset);
	if (trace)
		fprintf(out, "  uid %u %-8s id %u -> err %d%s%s body %d%s\n", (unsigned)c->uid,
			request_name(req), req->id, resp.err, resp.error ? ": " : "",
			resp.error ? resp.error : "", (int)resp.body_case,
			plan.close_after ? ", close" : "");
	if (plan.send_fd && !resp.err && resp.body_case != SLUBD__RESPONSE__BODY_ATTACH)
		die("request %u (%s): an fd would go with a reply that is no attach", req->id,
		    request_name(req));
	dispatch_done(scratch);
	if (plan.close_after)
		c->state = CONN_CLOSING;	/* conn_finish */
	return !plan.close_after;
}

static void conn_open(struct conn *c, uid_t uid, gid_t gid, pid_t pid)
{
	memset(c, 0, sizeof(*c));
	c->srv = &S;
	c->state = CONN_HELLO;
	c->pid = pid;
	c->uid = uid;
	c->gid = gid;
	c->allowed = policy_allows(&S.cfg, uid, gid, NULL, 0);
	/* accept_cb: at the head of s->conns */
	c->next = S.conns;
	if (S.conns)
		S.conns->prev = c;
	S.conns = c;
	S.nr_conns++;
}

/* conn_close -> conn_free(c, true), less the bufferevent and the scrub timer */
static void conn_close(struct conn *c)
{
	conn_drop_refs(&S, c);
	if (c->prev)
		c->prev->next = c->next;
	else
		S.conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	S.nr_conns--;
	free(c->refs);
	c->refs = NULL;
}

/* the other client: hello, create "bystander", maybe create "kept" with keep */
static void bystander(struct conn *o, bool kept)
{
	Slubd__Request req = SLUBD__REQUEST__INIT;
	Slubd__Hello h = SLUBD__HELLO__INIT;
	Slubd__CreateRequest cr = SLUBD__CREATE_REQUEST__INIT;

	conn_open(o, UID_OTHER, UID_OTHER, 7777);
	h.version = SLUBD_PROTOCOL_VERSION;
	h.client = "bystander";
	req.id = 1;
	req.body_case = SLUBD__REQUEST__BODY_HELLO;
	req.hello = &h;
	fuzz_serve(o, &req);
	cr.name = "bystander";
	cr.size = 64;
	req.id = 2;
	req.body_case = SLUBD__REQUEST__BODY_CREATE;
	req.create = &cr;
	fuzz_serve(o, &req);
	if (kept) {
		cr.name = "kept";
		cr.size = 200;
		cr.has_keep = cr.keep = 1;
		req.id = 3;
		fuzz_serve(o, &req);
	}
	if (o->state != CONN_READY || o->nr_refs != 1 || !slab_cache_find(S.arena, "bystander"))
		die("the bystander client could not set up (state %d, %u refs)", (int)o->state,
		    o->nr_refs);
}

/* what a forced destroy does to slubd's own references (dispatch.c do_destroy) */
static void drop_kept(void)
{
	for (unsigned int i = 0; i < S.keeper.nr_refs; i++) {
		struct kmem_cache *k = slab_cache_at(S.arena, S.keeper.refs[i].cache);

		for (uint32_t n = 0; k && n < S.keeper.refs[i].count; n++) {
			slab_cache_keep(S.arena, k, -1);
			slab_cache_destroy(S.arena, k);
		}
	}
	S.keeper.nr_refs = 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uid_t uids[4] = { 0, UID_ALLOWED, 1000, UID_REFUSED };
	static const gid_t gids[4] = { 0, 1000, GID_ALLOWED, UID_REFUSED };
	const struct config saved = S.cfg;
	struct conn c, o;
	bool have_other;
	size_t pos = 0;
	uint8_t sel;

	if (size < 1)
		return 0;
	sel = data[0];
	data++;
	size--;
	nr_inputs++;
	if (sel & 16) {
		S.cfg.max_refs = 4;
		S.cfg.max_caches = 8;
	}
	use_pools = sel & 32;
	have_other = sel & 4;
	if (have_other)
		bystander(&o, sel & 8);
	conn_open(&c, uids[sel & 3], gids[sel & 3], 4000);

	/* read_cb, over the whole input */
	while (c.state != CONN_CLOSING) {
		char err[160], msg[200];
		Slubd__Request *req;
		uint8_t *body;
		uint32_t len;
		bool alive;
		int rc;

		if (size - pos < SLUBD_FRAME_HDR)
			break;			/* EOF */
		rc = frame_length(data + pos, SLUBD_MAX_REQUEST, &len);
		if (rc) {
			snprintf(msg, sizeof(msg), "%s (limit %u bytes)",
				 rc == -EMSGSIZE ? "request frame too large" : "empty request frame",
				 SLUBD_MAX_REQUEST);
			reject_frame(-rc, msg);
			break;
		}
		if (size - pos - SLUBD_FRAME_HDR < len)
			break;			/* the rest never comes: EOF */
		/* a buffer of exactly the body, so that ASan sees a read past it */
		body = malloc(len);
		if (!body)
			die("out of memory");
		memcpy(body, data + pos + SLUBD_FRAME_HDR, len);
		pos += SLUBD_FRAME_HDR + len;
		req = request_decode(body, len, err, sizeof(err));
		if (!req) {
			free(body);
			reject_frame(EBADMSG, err);
			break;
		}
		alive = fuzz_serve(&c, req);
		slubd__request__free_unpacked(req, NULL);
		free(body);
		if (!alive)
			break;
	}

	/* the connections close; slubd's own references go as a forced destroy does */
	if (!(sel & 64))
		client_free();
	conn_close(&c);
	if (have_other)
		conn_close(&o);
	drop_kept();
	client_free();
	S.cfg = saved;
	if (S.conns || S.nr_conns)
		die("connections left in the list (%u)", S.nr_conns);
	/* pools left unreferenced with objects: destroyed again, now empty */
	for (unsigned int n = 0; ; n++) {
		struct kmem_cache *k = NULL;
		int32_t refs;
		int rc;

		slab_for_each_cache(S.arena, first_pool, &k);
		if (!k)
			break;
		refs = slab_cache_refcount(S.arena, k);
		if (refs != 0 || !use_pools || n > 1024)
			die("%u pools left once every connection closed: the first, %s, has "
			    "refcount %d", count_pools(), slab_cache_name(k), refs);
		rc = slab_cache_destroy(S.arena, k);
		if (rc)
			die("pool %s, unreferenced and holding no object, is not removed: %d",
			    slab_cache_name(k), rc);
	}
	if (nr_inputs % validate_every == 0)
		validate("after an input");
	return 0;
}
