/*
 * make_corpus.c - writes the seed corpus of fuzz_ctl (tests/fuzz/corpus/).
 *
 *   make -f tests/fuzz/Makefile.fuzz build/fuzz/make_corpus
 *   build/fuzz/make_corpus tests/fuzz/corpus
 *
 * Each seed is one selector byte (see fuzz_ctl.c) and then the frames a
 * client would write, packed with protobuf-c and frame_pack like libslub's.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"

#define SEL_ROOT	0
#define SEL_ALLOWED	1	/* a uid in allow_uids */
#define SEL_GROUP	2	/* a gid in allow_gids */
#define SEL_REFUSED	3
#define SEL_OTHER	4	/* another client holds "bystander" */
#define SEL_KEPT	8	/* ... and slubd keeps "kept" */
#define SEL_LIMITS	16	/* max_refs 4, max_caches 8 */
#define SEL_OBJECTS	32	/* the client allocates in each pool it opens */
#define SEL_FREE_LATE	64	/* ... and frees after hanging up */

#define RED_ZONE	0x400u
#define POISON		0x800u
#define HWCACHE_ALIGN	0x2000u
#define STORE_USER	0x10000u

static uint8_t seed[1 << 16];
static size_t seed_len;
static uint32_t next_id;

static void put(const void *p, size_t n)
{
	if (seed_len + n > sizeof(seed)) {
		fprintf(stderr, "make_corpus: seed too long\n");
		exit(1);
	}
	memcpy(seed + seed_len, p, n);
	seed_len += n;
}

static void begin(uint8_t sel)
{
	seed_len = 0;
	next_id = 1;
	put(&sel, 1);
}

static void send_req(Slubd__Request *r)
{
	uint8_t *buf;
	size_t len;

	r->id = next_id++;
	if (frame_pack(&r->base, &buf, &len)) {
		fprintf(stderr, "make_corpus: frame_pack failed\n");
		exit(1);
	}
	put(buf, len);
	free(buf);
}

static void hello_v(uint32_t version, const char *client)
{
	Slubd__Request r = SLUBD__REQUEST__INIT;
	Slubd__Hello h = SLUBD__HELLO__INIT;

	h.version = version;
	h.client = (char *)client;
	r.body_case = SLUBD__REQUEST__BODY_HELLO;
	r.hello = &h;
	send_req(&r);
}

static void hello(void)
{
	hello_v(SLUBD_PROTOCOL_VERSION, "fuzz");
}

static void attach(void)
{
	Slubd__Request r = SLUBD__REQUEST__INIT;
	Slubd__AttachRequest a = SLUBD__ATTACH_REQUEST__INIT;

	r.body_case = SLUBD__REQUEST__BODY_ATTACH;
	r.attach = &a;
	send_req(&r);
}

/* align, flags, refs: 0 = absent; keep, ctor: -1 = absent */
/* a create; lookup 1: kmem_cache_lookup's (size, align, flags, ctor ignored by slubd) */
static void create_or_lookup(const char *name, uint64_t size, uint64_t align, uint64_t flags,
			     int ctor, int keep, uint32_t refs, int lookup)
{
	Slubd__Request r = SLUBD__REQUEST__INIT;
	Slubd__CreateRequest c = SLUBD__CREATE_REQUEST__INIT;

	c.name = (char *)name;
	c.size = size;
	c.has_align = align != 0;
	c.align = align;
	c.has_flags = flags != 0;
	c.flags = flags;
	c.has_has_ctor = ctor >= 0;
	c.has_ctor = ctor > 0;
	c.has_keep = keep >= 0;
	c.keep = keep > 0;
	c.has_refs = refs != 0;
	c.refs = refs;
	c.has_lookup = lookup;
	c.lookup = lookup;
	r.body_case = SLUBD__REQUEST__BODY_CREATE;
	r.create = &c;
	send_req(&r);
}

static void create(const char *name, uint64_t size, uint64_t align, uint64_t flags, int ctor, int keep,
		   uint32_t refs)
{
	create_or_lookup(name, size, align, flags, ctor, keep, refs, 0);
}

/* a lookup (kmem_cache_lookup): the pool as it is, never made; keep and refs ignored */
static void lookup(const char *name, int keep, uint32_t refs)
{
	create_or_lookup(name, 0, 0, 0, -1, keep, refs, 1);
}

static void pool(const char *name, uint64_t size)
{
	create(name, size, 0, 0, -1, -1, 0);
}

static void destroy(const char *name, int force)
{
	Slubd__Request r = SLUBD__REQUEST__INIT;
	Slubd__DestroyRequest d = SLUBD__DESTROY_REQUEST__INIT;

	d.name = (char *)name;
	d.has_force = force >= 0;
	d.force = force > 0;
	r.body_case = SLUBD__REQUEST__BODY_DESTROY;
	r.destroy = &d;
	send_req(&r);
}

static void stats(const char *name)
{
	Slubd__Request r = SLUBD__REQUEST__INIT;
	Slubd__StatsRequest s = SLUBD__STATS_REQUEST__INIT;

	s.name = (char *)name;
	r.body_case = SLUBD__REQUEST__BODY_STATS;
	r.stats = &s;
	send_req(&r);
}

/* force < 0: absent */
static void reclaim(const char *name, int force)
{
	Slubd__Request r = SLUBD__REQUEST__INIT;
	Slubd__ReclaimRequest q = SLUBD__RECLAIM_REQUEST__INIT;

	q.name = (char *)name;
	q.has_force = force >= 0;
	q.force = force > 0;
	r.body_case = SLUBD__REQUEST__BODY_RECLAIM;
	r.reclaim = &q;
	send_req(&r);
}

static void reports(const char *name)
{
	Slubd__Request r = SLUBD__REQUEST__INIT;
	Slubd__ReportsRequest q = SLUBD__REPORTS_REQUEST__INIT;

	q.name = (char *)name;
	r.body_case = SLUBD__REQUEST__BODY_REPORTS;
	r.reports = &q;
	send_req(&r);
}

static void identify(uint32_t owner)
{
	Slubd__Request r = SLUBD__REQUEST__INIT;
	Slubd__IdentifyRequest q = SLUBD__IDENTIFY_REQUEST__INIT;

	q.owner = owner;
	r.body_case = SLUBD__REQUEST__BODY_IDENTIFY;
	r.identify = &q;
	send_req(&r);
}

static void shrink(const char *name)
{
	Slubd__Request r = SLUBD__REQUEST__INIT;
	Slubd__ShrinkRequest s = SLUBD__SHRINK_REQUEST__INIT;

	s.name = (char *)name;
	r.body_case = SLUBD__REQUEST__BODY_SHRINK;
	r.shrink = &s;
	send_req(&r);
}

static void validate(const char *name)
{
	Slubd__Request r = SLUBD__REQUEST__INIT;
	Slubd__ValidateRequest v = SLUBD__VALIDATE_REQUEST__INIT;

	v.name = (char *)name;
	r.body_case = SLUBD__REQUEST__BODY_VALIDATE;
	r.validate = &v;
	send_req(&r);
}

/* a cap < 0: absent (left as it is) */
static void set_limit(const char *name, int64_t max_objects, int64_t max_bytes)
{
	Slubd__Request r = SLUBD__REQUEST__INIT;
	Slubd__SetLimitRequest l = SLUBD__SET_LIMIT_REQUEST__INIT;

	l.name = (char *)name;
	l.has_max_objects = max_objects >= 0;
	l.max_objects = max_objects >= 0 ? (uint64_t)max_objects : 0;
	l.has_max_bytes = max_bytes >= 0;
	l.max_bytes = max_bytes >= 0 ? (uint64_t)max_bytes : 0;
	r.body_case = SLUBD__REQUEST__BODY_SET_LIMIT;
	r.set_limit = &l;
	send_req(&r);
}

static void raw(const void *p, size_t n)
{
	put(p, n);
}

static const char *dir;

static void end(const char *name)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(seed, 1, seed_len, f) != seed_len || fclose(f)) {
		fprintf(stderr, "make_corpus: %s: %s\n", path, strerror(errno));
		exit(1);
	}
	printf("%-28s %5zu bytes\n", name, seed_len);
}

int main(int argc, char **argv)
{
	dir = argc > 1 ? argv[1] : "tests/fuzz/corpus";

	begin(SEL_ROOT);
	hello();
	attach();
	end("hello_attach");

	begin(SEL_ROOT);
	hello();
	pool("a", 64);
	create("b", 100, 64, RED_ZONE | POISON | STORE_USER, 1, -1, 0);
	create("c:hw.align-1", 4000, 0, HWCACHE_ALIGN, 0, 0, 0);
	pool("big", 1 << 20);
	pool("a", 64);			/* opened again: created false */
	pool("a", 65);			/* EEXIST */
	pool("bad name", 64);		/* EINVAL */
	pool("", 64);
	pool("abcdefghijklmnopqrstuvwxyz0123456789", 64);
	pool("zero", 0);
	pool("huge", (1 << 20) + 1);
	create("align3", 64, 3, 0, -1, -1, 0);
	create("align8k", 64, 8192, 0, -1, -1, 0);
	create("flags", 64, 0, 0x1, -1, -1, 0);
	stats(NULL);
	end("create_pools");

	begin(SEL_ROOT);
	hello();
	create("kept", 128, 0, 0, -1, 1, 0);
	create("multi", 32, 0, 0, -1, 0, 5);
	destroy("multi", -1);
	destroy("kept", 0);		/* no reference of ours: nothing */
	destroy("kept", 1);		/* forced: slubd's own reference goes */
	stats("kept");			/* ENOENT */
	destroy("nothere", 1);
	destroy("kmalloc-64", 1);	/* EPERM */
	end("destroy_force");

	begin(SEL_ROOT);
	hello();
	pool("p", 48);
	destroy("p", -1);		/* our own reference: removed */
	destroy("p", -1);		/* ENOENT */
	pool("p", 48);
	create("p", 48, 0, 0, -1, -1, 3);
	destroy("p", 1);		/* ours first, even forced */
	stats("p");
	end("destroy_own");

	begin(SEL_ROOT);
	hello();
	stats(NULL);
	stats("kmalloc-64");
	stats("kmem_cache");
	stats("nope");
	end("stats");

	begin(SEL_ROOT);
	hello();
	pool("s", 256);
	shrink("s");
	shrink(NULL);
	shrink("missing");
	end("shrink");

	begin(SEL_ROOT);
	hello();
	pool("v", 24);
	validate(NULL);
	validate("v");
	validate("kmalloc-8");
	validate("missing");
	end("validate");

	begin(SEL_ROOT);
	hello_v(2, "future");
	attach();
	end("hello_wrong_version");

	begin(SEL_ROOT);
	attach();
	end("no_hello");

	begin(SEL_ALLOWED);
	hello();
	hello();
	end("hello_twice");

	begin(SEL_ROOT);
	hello_v(1, "bad\ttext");		/* not printable: the frame is refused */
	end("hello_bad_text");

	begin(SEL_ROOT);
	hello_v(1, "0123456789012345678901234567890123456789012345678901234567890123X");
	end("hello_long_client");	/* 65 bytes: refused */

	begin(SEL_OBJECTS);
	hello();
	create("a", 64, 0, RED_ZONE | POISON | STORE_USER, -1, -1, 0);
	create("b", 1 << 20, 4096, RED_ZONE, -1, -1, 0);
	create("c", 8, 0, 0, 1, -1, 0);
	create("d", 4000, 0, HWCACHE_ALIGN, -1, -1, 0);
	destroy("a", -1);		/* holds an object: stays, refcount 0 */
	stats("a");
	destroy("a", 1);		/* removal again: still busy */
	pool("a", 64);			/* another geometry: EEXIST */
	create("a", 64, 0, RED_ZONE | POISON | STORE_USER, -1, -1, 0);
	validate(NULL);
	shrink(NULL);
	stats(NULL);
	end("pools_with_objects");

	begin(SEL_ROOT | SEL_OTHER | SEL_KEPT | SEL_OBJECTS | SEL_FREE_LATE);
	hello();
	pool("x", 100);
	create("y", 33, 8, POISON, -1, 1, 0);
	create("bystander", 64, 0, 0, -1, -1, 2);
	destroy("bystander", 1);
	destroy("y", 1);
	validate(NULL);
	end("objects_after_hangup");

	begin(SEL_ROOT);
	hello();
	raw("\x00\x00\x00\x08\xff\xff\xff\xff\x12\x34\x56\x78", 12);
	end("garbage");

	begin(SEL_ROOT);
	hello();
	raw("\x00\x00\x00\x02\x08\x07", 6);	/* a Request with only an id */
	end("no_body");

	begin(SEL_ROOT);
	hello();
	raw("\x00\x01\x00\x00", 4);		/* 64 KiB: too large */
	raw("\x0a\x0b\x0c", 3);
	end("oversize_header");

	begin(SEL_ROOT);
	hello();
	raw("\x00\x00\x00\x00", 4);		/* empty frame */
	end("empty_frame");

	begin(SEL_ROOT);
	hello();
	pool("t", 8);
	raw("\x00\x00\x00\x40\x08\x01", 6);	/* announces 64 bytes, sends 2, hangs up */
	end("truncated");

	begin(SEL_REFUSED);
	hello();
	attach();
	pool("x", 64);
	stats(NULL);
	end("refused_uid");

	begin(SEL_ALLOWED | SEL_OTHER | SEL_KEPT);
	hello();
	destroy("bystander", 1);	/* EACCES: 7777's, and not ours */
	destroy("kept", 1);
	pool("bystander", 64);		/* opened: a reference of ours */
	destroy("bystander", 1);	/* ours goes */
	create("bystander", 64, 0, 0, -1, -1, 2);
	stats(NULL);
	end("other_client_allowed");

	begin(SEL_ROOT | SEL_OTHER | SEL_KEPT);
	hello();
	destroy("bystander", 1);	/* root: the other client's reference goes */
	destroy("kept", 1);		/* and slubd's own */
	stats(NULL);
	validate(NULL);
	end("other_client_root");

	begin(SEL_GROUP | SEL_LIMITS);
	hello();
	for (int i = 0; i < 5; i++) {
		char name[8];

		snprintf(name, sizeof(name), "l%d", i);
		pool(name, 16 + 8 * i);	/* the fifth is refused (max_refs 4) */
	}
	for (int i = 0; i < 6; i++) {
		char name[8];

		snprintf(name, sizeof(name), "k%d", i);
		create(name, 8, 0, 0, -1, 1, 0);	/* slubd's own: the fifth is refused (max_caches 8) */
	}
	create("l0", 16, 0, 0, -1, -1, 5);	/* above max_refs */
	create("l1", 24, 0, 0, -1, -1, 4);
	end("limits");

	/* per-pool caps: set, change one, remove; refusals; then a SetLimit with no cap */
	begin(SEL_ROOT | SEL_OBJECTS);
	hello();
	pool("capped", 64);
	set_limit("capped", 128, -1);
	set_limit("capped", -1, 1 << 20);
	stats("capped");
	set_limit("capped", 1, 100);		/* under one slab, under one page */
	pool("capped", 64);			/* opened again: its slab has room still */
	pool("qbig", 1 << 20);
	set_limit("qbig", 1, -1);
	for (int i = 0; i < 5; i++)
		pool("qbig", 1 << 20);		/* the client's allocation meets EDQUOT */
	set_limit("capped", 0, -1);
	set_limit("capped", -1, 0);
	set_limit("kmalloc-64", 10, 0);		/* EPERM: the arena's own */
	set_limit("missing", 10, 0);		/* ENOENT */
	set_limit("bad name", 10, 0);
	set_limit("capped", -1, -1);		/* the decoder refuses it: closed */
	stats(NULL);
	end("set_limit");

	/* lookups: an existing pool (with objects), twice; none; the arena's own; bad names */
	begin(SEL_ROOT | SEL_OTHER | SEL_OBJECTS);
	hello();
	lookup("bystander", -1, 0);
	create("found", 200, 64, RED_ZONE | STORE_USER, 0, -1, 0);
	lookup("found", -1, 0);
	lookup("found", 1, 7);			/* keep and refs ignored: one reference */
	destroy("found", -1);
	lookup("missing", -1, 0);		/* ENOENT */
	lookup("kmalloc-64", -1, 0);		/* ENOENT: the arena's own */
	lookup("", -1, 0);
	lookup("bad name", -1, 0);
	stats(NULL);
	end("lookup");

	/* someone else's pool: EPERM for an allowed uid, its own pool is fine */
	begin(SEL_ALLOWED | SEL_OTHER | SEL_KEPT);
	hello();
	set_limit("bystander", 10, 0);		/* uid 7777's */
	set_limit("kept", 0, 4096);
	pool("mine", 32);
	set_limit("mine", 64, 8192);
	stats(NULL);
	end("set_limit_other");

	/* reclaim: owners freed, a plain pool kept or forced, refusals */
	begin(SEL_ROOT | SEL_OTHER | SEL_KEPT | SEL_OBJECTS);
	hello();
	attach();
	create("ru", 64, 0, STORE_USER, -1, -1, 0);
	create("rp", 64, 0, 0, -1, -1, 0);
	reclaim("ru", -1);		/* our own reference: kept */
	reclaim("rp", 0);
	reclaim("rp", 1);		/* EBUSY: our reference is live */
	destroy("rp", -1);
	reclaim("rp", 1);		/* EBUSY: we opened it and are connected */
	reclaim("bystander", 1);	/* another client's live reference: EBUSY */
	reclaim("kept", -1);		/* slubd's own only, empty: removed */
	reclaim("kmalloc-64", 1);	/* EPERM */
	reclaim("missing", 0);		/* ENOENT */
	reclaim("bad name", 1);
	reports(NULL);
	end("reclaim");

	begin(SEL_ALLOWED | SEL_OTHER | SEL_KEPT);
	hello();
	reclaim("bystander", 1);	/* EACCES: uid 7777's */
	reclaim("kept", 0);
	end("reclaim_other");

	/* reports: the ring, whole or of one pool; a pool that never was */
	begin(SEL_ROOT | SEL_OBJECTS);
	hello();
	create("rr", 64, 0, POISON, -1, -1, 0);
	reports(NULL);
	reports("rr");
	reports("kmalloc-64");
	reports("missing");		/* ENOENT */
	reports("");
	reports("bad\x01name");
	end("reports");

	/* identify: before attach, ids of no slot, of no live process, slubd's own */
	begin(SEL_ROOT);
	hello();
	identify(0x401);		/* EPROTO: not attached */
	attach();
	identify(0);			/* EINVAL */
	identify(0x7fffffff);		/* OWNER_UNKNOWN: EINVAL */
	identify(0x401);		/* slubd's own slot: EPERM, or ESRCH */
	identify(0x1234567);		/* ESRCH */
	stats(NULL);
	end("identify");

	return 0;
}
