/*
 * t_api.c - what slub.h gives a C program beyond allocation: opening a pool
 * by name (kmem_cache_lookup), a pool's statistics (kmem_cache_stats), the
 * arena it attached to (slub_arena_info), slub_offset()/slub_ptr() inline,
 * and the kmalloc caches debugged with slubd's slab_debug.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "e2e.h"
#include "shm.h"
#include "slub.h"

/* the library's exported functions, whatever slub.h makes of the names */
extern uint64_t lib_slub_offset(const void *p) __asm__("slub_offset");
extern void *lib_slub_ptr(uint64_t offset) __asm__("slub_ptr");

/* ---- kmem_cache_lookup ---------------------------------------------------- */

struct look_shared {
	volatile int ready, done;
	uint64_t obj_off;
	int failed;
};

struct look_arg {
	const char *sock;
	struct look_shared *sh;
};

#define LOOK_POOL	"api.look"
#define LOOK_SIZE	200
#define LOOK_FLAGS	(SLAB_RED_ZONE | SLAB_STORE_USER)

/* the pool's creator: makes it, hands an object over by offset, waits */
static void look_creator(void *p)
{
	struct look_arg *a = p;
	struct kmem_cache *s;
	char *obj;

	REQUIRE(slub_attach(a->sock) == 0);
	s = kmem_cache_create(LOOK_POOL, LOOK_SIZE, 64, LOOK_FLAGS, NULL);
	REQUIRE(s != NULL);
	obj = kmem_cache_alloc(s, GFP_KERNEL);
	REQUIRE(obj != NULL);
	strcpy(obj, "made by the creator");
	a->sh->obj_off = slub_offset(obj);
	__atomic_store_n(&a->sh->ready, 1, __ATOMIC_RELEASE);
	for (uint64_t t0 = t_now_ms(); !__atomic_load_n(&a->sh->done, __ATOMIC_ACQUIRE) &&
	     t_now_ms() - t0 < (uint64_t)e2e_scale_ms(20000);)
		t_sleep_ms(10);
	kmem_cache_destroy(s);
	slub_detach();
}

/* a second process: knows the name only */
static void look_finder(void *p)
{
	struct look_arg *a = p;
	struct kmem_cache *s, *s2, *none;
	struct e2e_cache c;
	char *obj;

	REQUIRE(slub_attach(a->sock) == 0);
	s = kmem_cache_lookup(LOOK_POOL);
	CHECKF(s != NULL, "kmem_cache_lookup(" LOOK_POOL "): NULL (%s)", strerror(errno));
	REQUIRE(s != NULL);
	CHECK(kmem_cache_size(s) == LOOK_SIZE);
	/* the creator's object, by its offset, freed here */
	obj = slub_ptr(a->sh->obj_off);
	REQUIRE(obj != NULL);
	CHECK(!strcmp(obj, "made by the creator"));
	CHECK(kmem_cache_owner(s, obj) != 0);	/* STORE_USER kept: the geometry is the creator's */
	kmem_cache_free(s, obj);
	/* a reference, as kmem_cache_create's: the creator's and ours */
	CHECK(e2e_cache_stats(a->sock, LOOK_POOL, &c, NULL) == 1 && c.refcount == 2);
	s2 = kmem_cache_lookup(LOOK_POOL);
	CHECK(s2 == s);
	CHECK(e2e_cache_stats(a->sock, LOOK_POOL, &c, NULL) == 1 && c.refcount == 3);
	kmem_cache_destroy(s2);
	CHECK(e2e_cache_stats(a->sock, LOOK_POOL, &c, NULL) == 1 && c.refcount == 2);
	/* what is not there */
	errno = 0;
	none = kmem_cache_lookup("api.none");
	CHECKF(!none && errno == ENOENT, "lookup of no pool: %p, errno %d", (void *)none, errno);
	CHECK(e2e_cache_stats(a->sock, "api.none", NULL, NULL) == 0);	/* none made */
	errno = 0;
	none = kmem_cache_lookup("kmalloc-64");
	CHECKF(!none && errno == ENOENT, "lookup of kmalloc-64: %p, errno %d", (void *)none, errno);
	errno = 0;
	none = kmem_cache_lookup("bad name");
	CHECKF(!none && errno == EINVAL, "lookup of a bad name: %p, errno %d", (void *)none, errno);
	kmem_cache_destroy(s);
	CHECK(e2e_cache_stats(a->sock, LOOK_POOL, &c, NULL) == 1 && c.refcount == 1);
	slub_detach();
}

E2E_CASE(lookup_second_process)
{
	struct e2e_slubd *d;
	struct look_arg a;
	pid_t creator;

	errno = 0;
	CHECKF(!kmem_cache_lookup(LOOK_POOL) && errno == ENOTCONN, "lookup unattached: errno %d",
	       errno);
	d = e2e_start(NULL);
	REQUIRE(d != NULL);
	a.sock = d->sock;
	a.sh = t_shared(sizeof(*a.sh));
	REQUIRE(a.sh != NULL);
	creator = t_fork(look_creator, &a);
	for (uint64_t t0 = t_now_ms(); !__atomic_load_n(&a.sh->ready, __ATOMIC_ACQUIRE) &&
	     t_now_ms() - t0 < (uint64_t)e2e_scale_ms(10000);)
		t_sleep_ms(10);
	CHECK(a.sh->ready);
	if (a.sh->ready)
		t_wait(t_fork(look_finder, &a), "the process that looks the pool up");
	__atomic_store_n(&a.sh->done, 1, __ATOMIC_RELEASE);
	t_wait(creator, "the pool's creator");
	e2e_stop(d);
}

/* ---- kmem_cache_stats ------------------------------------------------------- */

E2E_CASE(stats_match_slubctl)
{
	static const struct { const char *key; size_t off; } fields[] = {
#define F(x) { #x, offsetof(struct kmem_cache_stats, x) }
		F(object_size), F(size), F(align), F(flags), F(pages_per_slab),
		F(active_objs), F(num_objs), F(active_slabs), F(num_slabs), F(alloc_fastpath),
		F(alloc_slowpath), F(free_fastpath), F(free_slowpath), F(errors), F(max_objects),
		F(max_bytes),
#undef F
	};
	struct kmem_cache_stats st;
	struct e2e_slubd *d;
	struct kmem_cache *s;
	void *objs[100];
	char *json = NULL;
	uint64_t v;

	CHECK(kmem_cache_stats(NULL, &st) == -ENOTCONN);
	d = e2e_start(NULL);
	REQUIRE(d != NULL);
	REQUIRE(slub_attach(d->sock) == 0);
	s = kmem_cache_create("api.stats", 100, 0, SLAB_HWCACHE_ALIGN, NULL);
	REQUIRE(s != NULL);
	CHECK(kmem_cache_set_limit(s, 5000, 0) == 0);
	for (int i = 0; i < 100; i++)
		REQUIRE((objs[i] = kmem_cache_alloc(s, GFP_KERNEL)) != NULL);
	for (int i = 0; i < 30; i++)
		kmem_cache_free(s, objs[i]);
	memset(&st, 0xff, sizeof(st));
	REQUIRE(kmem_cache_stats(s, &st) == 0);
	CHECK(st.version == SLUB_STATS_VERSION);
	CHECK(!strcmp(st.name, "api.stats"));
	CHECK(st.object_size == 100 && st.flags == SLAB_HWCACHE_ALIGN && st.max_objects == 5000);
	CHECKF(st.active_objs == 70, "active_objs %" PRIu64 ", want 70", st.active_objs);
	CHECK(st.refcount == 1 && st.objs_per_slab > 0);
	for (size_t i = 0; i < sizeof(st.reserved) / sizeof(st.reserved[0]); i++)
		CHECK(st.reserved[i] == 0);
	/* the same figures as slubctl's (nothing ran in between) */
	REQUIRE(e2e_slubctl(d, &json, "stats", "--json", NULL) == 0);
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		uint64_t mine = *(const uint64_t *)((const char *)&st + fields[i].off);

		CHECKF(e2e_json_cache_num(json, "api.stats", fields[i].key, &v) == 0 && v == mine,
		       "%s: kmem_cache_stats %" PRIu64 ", slubctl %" PRIu64, fields[i].key, mine, v);
	}
	CHECK(e2e_json_cache_num(json, "api.stats", "objs_per_slab", &v) == 0 &&
	      v == st.objs_per_slab);
	CHECK(e2e_json_cache_num(json, "api.stats", "refcount", &v) == 0 &&
	      (int64_t)v == st.refcount);
	free(json);
	CHECK(kmem_cache_stats(s, NULL) == -EINVAL);
	CHECK(kmem_cache_stats((struct kmem_cache *)objs[50], &st) == -EINVAL);
	for (int i = 30; i < 100; i++)
		kmem_cache_free(s, objs[i]);
	kmem_cache_destroy(s);
	slub_detach();
	e2e_stop(d);
}

/* ---- slub_arena_info ---------------------------------------------------------- */

E2E_CASE(arena_info_matches_slubctl)
{
	struct slub_arena_info ai;
	struct e2e_slubd *d;
	char *json = NULL, buf[128];
	uint64_t v;
	char *p;

	CHECK(slub_arena_info(&ai) == -ENOTCONN);
	d = e2e_start(NULL);
	REQUIRE(d != NULL);
	REQUIRE(slub_attach(d->sock) == 0);
	CHECK(slub_arena_info(NULL) == -EINVAL);
	REQUIRE(slub_arena_info(&ai) == 0);
	CHECK(ai.version == SLUB_ARENA_INFO_VERSION);
	REQUIRE(e2e_slubctl(d, &json, "stats", "--json", NULL) == 0);
	CHECK(e2e_json_obj_num(json, "arena", "size", &v) == 0 && v == ai.size);
	CHECK(e2e_json_obj_str(json, "arena", "backing", buf, sizeof(buf)) == 0);
	CHECKF(!strcmp(buf, ai.backing), "backing: slub_arena_info \"%s\", slubctl \"%s\"",
	       ai.backing, buf);
	CHECK(e2e_json_obj_str(json, "arena", "base", buf, sizeof(buf)) == 0);
	CHECKF(strtoull(buf, NULL, 16) == ai.map_base, "base: slub_arena_info %#" PRIx64
	       ", slubctl %s", ai.map_base, buf);
	CHECK(e2e_json_obj_str(json, "arena", "socket", buf, sizeof(buf)) == 0);
	CHECKF(!strcmp(buf, ai.socket), "socket: \"%s\" vs \"%s\"", ai.socket, buf);
	CHECK(e2e_json_obj_str(json, "arena", "name", buf, sizeof(buf)) == 0);
	CHECKF(!strcmp(buf, ai.arena), "name: \"%s\" vs \"%s\"", ai.arena, buf);
	free(json);
	CHECK(!strcmp(ai.socket, d->sock) && !strcmp(ai.arena, "default"));
	CHECK(ai.at_base == (ai.base == ai.map_base) && ai.arena_id != 0);
	/* base and size are where the arena is here */
	p = kmalloc(64, GFP_KERNEL);
	REQUIRE(p != NULL);
	CHECK((uint64_t)(uintptr_t)p > ai.base && (uint64_t)(uintptr_t)p < ai.base + ai.size);
	CHECK(slub_offset(p) == (uint64_t)(uintptr_t)p - ai.base);
	kfree(p);
	slub_detach();
	CHECK(slub_arena_info(&ai) == -ENOTCONN);
	e2e_stop(d);
}

/* ---- slub_offset / slub_ptr inline ---------------------------------------------- */

E2E_CASE(offset_ptr_inline)
{
	static const char *const exported[] = {
		"slub_offset", "slub_ptr", "kmem_cache_lookup", "kmem_cache_stats",
		"slub_arena_info",
	};
	struct e2e_slubd *d;
	struct kmem_cache *s;
	void *so, *obj;
	char *p;
	int local;
	uint64_t off;

	/* inline: the names here are not the library's functions */
	CHECK((uintptr_t)&slub_offset != (uintptr_t)&lib_slub_offset);
	CHECK((uintptr_t)&slub_ptr != (uintptr_t)&lib_slub_ptr);
	/* and the shared library still exports them, for programs linked before */
	so = dlopen(e2e_bin(NULL, "libslub.so"), RTLD_NOW | RTLD_LOCAL);
	CHECKF(so != NULL, "dlopen libslub.so: %s", dlerror());
	for (size_t i = 0; so && i < sizeof(exported) / sizeof(exported[0]); i++)
		CHECKF(dlsym(so, exported[i]) != NULL, "libslub.so exports no %s", exported[i]);
	if (so)
		dlclose(so);

	CHECK(slub_offset(&local) == 0 && slub_ptr(4096) == NULL);	/* not attached */
	d = e2e_start(NULL);
	REQUIRE(d != NULL);
	REQUIRE(slub_attach(d->sock) == 0);
	p = kmalloc(100, GFP_KERNEL);
	REQUIRE(p != NULL);
	off = slub_offset(p);
	CHECK(off != 0 && off == lib_slub_offset(p));
	CHECK(slub_ptr(off) == p && lib_slub_ptr(off) == p);
	CHECK(slub_offset(p + 99) == off + 99);
	CHECK(slub_offset(&local) == 0 && lib_slub_offset(&local) == 0);
	CHECK(slub_offset(NULL) == 0 && slub_ptr(0) == NULL && lib_slub_ptr(0) == NULL);
	CHECK(slub_ptr(UINT64_MAX) == NULL && lib_slub_ptr(UINT64_MAX) == NULL);
	/* a pool's handle lies outside the arena: its descriptor's offset, as the library says */
	s = kmem_cache_create("api.inline", 32, 0, 0, NULL);
	REQUIRE(s != NULL);
	CHECK(slub_offset(s) != 0 && slub_offset(s) == lib_slub_offset(s));
	obj = kmem_cache_alloc(s, GFP_KERNEL);
	CHECK(obj && slub_ptr(slub_offset(obj)) == obj);
	kmem_cache_free(s, obj);
	kmem_cache_destroy(s);
	kfree(p);
	slub_detach();
	CHECK(slub_offset(p) == 0 && slub_ptr(off) == NULL);
	e2e_stop(d);
}

/* ---- kmalloc debugging (slab_debug) ---------------------------------------------- */

struct seen {
	int n;
	struct slab_report r[8];
};

static void on_report(const struct slab_report *r, void *arg)
{
	struct seen *s = arg;

	if (s->n < 8)
		s->r[s->n] = *r;
	s->n++;
}

/* did a red zone report name kmalloc-64 and the object at off? */
static int reported(const struct seen *s, uint64_t off)
{
	for (int i = 0; i < s->n && i < 8; i++)
		if (s->r[i].kind == SLAB_ERR_REDZONE && !strcmp(s->r[i].cache_name, "kmalloc-64") &&
		    s->r[i].object == off)
			return 1;
	return 0;
}

/* kmalloc(50) written at byte at: (validate's errors for kmalloc-64, then kfree's reports) */
static char first_error[200];

static void write_past(const struct e2e_slubd *d, int at, struct seen *seen, uint64_t *errors,
		       uint64_t *off)
{
	struct e2e_validate v = { 0 };
	char *p = kmalloc(50, GFP_KERNEL);

	*errors = UINT64_MAX;
	REQUIRE(p != NULL);
	memset(p, 'a', 50);
	p[at] = 'x';
	*off = slub_offset(p);
	if (e2e_validate(d->sock, "kmalloc-64", &v) == 0)
		*errors = v.errors;
	snprintf(first_error, sizeof(first_error), "%s", v.first_error);
	seen->n = 0;
	kfree(p);
}

/* kmalloc(40), krealloc'ed in place to 56 bytes, written at byte at: the reports kfree made */
static int realloc_write(int at, struct seen *seen, uint64_t *off)
{
	char *p = kmalloc(40, GFP_KERNEL);

	if (!p || krealloc(p, 56, GFP_KERNEL) != p) {
		CHECK(!"kmalloc(40) and krealloc to 56 bytes in place");
		kfree(p);
		return -1;
	}
	p[at] = 'x';
	*off = slub_offset(p);
	seen->n = 0;
	kfree(p);
	return seen->n;
}

E2E_CASE(kmalloc_debug)
{
	struct e2e_opts o = { .config = "[arena]\nslab_debug = FZP,kmalloc-*\n" };
	struct e2e_slubd *d = e2e_start(&o);
	struct seen seen = { 0 };
	uint64_t errors, off;
	char *p;

	REQUIRE(d != NULL);
	CHECK(e2e_log_has(d, "slab_debug: kmalloc caches debugged: kmalloc-96 (red zone, poison)"));
	REQUIRE(slub_attach(d->sock) == 0);
	slab_set_report_fn(on_report, &seen);
	/* past the 50 bytes asked, inside the 64-byte class: seen */
	write_past(d, 60, &seen, &errors, &off);
	CHECKF(errors >= 1, "validate kmalloc-64 after a write at byte 60 of kmalloc(50): %" PRIu64
	       " errors", errors);
	{
		char want[96];

		snprintf(want, sizeof(want), "kmalloc-64: object %#" PRIx64 ": red zone overwritten "
			 "(a write past its 50 bytes)", off);
		CHECKF(strstr(first_error, want), "validate said \"%s\", want \"%s\"", first_error,
		       want);
	}
	CHECKF(reported(&seen, off), "kfree reported no red zone of kmalloc-64 at %#" PRIx64
	       " (%d reports)", off, seen.n);
	if (seen.n)
		CHECKF(strstr(seen.r[0].detail, "50 bytes"), "report: %s", seen.r[0].detail);
	/* past the class itself */
	write_past(d, 64, &seen, &errors, &off);
	CHECK(errors >= 1);
	CHECK(reported(&seen, off));
	/* ksize() gives the caller the whole class, as the kernel's does: no report */
	p = kmalloc(50, GFP_KERNEL);
	REQUIRE(p != NULL);
	CHECK(ksize(p) == 64);
	p[63] = 'x';
	seen.n = 0;
	kfree(p);
	CHECK(seen.n == 0);
	/* krealloc in place (40 to 56 bytes, both kmalloc-64) moves the red zone with the size */
	CHECK(realloc_write(55, &seen, &off) == 0);
	CHECK(realloc_write(56, &seen, &off) == 1 && reported(&seen, off));
	slab_set_report_fn(NULL, NULL);
	slub_detach();
	e2e_stop(d);
}

/* the same write with slab_debug off (the default): unseen, as documented */
E2E_CASE(kmalloc_debug_off)
{
	struct e2e_slubd *d = e2e_start(NULL);
	struct seen seen = { 0 };
	uint64_t errors, off;

	REQUIRE(d != NULL);
	REQUIRE(slub_attach(d->sock) == 0);
	slab_set_report_fn(on_report, &seen);
	write_past(d, 60, &seen, &errors, &off);
	CHECKF(errors == 0, "validate: %" PRIu64 " errors", errors);
	CHECK(seen.n == 0);
	slab_set_report_fn(NULL, NULL);
	slub_detach();
	e2e_stop(d);
}

/*
 * an arena adopted from before keeps its kmalloc caches: a slubd whose
 * slab_debug differs says so in its log, and the caches stay undebugged
 */
E2E_CASE(kmalloc_debug_adopted)
{
	char dir[96], conf[512];
	struct e2e_opts o = { .config = conf };
	struct e2e_slubd *d;
	struct seen seen = { 0 };
	uint64_t errors, off;

	REQUIRE(mkdtemp(e2e_tmp_template(dir, sizeof(dir), "t_api")) != NULL);
	snprintf(conf, sizeof(conf), "[arena]\nfile = %s/a.arena\n", dir);
	d = e2e_start(&o);
	REQUIRE(d != NULL);
	e2e_stop(d);
	snprintf(conf, sizeof(conf), "[arena]\nfile = %s/a.arena\nslab_debug = Z,kmalloc-64\n", dir);
	d = e2e_start(&o);
	if (d) {
		CHECKF(e2e_log_has(d, "adopted an existing arena") &&
		       e2e_log_has(d, "slab_debug: this arena was made before with other kmalloc caches "
			       "(kmalloc-64 has none, slab_debug asks red zone)"),
		       "the adopting slubd's log does not say its kmalloc caches differ");
		if (slub_attach(d->sock) == 0) {
			slab_set_report_fn(on_report, &seen);
			write_past(d, 60, &seen, &errors, &off);
			CHECK(errors == 0 && seen.n == 0);	/* kept as they were: undebugged */
			slab_set_report_fn(NULL, NULL);
			slub_detach();
		} else {
			CHECK(!"attach to the adopting slubd");
		}
		e2e_stop(d);
	}
	{
		char path[600];

		snprintf(path, sizeof(path), "%s/a.arena", dir);
		unlink(path);
		snprintf(path, sizeof(path), "%s/a.arena.lock", dir);
		unlink(path);
		CHECKF(rmdir(dir) == 0, "rmdir %s: %s", dir, strerror(errno));
	}
}

/* a bad slab_debug is refused at start, saying what was wrong */
E2E_CASE(kmalloc_debug_refused)
{
	static const struct { const char *arg, *says; } bad[] = {
		{ "XZ,kmalloc-64", "flag 'X'" },
		{ "Z,mypool", "\"mypool\" names no kmalloc cache" },
		{ "F", "F alone" },
		{ "Z,", "empty cache name" },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *argv[] = { (char *)e2e_need_bin("SLUBD", "slubd"), "--slab-debug",
				 (char *)bad[i].arg, NULL };
		char *out = NULL;
		int rc = e2e_run(argv, &out, e2e_scale_ms(5000));

		CHECKF(rc == 2 && out && strstr(out, bad[i].says), "slubd --slab-debug %s: exit %d: %s",
		       bad[i].arg, rc, out ? out : "");
		free(out);
	}
}

T_MAIN(T_CASE(lookup_second_process), T_CASE(stats_match_slubctl),
       T_CASE(arena_info_matches_slubctl), T_CASE(offset_ptr_inline), T_CASE(kmalloc_debug),
       T_CASE(kmalloc_debug_off), T_CASE(kmalloc_debug_adopted),
       T_CASE(kmalloc_debug_refused))
