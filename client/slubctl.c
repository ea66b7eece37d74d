/*
 * slubctl.c - the command-line tool of slubd: show the arena's caches, make,
 * remove, shrink and check pools, over slubd's control socket.
 *
 *   slubctl [-s SOCKET] stats [NAME] [--json]
 *   slubctl [-s SOCKET] create NAME SIZE [--align N] [--flags LIST]
 *                       [--max-objects N] [--max-bytes N]
 *   slubctl [-s SOCKET] destroy NAME
 *   slubctl [-s SOCKET] limit NAME [--objects N] [--bytes N]
 *   slubctl [-s SOCKET] shrink [NAME]
 *   slubctl [-s SOCKET] validate [NAME]
 *   slubctl [-s SOCKET] reclaim NAME [--force]
 *   slubctl [-s SOCKET] reports [NAME] [--json]
 *
 * Exit status: 0 success; 1 a negative answer (slubd answered an error,
 * destroy removed nothing, or validate found the arena inconsistent); 2 a
 * usage error (nothing sent); 3 slubd cannot be reached (or the connection to
 * it failed, or it answered something slubctl cannot understand).
 *
 * A new command: a run_NAME function and a line in commands[] (its options,
 * its positionals, and CMD_* for the checks parse_command makes); a pool's
 * name is checked by the engine's own rules (shm/names.c), and slubd's
 * reason is printed by call() as slubd gives it.
 *
 * Arguments are parsed in two passes: the options before the command word
 * (only -s and -h), then the command's own arguments and options, in any
 * order, with "--" ending options.  Nothing is sent before every argument
 * has been checked, so a usage error never touches slubd.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>

#include "ctl.h"
#include "shm.h"		/* names.c: the limits and flag names of a pool */

#define EXIT_NEGATIVE	1
#define EXIT_USAGE	2
#define EXIT_UNREACHABLE 3

#define SOCKET_PATH_BUF	4096	/* a socket path and then some (sun_path holds 108) */

enum {
	OPT_JSON = 0x100,
	OPT_FORCE,
	OPT_ALIGN,
	OPT_FLAGS,
	OPT_OBJECTS,
	OPT_BYTES,
};

struct args {
	const char *socket;		/* -s, else NULL: ctl_target() */
	const char *arena;		/* --arena, else NULL */
	const char *pos[2];		/* positional arguments */
	int npos;
	bool json;
	bool force;			/* reclaim --force */
	bool has_align, has_flags;
	uint64_t align, flags;
	uint64_t size;
	bool has_max_objects, has_max_bytes;	/* limit --objects/--bytes, create --max-* */
	uint64_t max_objects, max_bytes;
};

struct command;
typedef int (*run_fn)(const struct command *cmd, struct args *a, struct ctl_conn *c);

struct command {
	const char *name;
	const char *synopsis;
	int min_pos, max_pos;
	const char *missing[2];		/* what the missing positional is called */
	const struct option *longopts;
	run_fn run;
	unsigned int how;		/* CMD_*: what parse_command checks besides */
};
#define CMD_SIZE_ARG	1u		/* the second positional is a SIZE, not a name */
#define CMD_OWN_POOL	2u		/* changes a pool: the arena's own caches' names refused */
#define CMD_NEEDS_CAP	4u		/* --objects and/or --bytes required */

static struct ctl_target target;	/* where slubctl connects (-s, --arena, environment) */

/* ---- usage ---- */

static const char *const short_usage =
	"usage: slubctl [-s SOCKET | --arena NAME] stats [NAME] [--json]\n"
	"       slubctl [-s SOCKET | --arena NAME] create NAME SIZE [--align N] [--flags FLAG[,FLAG...]]\n"
	"                                          [--max-objects N] [--max-bytes N]\n"
	"       slubctl [-s SOCKET | --arena NAME] destroy NAME\n"
	"       slubctl [-s SOCKET | --arena NAME] limit NAME [--objects N] [--bytes N]\n"
	"       slubctl [-s SOCKET | --arena NAME] shrink [NAME]\n"
	"       slubctl [-s SOCKET | --arena NAME] validate [NAME]\n"
	"       slubctl [-s SOCKET | --arena NAME] reclaim NAME [--force]\n"
	"       slubctl [-s SOCKET | --arena NAME] reports [NAME] [--json]\n"
	"       slubctl --help | --version\n";

static void full_usage(FILE *f)
{
	char dflt[SOCKET_PATH_BUF];

	fprintf(f,
"usage: slubctl [-s SOCKET | --arena NAME] COMMAND [ARGUMENTS] [OPTIONS]\n"
"\n"
"slubctl talks to slubd, the daemon that runs the Linux kernel's SLUB allocator\n"
"over a shared-memory arena, through its control socket.\n"
"\n"
"Commands:\n"
"  stats [NAME] [--json]\n"
"      Show the arena (size, bytes in use, backing, base address) and a table\n"
"      with /proc/slabinfo's columns (name, active_objs, num_objs, objsize,\n"
"      objperslab, pagesperslab, active_slabs, num_slabs) and the fast/slow\n"
"      path counters (alloc_fastpath, alloc_slowpath, free_fastpath,\n"
"      free_slowpath) of the cache NAME, or of every cache: the pools first,\n"
"      then the arena's own caches (kmem_cache, kmem_cache_node, kmalloc-*).\n"
"      objsize is the slot an object takes in its slab, with its metadata.\n"
"      The flags of caches that have some (by name) and the caps of pools that\n"
"      have one (slubctl limit) follow the table.  clients: the programs and\n"
"      slubctl runs connected to slubd, this slubctl not counted.\n"
"      --json    print JSON instead of the table:\n"
"                {\"arena\":{\"size\":N,\"used\":N,\"backing\":\"memfd\"|\"tmpfs file PATH\"...,\n"
"                 \"base\":\"0x...\",\"clients\":N},\n"
"                 \"caches\":[{\"name\":\"...\",\"object_size\":N,\"size\":N,\n"
"                 \"objs_per_slab\":N,\"pages_per_slab\":N,\"active_objs\":N,\n"
"                 \"num_objs\":N,\"active_slabs\":N,\"num_slabs\":N,\"refcount\":N,\n"
"                 \"alloc_fastpath\":N,\"alloc_slowpath\":N,\"free_fastpath\":N,\n"
"                 \"free_slowpath\":N, every other path counter (\"free_frozen\":N\n"
"                 ... \"cpu_partial_drain\":N), \"nr_partial\":N,\n"
"                 \"align\":N,\"flags\":N,\"flag_names\":[\"...\"],\n"
"                 \"errors\":N,\n"
"                 \"system\":true|false,\"max_objects\":N,\"max_bytes\":N}]}\n"
"                (\"flags\" is the SLAB_* bits, \"flag_names\" the same by name;\n"
"                \"clients\", \"align\", \"flags\", \"errors\", \"system\",\n"
"                \"max_objects\" and \"max_bytes\" (0: no cap) when slubd reports\n"
"                them; more keys may be added).\n"
"\n"
"  create NAME SIZE [--align N] [--flags FLAG[,FLAG...]] [--max-objects N]\n"
"         [--max-bytes N]\n"
"      Create the pool NAME of objects of SIZE bytes, or open it when a pool of\n"
"      that name and geometry exists; print which, and the offset of the\n"
"      pool's descriptor in the arena.\n"
"      NAME: 1 to %u bytes of A-Z a-z 0-9 . _ : -, not kmem_cache,\n"
"      kmem_cache_node nor kmalloc-* (the arena's own); SIZE: 1 to %u bytes.\n"
"      --align N      align objects to N bytes (0 or a power of two up to %u)\n"
"      --flags LIST   comma-separated names (any case, SLAB_ prefix and - allowed),\n"
"                     none, or numbers (SLAB_* bits):\n",
		SLUB_NAME_MAX, SLUB_MAX_OBJECT_SIZE, SLUB_MAX_ALIGN);
	for (const struct slab_flag_name *fl = slab_flag_names; fl->name; fl++)
		fprintf(f, "                       %-14s %s\n", fl->name, fl->what);
	fprintf(f,
"      --max-objects N, --max-bytes N\n"
"                     then cap the pool, as slubctl limit does\n"
"      The reference that create takes is slubd's own, not slubctl's: the\n"
"      pool stays after slubctl exits, until slubctl destroy removes it.\n"
"\n"
"  destroy NAME\n"
"      Remove the pool NAME: drop every reference to it, slubd's (create's)\n"
"      and every program's; only its creator's uid or root may.  A pool that\n"
"      still holds objects is not removed: slubctl says what holds it and\n"
"      exits 1; once they are freed, destroy removes it.\n"
"\n"
"  limit NAME [--objects N] [--bytes N]\n"
"      Cap the pool NAME at N objects and at N bytes of slab memory, for every\n"
"      process that uses it; 0 removes a cap, a cap not given stays as it is.\n"
"      Caps count whole slabs: an allocation that needs one more slab past a\n"
"      cap fails (EDQUOT), so the pool's slabs never grow past the caps.\n"
"      A cap below what the pool holds frees nothing: the pool stops growing.\n"
"      Only the pool's creator's uid or root may.  Caps live in the arena:\n"
"      they survive a restart of slubd.  Prints the caps in force.\n"
"\n"
"  shrink [NAME]\n"
"      Give the CPU slabs and the empty slabs of NAME (or of every cache)\n"
"      back to the arena, and show the arena's use before and after.\n"
"\n"
"  validate [NAME]\n"
"      Check the allocator's structures of NAME (or of the whole arena) and\n"
"      print what was checked: caches, slabs, objects, allocated, free,\n"
"      errors, and the first error found.  Exit 0 when consistent, 1 when not.\n"
"      reported: the reports processes made against them (the errors stats\n"
"      shows; slubctl reports lists them); any makes the exit status 1 too.\n"
"\n"
"  reclaim NAME [--force]\n"
"      Free, in the pool NAME made with store_user (or reclaim_dead), the\n"
"      objects whose owner process is dead; then remove the pool if no live\n"
"      program references it and it holds no objects.  Objects of live\n"
"      processes are never freed.  A pool without store_user keeps no owners:\n"
"      nothing is freed, it goes only if empty.  Only its creator's uid or root.\n"
"      --force   in any pool: discard every object and remove the pool, if no\n"
"                live program references it, none still connected opened it,\n"
"                and every live process using the arena is connected to slubd;\n"
"                else refuse, discarding nothing, and say who keeps it.\n"
"\n"
"  reports [NAME] [--json]\n"
"      The arena's last misuse and corruption reports (double free, bad\n"
"      pointer, red zone, a dead process's objects...), oldest first: time,\n"
"      kind, pool, offset of the object in the arena, the pid that met it, and\n"
"      what it said; of the pool NAME only when given.\n"
"\n"
"  help\n"
"      This text.\n"
"\n"
"Options:\n"
"  -s, --socket SOCKET  slubd's control socket.  Default: $SLUBD_SOCKET; else\n"
"                       for root %s/%s; else\n"
"                       $XDG_RUNTIME_DIR/slubd/%s; else\n"
"                       /tmp/slubd-UID/%s\n"
"                       (here and now: %s)\n"
"      --arena NAME     the arena NAME (an [arena NAME] section of slubd's\n"
"                       config): NAME.sock in the default socket's directory\n"
"                       (that of $SLUBD_SOCKET if set).  Default: $SLUBD_ARENA\n"
"                       when set and $SLUBD_SOCKET is not; else the default arena.\n"
"                       \"default\" is the default arena.\n"
"  A socket in the built-in directory is used only if that directory is no\n"
"  link, belongs to root, you or slubd's user and only its owner may write\n"
"  there; any socket, only if slubd runs as root, you, or slubd's user\n"
"  ($SLUBD_DAEMON_UID, else the user slubd).\n"
"  -h, --help           This text.\n"
"      --version        slubctl's version and the control protocol's, then exit.\n"
"  -s and -h may come before the command; every option may follow it, in any\n"
"  order with its arguments.  \"--\" ends the options.\n"
"\n"
"Numbers (SIZE, --align, --bytes, --max-bytes): bytes in decimal or 0x\n"
"hexadecimal, optionally with a K, M or G suffix (KiB, MiB, GiB: powers of\n"
"1024).  --objects and --max-objects: a plain count.\n"
"\n"
"Exit status:\n"
"  0  success\n"
"  1  a negative answer: slubd refused or failed (its reason is printed as it\n"
"     gave it), destroy removed nothing, or validate found errors\n"
"  2  a usage error (unknown command or option, missing argument, a bad\n"
"     number, name, size, align or flag: the limit is named); nothing is sent\n"
"  3  slubd cannot be reached (no socket, connection refused, version\n"
"     refused) or the connection to it failed\n",
		SLUBD_RUN_DIR, SLUBD_SOCKET_NAME, SLUBD_SOCKET_NAME, SLUBD_SOCKET_NAME,
		ctl_default_socket(dflt, sizeof(dflt)));
}

static int usage_error(const struct command *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* a sentence (or none, when getopt already said it), the usage line, exit 2 */
static int usage_error(const struct command *cmd, const char *fmt, ...)
{
	if (fmt) {
		va_list ap;

		fprintf(stderr, "slubctl: ");
		if (cmd)
			fprintf(stderr, "%s: ", cmd->name);
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
		fputc('\n', stderr);
	}
	if (cmd)
		fprintf(stderr, "usage: slubctl [-s SOCKET | --arena NAME] %s\n", cmd->synopsis);
	else
		fputs(short_usage, stderr);
	fputs("Try 'slubctl --help' for more information.\n", stderr);
	return EXIT_USAGE;
}

/* ---- argument checks ---- */

/* numbers and sizes: the one parser (shm/names.c), as slubd reads its own */
static int parse_num(const char *s, bool suffix_ok, uint64_t *out)
{
	return slab_number_parse(s, suffix_ok, out) ? -1 : 0;
}

static int parse_size(const char *s, uint64_t *out)
{
	return parse_num(s, true, out);
}

/* --flags: the engine's own parser (shm/names.c): names, numbers, "none" */
static int parse_flags(const struct command *cmd, const char *s, uint64_t *out)
{
	char why[256];

	if (slab_flags_parse(s, out, why, sizeof(why)))
		return usage_error(cmd, "--flags: %s", why);
	return 0;
}

/*
 * a pool's name as the engine checks it (shm/names.c); reserved_too: the
 * arena's own caches' names too (create, destroy and limit refuse them)
 */
static int check_name(const struct command *cmd, const char *name, bool reserved_too)
{
	char why[256];

	if (slab_name_check(name, why, sizeof(why)))
		return usage_error(cmd, "%s", why);
	if (reserved_too && slab_name_reserved(name))
		return usage_error(cmd, "'%s' is reserved: kmem_cache, kmem_cache_node and kmalloc-* "
				   "are the arena's own caches, %s", name, cmd->how & CMD_SIZE_ARG ?
				   "no pool may take their names" : "never destroyed nor capped");
	return 0;
}

/* ---- talking to slubd ---- */

static const char *body_name(Slubd__Response__BodyCase b)
{
	switch (b) {
	case SLUBD__RESPONSE__BODY__NOT_SET: return "none";
	case SLUBD__RESPONSE__BODY_HELLO: return "hello";
	case SLUBD__RESPONSE__BODY_ATTACH: return "attach";
	case SLUBD__RESPONSE__BODY_CREATE: return "create";
	case SLUBD__RESPONSE__BODY_DESTROY: return "destroy";
	case SLUBD__RESPONSE__BODY_STATS: return "stats";
	case SLUBD__RESPONSE__BODY_VALIDATE: return "validate";
	case SLUBD__RESPONSE__BODY_RECLAIM: return "reclaim";
	case SLUBD__RESPONSE__BODY_REPORTS: return "reports";
	default: return "unknown";
	}
}

/* the first word of slubd's error text is the request's name ("set_limit" for limit) */
static bool names_request(const char *error, const char *cmd)
{
	size_t n = strcspn(error, " :");
	const char *w = strstr(error, cmd);

	return w && (size_t)(w - error) + strlen(cmd) <= n;
}

/*
 * call - send req, wait for the response and check it: the connection
 * worked (else 3), slubd answered no error (else 1, the response kept in
 * *out when keep_on_err and its body is the expected one), the body is the
 * one expected (else 3).  0 with *out set on success.
 */
static int call(const struct command *cmd, struct ctl_conn *c, Slubd__Request *req,
		Slubd__Response__BodyCase want, Slubd__Response **out, bool keep_on_err)
{
	Slubd__Response *r;
	char err[512];
	int rc;

	*out = NULL;
	rc = ctl_call(c, req, &r, NULL, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "slubctl: %s: %s\n", cmd->name, err);
		return EXIT_UNREACHABLE;
	}
	if (r->has_err && r->err != 0) {
		int e = r->err < 0 ? -r->err : r->err;

		/*
		 * slubd's reason, verbatim and once: it names the request and the
		 * pool ("stats x: no such pool", "set_limit x: ..."), else ("busy:
		 * ...") the command goes before it
		 */
		if (r->error && *r->error && names_request(r->error, cmd->name))
			fprintf(stderr, "slubctl: %s\n", r->error);
		else if (r->error && *r->error)
			fprintf(stderr, "slubctl: %s: %s\n", cmd->name, r->error);
		else
			fprintf(stderr, "slubctl: %s: slubd refused: %s\n", cmd->name, strerror(e));
		if (keep_on_err && r->body_case == want)
			*out = r;
		else
			slubd__response__free_unpacked(r, NULL);
		return EXIT_NEGATIVE;
	}
	if (r->body_case != want) {
		fprintf(stderr, "slubctl: %s: slubd answered with a reply of another kind (%s, "
			"expected %s)\n", cmd->name, body_name(r->body_case), body_name(want));
		slubd__response__free_unpacked(r, NULL);
		return EXIT_UNREACHABLE;
	}
	/* protobuf-c checks required fields, but a missing sub-message is still NULL */
	if (want != SLUBD__RESPONSE__BODY__NOT_SET && !r->stats) {
		fprintf(stderr, "slubctl: %s: slubd answered with an empty reply\n", cmd->name);
		slubd__response__free_unpacked(r, NULL);
		return EXIT_UNREACHABLE;
	}
	*out = r;
	return 0;
}

/* "64.0 MiB" */
static const char *human(uint64_t n, char *buf, size_t len)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
	double v = (double)n;
	unsigned u = 0;

	while (v >= 1024 && u + 1 < sizeof(unit) / sizeof(unit[0])) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%" PRIu64 " B", n);
	else
		snprintf(buf, len, "%.1f %s", v, unit[u]);
	return buf;
}

/* ---- stats ---- */

static Slubd__StatsReply *get_stats(const struct command *cmd, struct ctl_conn *c,
				    const char *name, Slubd__Response **resp, int *rc)
{
	Slubd__Request req = SLUBD__REQUEST__INIT;
	Slubd__StatsRequest sr = SLUBD__STATS_REQUEST__INIT;

	sr.name = (char *)name;
	req.body_case = SLUBD__REQUEST__BODY_STATS;
	req.stats = &sr;
	*rc = call(cmd, c, &req, SLUBD__RESPONSE__BODY_STATS, resp, false);
	return *rc ? NULL : (*resp)->stats;
}


/* the caches in the order shown: pools first, then the arena's own caches */
static Slubd__CacheStats **ordered_caches(const Slubd__StatsReply *st)
{
	Slubd__CacheStats **v = calloc(st->n_caches + 1, sizeof(*v));
	size_t n = 0;

	if (!v) {
		fprintf(stderr, "slubctl: out of memory\n");
		exit(EXIT_NEGATIVE);
	}
	for (int sys = 0; sys <= 1; sys++)
		for (size_t i = 0; i < st->n_caches; i++)
			if ((st->caches[i]->has_system && st->caches[i]->system) == sys)
				v[n++] = st->caches[i];
	return v;
}

/*
 * the table's columns: /proc/slabinfo's, then the path counters stats_list.h
 * marks shown (the JSON has every counter)
 */
#define STAT_COL(e, name, shown) COL_STAT_##e,
enum { COL_NAME, COL_ACTIVE_OBJS, COL_NUM_OBJS, COL_OBJSIZE, COL_OBJPERSLAB,
       COL_PAGESPERSLAB, COL_ACTIVE_SLABS, COL_NUM_SLABS, SLAB_STAT_LIST(STAT_COL) NR_COLS };
#undef STAT_COL

#define STAT_TITLE(e, name, shown) [COL_STAT_##e] = shown ? #name : NULL,
static const char *const col_title[NR_COLS] = {
	"name", "active_objs", "num_objs", "objsize", "objperslab", "pagesperslab",
	"active_slabs", "num_slabs", SLAB_STAT_LIST(STAT_TITLE)
};
#undef STAT_TITLE

static uint64_t col_value(const Slubd__CacheStats *cs, int col)
{
	switch (col) {
	case COL_ACTIVE_OBJS: return cs->active_objs;
	case COL_NUM_OBJS: return cs->num_objs;
	case COL_OBJSIZE: return cs->size;	/* as the kernel's: the slot, metadata included */
	case COL_OBJPERSLAB: return cs->objs_per_slab;
	case COL_PAGESPERSLAB: return cs->pages_per_slab;
	case COL_ACTIVE_SLABS: return cs->active_slabs;
	case COL_NUM_SLABS: return cs->num_slabs;
#define STAT_VALUE(e, name, shown) case COL_STAT_##e: return cs->name;
	SLAB_STAT_LIST(STAT_VALUE)
#undef STAT_VALUE
	default: return 0;
	}
}

static bool capped(const Slubd__CacheStats *cs)
{
	return (cs->has_max_objects && cs->max_objects) || (cs->has_max_bytes && cs->max_bytes);
}

/* "1000" or "none" */
static const char *cap_text(bool has, uint64_t cap, char *buf, size_t len)
{
	if (!has || !cap)
		return "none";
	snprintf(buf, len, "%" PRIu64, cap);
	return buf;
}

/* "1048576 (1.0 MiB)" or "none" */
static const char *cap_bytes_text(bool has, uint64_t cap, char *buf, size_t len)
{
	char h[32];

	if (!has || !cap)
		return "none";
	snprintf(buf, len, "%" PRIu64 " (%s)", cap, human(cap, h, sizeof(h)));
	return buf;
}

/* the caps of the pools that have one, under the table: one line each */
static void print_caps(Slubd__CacheStats **v)
{
	int w = 0;

	for (size_t i = 0; v[i]; i++)
		if (capped(v[i]) && (int)strlen(v[i]->name) > w)
			w = (int)strlen(v[i]->name);
	if (!w)
		return;
	printf("\ncaps (slubctl limit; objects and bytes count whole slabs):\n");
	for (size_t i = 0; v[i]; i++) {
		const Slubd__CacheStats *cs = v[i];
		char o[32], b[64];

		if (!capped(cs))
			continue;
		printf("  %-*s  max_objects %s, max_bytes %s; num_objs %" PRIu64 "%s\n", w, cs->name,
		       cap_text(cs->has_max_objects, cs->max_objects, o, sizeof(o)),
		       cap_bytes_text(cs->has_max_bytes, cs->max_bytes, b, sizeof(b)), cs->num_objs,
		       cs->has_max_objects && cs->max_objects && cs->num_objs >= cs->max_objects ?
		       " (at its cap)" : "");
	}
}

/* the flags of the caches that have some, by name, under the table: one line each */
static void print_flags(Slubd__CacheStats **v)
{
	int w = 0;

	for (size_t i = 0; v[i]; i++)
		if (v[i]->has_flags && v[i]->flags && (int)strlen(v[i]->name) > w)
			w = (int)strlen(v[i]->name);
	if (!w)
		return;
	printf("\nflags:\n");
	for (size_t i = 0; v[i]; i++) {
		char fl[160];

		if (v[i]->has_flags && v[i]->flags)
			printf("  %-*s  %s\n", w, v[i]->name,
			       slab_flags_format(v[i]->flags, fl, sizeof(fl)));
	}
}

static void print_table(const Slubd__StatsReply *st, Slubd__CacheStats **v)
{
	int width[NR_COLS];
	char h1[32], h2[32];

	/* which arena this is: named by --arena or $SLUBD_ARENA, else guessed from -s's file name */
	if (target.name_from == CTL_NAME_GIVEN)
		printf("arena:         %s (socket %s)\n", target.arena[0] ? target.arena : "default",
		       target.path);
	else if (target.name_from == CTL_NAME_FROM_FILE)
		printf("arena:         %s (by its socket's name: %s)\n",
		       target.arena[0] ? target.arena : "default", target.path);
	else
		printf("arena:         (socket %s)\n", target.path);
	printf("arena size:    %" PRIu64 " (%s)\n", st->arena_size, human(st->arena_size, h1, sizeof(h1)));
	printf("arena used:    %" PRIu64 " (%s, %.1f%%)\n", st->arena_used,
	       human(st->arena_used, h2, sizeof(h2)),
	       st->arena_size ? 100.0 * (double)st->arena_used / (double)st->arena_size : 0.0);
	printf("arena backing: %s\n", st->backing ? st->backing : "?");
	printf("arena base:    0x%" PRIx64 "\n", st->map_base);
	if (st->has_clients)
		printf("clients:       %" PRIu32 "\n", st->clients);
	putchar('\n');

	for (int c = 0; c < NR_COLS; c++)
		width[c] = col_title[c] ? (int)strlen(col_title[c]) : 0;
	for (size_t i = 0; v[i]; i++) {
		int n = (int)strlen(v[i]->name);

		if (n > width[COL_NAME])
			width[COL_NAME] = n;
		for (int c = 1; c < NR_COLS; c++) {
			n = snprintf(h1, sizeof(h1), "%" PRIu64, col_value(v[i], c));
			if (n > width[c])
				width[c] = n;
		}
	}
	printf("%-*s", width[COL_NAME], col_title[COL_NAME]);
	for (int c = 1; c < NR_COLS; c++)
		if (col_title[c])
			printf(" %*s", width[c], col_title[c]);
	putchar('\n');
	for (size_t i = 0; v[i]; i++) {
		printf("%-*s", width[COL_NAME], v[i]->name);
		for (int c = 1; c < NR_COLS; c++)
			if (col_title[c])
				printf(" %*" PRIu64, width[c], col_value(v[i], c));
		putchar('\n');
	}
	for (size_t i = 0; v[i]; i++)
		if (v[i]->has_errors && v[i]->errors)
			printf("\n%s: %" PRIu64 " error%s reported against this cache "
			       "(slubctl reports %s)\n", v[i]->name, v[i]->errors,
			       v[i]->errors == 1 ? "" : "s", v[i]->name);
	print_flags(v);
	print_caps(v);
}

/* a JSON string even of bytes that are not UTF-8 (those become '?') */
static json_t *json_text(const char *s)
{
	json_t *j = json_string(s ? s : "");
	char *copy;

	if (j || !s)
		return j;
	copy = strdup(s);
	if (!copy)
		return NULL;
	for (char *p = copy; *p; p++)
		if ((unsigned char)*p >= 0x80)
			*p = '?';
	j = json_string(copy);
	free(copy);
	return j;
}

#define JI(v) ((json_int_t)(v))

static json_t *stats_json(const Slubd__StatsReply *st, Slubd__CacheStats **v)
{
	json_t *root, *arena, *caches;
	char base[32];

	snprintf(base, sizeof(base), "0x%" PRIx64, st->map_base);
	arena = json_pack("{s:I, s:I, s:o, s:s}",
			  "size", JI(st->arena_size), "used", JI(st->arena_used),
			  "backing", json_text(st->backing), "base", base);
	if (!arena)
		return NULL;
	if (json_object_set_new(arena, "name", target.name_from == CTL_NAME_UNKNOWN ? json_null() :
				json_string(target.arena[0] ? target.arena : "default")) ||
	    json_object_set_new(arena, "socket", json_text(target.path)) ||
	    (st->has_clients && json_object_set_new(arena, "clients", json_integer(st->clients)))) {
		json_decref(arena);
		return NULL;
	}
	caches = json_array();
	root = json_pack("{s:o, s:o}", "arena", arena, "caches", caches);
	if (!root)
		return NULL;	/* "o" steals both references, even on failure */
	for (size_t i = 0; v[i]; i++) {
		const Slubd__CacheStats *cs = v[i];
		json_t *o = json_pack("{s:o, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:i}",
				      "name", json_text(cs->name),
				      "object_size", JI(cs->object_size),
				      "size", JI(cs->size),
				      "objs_per_slab", JI(cs->objs_per_slab),
				      "pages_per_slab", JI(cs->pages_per_slab),
				      "active_objs", JI(cs->active_objs),
				      "num_objs", JI(cs->num_objs),
				      "active_slabs", JI(cs->active_slabs),
				      "num_slabs", JI(cs->num_slabs),
				      "refcount", (int)cs->refcount);
		int bad = !o;

		/* every counter of stats_list.h that slubd sent, by its name */
#define STAT_JSON(e, name, shown) \
		if (o && cs->has_##name) \
			bad |= json_object_set_new(o, #name, json_integer(JI(cs->name)));
		SLAB_STAT_LIST(STAT_JSON)
#undef STAT_JSON
		if (o && cs->has_nr_partial)
			bad |= json_object_set_new(o, "nr_partial", json_integer(JI(cs->nr_partial)));

		if (o && cs->has_align)
			bad |= json_object_set_new(o, "align", json_integer(JI(cs->align)));
		if (o && cs->has_flags) {
			/* the number for scripts that test bits, the names for people */
			json_t *names = json_array();

			bad |= json_object_set_new(o, "flags", json_integer(JI(cs->flags)));
			bad |= !names;
			for (const struct slab_flag_name *f = slab_flag_names; names && f->name; f++)
				if (cs->flags & f->value)
					bad |= json_array_append_new(names, json_string(f->name));
			if (names)
				bad |= json_object_set_new(o, "flag_names", names);
		}
		if (o && cs->has_errors)
			bad |= json_object_set_new(o, "errors", json_integer(JI(cs->errors)));
		if (o)
			bad |= json_object_set_new(o, "system",
						   json_boolean(cs->has_system && cs->system));
		if (o && cs->has_max_objects)
			bad |= json_object_set_new(o, "max_objects", json_integer(JI(cs->max_objects)));
		if (o && cs->has_max_bytes)
			bad |= json_object_set_new(o, "max_bytes", json_integer(JI(cs->max_bytes)));
		if (bad || json_array_append_new(caches, o)) {
			if (!bad)
				o = NULL;	/* append_new freed it */
			json_decref(o);
			json_decref(root);
			return NULL;
		}
	}
	return root;
}

static int run_stats(const struct command *cmd, struct args *a, struct ctl_conn *c)
{
	Slubd__Response *resp;
	Slubd__StatsReply *st;
	Slubd__CacheStats **v;
	int rc;

	st = get_stats(cmd, c, a->npos ? a->pos[0] : NULL, &resp, &rc);
	if (!st)
		return rc;
	v = ordered_caches(st);
	if (a->json) {
		json_t *root = stats_json(st, v);

		if (!root) {
			fprintf(stderr, "slubctl: stats: cannot build the JSON document (out of memory)\n");
			rc = EXIT_NEGATIVE;
		} else {
			if (json_dumpf(root, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER) == 0)
				putchar('\n');
			json_decref(root);
		}
	} else {
		print_table(st, v);
	}
	free(v);
	slubd__response__free_unpacked(resp, NULL);
	return rc;
}

/* ---- create, destroy ---- */

/* ---- limit ---- */

/* send SetLimit for name with the caps given in a: 0 or an exit code */
static int send_limit(const struct command *cmd, struct ctl_conn *c, const char *name,
		      const struct args *a)
{
	Slubd__Request req = SLUBD__REQUEST__INIT;
	Slubd__SetLimitRequest lr = SLUBD__SET_LIMIT_REQUEST__INIT;
	Slubd__Response *resp;
	int rc;

	lr.name = (char *)name;
	lr.has_max_objects = a->has_max_objects;
	lr.max_objects = a->max_objects;
	lr.has_max_bytes = a->has_max_bytes;
	lr.max_bytes = a->max_bytes;
	req.body_case = SLUBD__REQUEST__BODY_SET_LIMIT;
	req.set_limit = &lr;
	rc = call(cmd, c, &req, SLUBD__RESPONSE__BODY__NOT_SET, &resp, false);
	if (rc)
		return rc;
	slubd__response__free_unpacked(resp, NULL);
	return 0;
}

/* the caps now in force on name, as stats reports them: 0 or an exit code */
static int show_caps(const struct command *cmd, struct ctl_conn *c, const char *name)
{
	Slubd__Response *resp;
	Slubd__StatsReply *st;
	const Slubd__CacheStats *cs;
	char o[32], b[64];
	int rc;

	st = get_stats(cmd, c, name, &resp, &rc);
	if (!st)
		return rc;
	if (st->n_caches != 1 || strcmp(st->caches[0]->name, name)) {
		fprintf(stderr, "slubctl: %s: slubd's stats do not list the pool %s\n", cmd->name, name);
		slubd__response__free_unpacked(resp, NULL);
		return EXIT_UNREACHABLE;
	}
	cs = st->caches[0];
	printf("pool %s: max_objects %s, max_bytes %s; caps count whole slabs of %" PRIu64
	       " object%s, %" PRIu64 " page%s\n", name,
	       cap_text(cs->has_max_objects, cs->max_objects, o, sizeof(o)),
	       cap_bytes_text(cs->has_max_bytes, cs->max_bytes, b, sizeof(b)), cs->objs_per_slab,
	       cs->objs_per_slab == 1 ? "" : "s", cs->pages_per_slab,
	       cs->pages_per_slab == 1 ? "" : "s");
	if (cs->has_max_objects && cs->max_objects && cs->num_objs > cs->max_objects)
		printf("pool %s holds %" PRIu64 " objects in its slabs, above max_objects: nothing is "
		       "freed, it stops growing\n", name, cs->num_objs);
	slubd__response__free_unpacked(resp, NULL);
	return 0;
}

static int run_limit(const struct command *cmd, struct args *a, struct ctl_conn *c)
{
	int rc = send_limit(cmd, c, a->pos[0], a);

	return rc ? rc : show_caps(cmd, c, a->pos[0]);
}

static int run_create(const struct command *cmd, struct args *a, struct ctl_conn *c)
{
	Slubd__Request req = SLUBD__REQUEST__INIT;
	Slubd__CreateRequest cr = SLUBD__CREATE_REQUEST__INIT;
	Slubd__Response *resp;
	int rc;

	cr.name = (char *)a->pos[0];
	cr.size = a->size;
	cr.has_align = a->has_align;
	cr.align = a->align;
	cr.has_flags = a->has_flags;
	cr.flags = a->flags;
	cr.has_keep = 1;		/* the reference is slubd's: the pool outlives slubctl */
	cr.keep = 1;
	req.body_case = SLUBD__REQUEST__BODY_CREATE;
	req.create = &cr;
	rc = call(cmd, c, &req, SLUBD__RESPONSE__BODY_CREATE, &resp, false);
	if (rc)
		return rc;
	printf("%s pool %s (object size %" PRIu64 "), descriptor at offset 0x%" PRIx64 "\n",
	       resp->create->has_created && resp->create->created ? "created" : "opened existing",
	       a->pos[0], a->size, resp->create->offset);
	slubd__response__free_unpacked(resp, NULL);
	if (a->has_max_objects || a->has_max_bytes) {
		rc = send_limit(cmd, c, a->pos[0], a);
		if (!rc)
			rc = show_caps(cmd, c, a->pos[0]);
	}
	return rc;
}

static int run_destroy(const struct command *cmd, struct args *a, struct ctl_conn *c)
{
	Slubd__Request req = SLUBD__REQUEST__INIT;
	Slubd__DestroyRequest dr = SLUBD__DESTROY_REQUEST__INIT;
	Slubd__Response *resp;
	Slubd__DestroyReply *d;
	int rc;

	dr.name = (char *)a->pos[0];
	dr.has_force = 1;		/* every reference goes (creator's uid or root) */
	dr.force = 1;
	req.body_case = SLUBD__REQUEST__BODY_DESTROY;
	req.destroy = &dr;
	rc = call(cmd, c, &req, SLUBD__RESPONSE__BODY_DESTROY, &resp, false);
	if (rc)
		return rc;
	d = resp->destroy;
	if (d->has_removed && d->removed) {
		printf("removed pool %s\n", a->pos[0]);
	} else if (d->has_refcount && d->refcount > 0) {
		/* nothing removed: exit 1, and say what keeps it */
		fprintf(stderr, "slubctl: pool %s not removed: %" PRId32 " reference%s remain%s (programs "
			"that opened it since); run destroy again once they have closed it\n",
			a->pos[0], d->refcount, d->refcount == 1 ? "" : "s",
			d->refcount == 1 ? "s" : "");
		rc = EXIT_NEGATIVE;
	} else {
		Slubd__Response *sresp = NULL;
		Slubd__StatsReply *st;
		int src;
		uint64_t held = 0;

		/* how many objects keep it: a figure only, a failed stats leaves it out */
		st = get_stats(cmd, c, a->pos[0], &sresp, &src);
		if (st && st->n_caches == 1)
			held = st->caches[0]->active_objs;
		fprintf(stderr, "slubctl: pool %s not removed: no references remain, but it still "
			"holds ", a->pos[0]);
		if (held)
			fprintf(stderr, "%" PRIu64 " allocated object%s", held, held == 1 ? "" : "s");
		else
			fprintf(stderr, "allocated objects");
		fprintf(stderr, "; the programs that hold them must free them, then run slubctl "
			"destroy %s again\n", a->pos[0]);
		if (sresp)
			slubd__response__free_unpacked(sresp, NULL);
		rc = EXIT_NEGATIVE;
	}
	slubd__response__free_unpacked(resp, NULL);
	return rc;
}

/* ---- shrink ---- */

static int run_shrink(const struct command *cmd, struct args *a, struct ctl_conn *c)
{
	Slubd__Request req = SLUBD__REQUEST__INIT;
	Slubd__ShrinkRequest sr = SLUBD__SHRINK_REQUEST__INIT;
	Slubd__Response *resp, *before_resp = NULL, *after_resp = NULL;
	Slubd__StatsReply *before, *after = NULL;
	const char *name = a->npos ? a->pos[0] : NULL;
	int rc, src;

	/* the arena's use before and after; a failed stats is only a missing figure */
	{
		/* quiet: the shrink's own answer says what is wrong */
		Slubd__Request q = SLUBD__REQUEST__INIT;
		Slubd__StatsRequest qs = SLUBD__STATS_REQUEST__INIT;
		char err[512];

		qs.name = (char *)name;
		q.body_case = SLUBD__REQUEST__BODY_STATS;
		q.stats = &qs;
		src = ctl_call(c, &q, &before_resp, NULL, err, sizeof(err));
		if (src) {
			fprintf(stderr, "slubctl: %s: %s\n", cmd->name, err);
			return EXIT_UNREACHABLE;
		}
		if ((before_resp->has_err && before_resp->err) ||
		    before_resp->body_case != SLUBD__RESPONSE__BODY_STATS || !before_resp->stats) {
			slubd__response__free_unpacked(before_resp, NULL);
			before_resp = NULL;
		}
	}
	before = before_resp ? before_resp->stats : NULL;

	sr.name = (char *)name;
	req.body_case = SLUBD__REQUEST__BODY_SHRINK;
	req.shrink = &sr;
	rc = call(cmd, c, &req, SLUBD__RESPONSE__BODY__NOT_SET, &resp, false);
	if (rc)
		goto out;
	slubd__response__free_unpacked(resp, NULL);

	if (before)
		after = get_stats(cmd, c, name, &after_resp, &src);
	if (name)
		printf("shrunk %s", name);
	else
		printf("shrunk every cache");
	if (before && after) {
		char h1[32], h2[32];
		uint64_t sb = 0, sa = 0;

		for (size_t i = 0; i < before->n_caches; i++)
			sb += before->caches[i]->num_slabs;
		for (size_t i = 0; i < after->n_caches; i++)
			sa += after->caches[i]->num_slabs;
		printf(": slabs %" PRIu64 " -> %" PRIu64 ", arena used %s -> %s", sb, sa,
		       human(before->arena_used, h1, sizeof(h1)), human(after->arena_used, h2, sizeof(h2)));
	}
	putchar('\n');
out:
	if (before_resp)
		slubd__response__free_unpacked(before_resp, NULL);
	if (after_resp)
		slubd__response__free_unpacked(after_resp, NULL);
	return rc;
}

/* ---- validate ---- */

static void print_validate(const Slubd__ValidateReply *v, FILE *f)
{
	fprintf(f, "caches:    %" PRIu64 "\n", v->caches);
	fprintf(f, "slabs:     %" PRIu64 "\n", v->slabs);
	fprintf(f, "objects:   %" PRIu64 "\n", v->objects);
	fprintf(f, "allocated: %" PRIu64 "\n", v->allocated);
	fprintf(f, "free:      %" PRIu64 "\n", v->free);
	fprintf(f, "errors:    %" PRIu64 "\n", v->errors);
	if (v->first_error && *v->first_error)
		fprintf(f, "first_error: %s\n", v->first_error);
	if (v->has_reported)
		fprintf(f, "reported:  %" PRIu64 "%s\n", v->reported,
			v->reported ? " (by the processes that met them: slubctl reports)" : "");
}

static int run_validate(const struct command *cmd, struct args *a, struct ctl_conn *c)
{
	Slubd__Request req = SLUBD__REQUEST__INIT;
	Slubd__ValidateRequest vr = SLUBD__VALIDATE_REQUEST__INIT;
	Slubd__Response *resp;
	int rc;

	vr.name = (char *)(a->npos ? a->pos[0] : NULL);
	req.body_case = SLUBD__REQUEST__BODY_VALIDATE;
	req.validate = &vr;
	rc = call(cmd, c, &req, SLUBD__RESPONSE__BODY_VALIDATE, &resp, true);
	if (!resp)
		return rc;
	/* an error answer that carries the report too: print it, exit 1 */
	print_validate(resp->validate, stdout);
	if (rc == 0 && (resp->validate->errors || (resp->validate->first_error &&
						   *resp->validate->first_error))) {
		fflush(stdout);		/* the report first, then the verdict */
		fprintf(stderr, "slubctl: validate: %s%s: %" PRIu64 " error%s found\n",
			a->npos ? "" : "the arena", a->npos ? a->pos[0] : "", resp->validate->errors,
			resp->validate->errors == 1 ? "" : "s");
		rc = EXIT_NEGATIVE;
	}
	if (rc == 0 && resp->validate->has_reported && resp->validate->reported) {
		/* what stats counts: the same verdict */
		fflush(stdout);
		fprintf(stderr, "slubctl: validate: %s%s: %" PRIu64 " error%s reported earlier "
			"(slubctl reports%s%s)\n", a->npos ? "" : "the arena", a->npos ? a->pos[0] : "",
			resp->validate->reported, resp->validate->reported == 1 ? "" : "s",
			a->npos ? " " : "", a->npos ? a->pos[0] : "");
		rc = EXIT_NEGATIVE;
	}
	slubd__response__free_unpacked(resp, NULL);
	return rc;
}

/* ---- reclaim, reports ---- */

static int run_reclaim(const struct command *cmd, struct args *a, struct ctl_conn *c)
{
	Slubd__Request req = SLUBD__REQUEST__INIT;
	Slubd__ReclaimRequest rr = SLUBD__RECLAIM_REQUEST__INIT;
	Slubd__Response *resp;
	const Slubd__ReclaimReply *r;
	const char *name = a->pos[0];
	int rc;

	rr.name = (char *)name;
	rr.has_force = a->force;
	rr.force = a->force;
	req.body_case = SLUBD__REQUEST__BODY_RECLAIM;
	req.reclaim = &rr;
	rc = call(cmd, c, &req, SLUBD__RESPONSE__BODY_RECLAIM, &resp, false);
	if (rc)
		return rc;
	r = resp->reclaim;
	if (r->owners)
		printf("pool %s: %" PRIu64 " object%s of %" PRIu32 " dead process%s freed\n", name,
		       r->freed, r->freed == 1 ? "" : "s", r->dead_owners,
		       r->dead_owners == 1 ? "" : "es");
	else
		printf("pool %s: no owner records (made without store_user): nothing freed\n", name);
	if (r->has_discarded)
		printf("pool %s: %" PRIu64 " object%s discarded (--force)\n", name, r->discarded,
		       r->discarded == 1 ? "" : "s");
	if (r->removed)
		printf("removed pool %s\n", name);
	else if (r->has_live_refs && r->live_refs)
		printf("pool %s not removed: %" PRIu32 " reference%s of live programs\n", name,
		       r->live_refs, r->live_refs == 1 ? "" : "s");
	else if (r->has_objects && r->objects)
		printf("pool %s not removed: it holds %" PRIu64 " object%s%s\n", name, r->objects,
		       r->objects == 1 ? "" : "s", r->owners ? " of live processes" :
		       " (a pool without store_user cannot tell whose: reclaim --force discards "
		       "them once no live program uses it)");
	else
		printf("pool %s not removed\n", name);
	slubd__response__free_unpacked(resp, NULL);
	return 0;
}

/* "2026-12-03 18:40:43.123 UTC" */
static const char *report_time(uint64_t ns, char *buf, size_t len)
{
	time_t t = (time_t)(ns / 1000000000u);
	struct tm tm;

	if (!gmtime_r(&t, &tm) || !strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm))
		snprintf(buf, len, "%" PRIu64 " ns", ns);
	else
		snprintf(buf + strlen(buf), len - strlen(buf), ".%03u UTC",
			 (unsigned)(ns / 1000000u % 1000u));
	return buf;
}

static json_t *reports_json(const Slubd__ReportsReply *rp)
{
	json_t *list = json_array(), *root;

	root = json_pack("{s:I, s:o}", "total", JI(rp->total), "reports", list);
	if (!root)
		return NULL;
	for (size_t i = 0; i < rp->n_reports; i++) {
		const Slubd__Report *r = rp->reports[i];
		json_t *o = json_pack("{s:I, s:o, s:i, s:o, s:o, s:I, s:o}",
				      "time_ns", JI(r->time_ns), "kind", json_text(r->kind_name),
				      "kind_id", (int)r->kind,
				      "pool", r->pool ? json_text(r->pool) : json_null(),
				      "offset", r->has_offset ? json_integer(JI(r->offset)) : json_null(),
				      "pid", JI(r->pid), "detail", json_text(r->detail));

		if (!o || json_array_append_new(list, o)) {
			json_decref(root);
			return NULL;
		}
	}
	return root;
}

static int run_reports(const struct command *cmd, struct args *a, struct ctl_conn *c)
{
	Slubd__Request req = SLUBD__REQUEST__INIT;
	Slubd__ReportsRequest rq = SLUBD__REPORTS_REQUEST__INIT;
	Slubd__Response *resp;
	const Slubd__ReportsReply *rp;
	int rc;

	rq.name = (char *)(a->npos ? a->pos[0] : NULL);
	req.body_case = SLUBD__REQUEST__BODY_REPORTS;
	req.reports = &rq;
	rc = call(cmd, c, &req, SLUBD__RESPONSE__BODY_REPORTS, &resp, false);
	if (rc)
		return rc;
	rp = resp->reports;
	if (a->json) {
		json_t *root = reports_json(rp);

		if (!root) {
			fprintf(stderr, "slubctl: reports: cannot build the JSON document (out of memory)\n");
			rc = EXIT_NEGATIVE;
		} else {
			if (json_dumpf(root, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER) == 0)
				putchar('\n');
			json_decref(root);
		}
	} else if (!rp->n_reports) {
		printf("no reports%s%s (%" PRIu64 " in the arena in all)\n", a->npos ? " against " : "",
		       a->npos ? a->pos[0] : "", rp->total);
	} else {
		for (size_t i = 0; i < rp->n_reports; i++) {
			const Slubd__Report *r = rp->reports[i];
			char when[64], off[32] = "-";

			if (r->has_offset)
				snprintf(off, sizeof(off), "0x%" PRIx64, r->offset);
			printf("%s  %s  pool %s  offset %s  pid %" PRIu32 "\n    %s\n",
			       report_time(r->time_ns, when, sizeof(when)), r->kind_name,
			       r->pool ? r->pool : "(unknown)", off, r->pid, r->detail ? r->detail : "");
		}
		printf("%zu report%s shown, %" PRIu64 " in the arena in all (it keeps the last %u)\n",
		       rp->n_reports, rp->n_reports == 1 ? "" : "s", rp->total, SLUBD_MAX_REPORTS);
	}
	slubd__response__free_unpacked(resp, NULL);
	return rc;
}

/* ---- the commands and their arguments ---- */

static const struct option stats_opts[] = {
	{ "json",	no_argument,		NULL, OPT_JSON },
	{ "socket",	required_argument,	NULL, 's' },
	{ "arena",	required_argument,	NULL, 'A' },
	{ "help",	no_argument,		NULL, 'h' },
	{ NULL, 0, NULL, 0 }
};

static const struct option create_opts[] = {
	{ "align",	required_argument,	NULL, OPT_ALIGN },
	{ "flags",	required_argument,	NULL, OPT_FLAGS },
	{ "max-objects", required_argument,	NULL, OPT_OBJECTS },
	{ "max-bytes",	required_argument,	NULL, OPT_BYTES },
	{ "socket",	required_argument,	NULL, 's' },
	{ "arena",	required_argument,	NULL, 'A' },
	{ "help",	no_argument,		NULL, 'h' },
	{ NULL, 0, NULL, 0 }
};

static const struct option limit_opts[] = {
	{ "objects",	required_argument,	NULL, OPT_OBJECTS },
	{ "bytes",	required_argument,	NULL, OPT_BYTES },
	{ "socket",	required_argument,	NULL, 's' },
	{ "arena",	required_argument,	NULL, 'A' },
	{ "help",	no_argument,		NULL, 'h' },
	{ NULL, 0, NULL, 0 }
};

static const struct option reclaim_opts[] = {
	{ "force",	no_argument,		NULL, OPT_FORCE },
	{ "socket",	required_argument,	NULL, 's' },
	{ "arena",	required_argument,	NULL, 'A' },
	{ "help",	no_argument,		NULL, 'h' },
	{ NULL, 0, NULL, 0 }
};

static const struct option plain_opts[] = {
	{ "socket",	required_argument,	NULL, 's' },
	{ "arena",	required_argument,	NULL, 'A' },
	{ "help",	no_argument,		NULL, 'h' },
	{ NULL, 0, NULL, 0 }
};

static const struct command commands[] = {
	{ "stats", "stats [NAME] [--json]", 0, 1, { NULL }, stats_opts, run_stats, 0 },
	{ "create", "create NAME SIZE [--align N] [--flags FLAG[,FLAG...]] [--max-objects N] "
	  "[--max-bytes N]", 2, 2, { "NAME", "SIZE" }, create_opts, run_create,
	  CMD_SIZE_ARG | CMD_OWN_POOL },
	{ "destroy", "destroy NAME", 1, 1, { "NAME" }, plain_opts, run_destroy, CMD_OWN_POOL },
	{ "limit", "limit NAME [--objects N] [--bytes N]", 1, 1, { "NAME" }, limit_opts, run_limit,
	  CMD_OWN_POOL | CMD_NEEDS_CAP },
	{ "shrink", "shrink [NAME]", 0, 1, { NULL }, plain_opts, run_shrink, 0 },
	{ "validate", "validate [NAME]", 0, 1, { NULL }, plain_opts, run_validate, 0 },
	{ "reclaim", "reclaim NAME [--force]", 1, 1, { "NAME" }, reclaim_opts, run_reclaim,
	  CMD_OWN_POOL },
	{ "reports", "reports [NAME] [--json]", 0, 1, { NULL }, stats_opts, run_reports, 0 },
};
#define NR_COMMANDS (sizeof(commands) / sizeof(commands[0]))

/* "-5", "-0x10": a negative number, which getopt would take for options */
static bool negative_number(const char *arg)
{
	return arg[0] == '-' && arg[1] >= '0' && arg[1] <= '9';
}

/*
 * bad_option - what getopt refused in arg ('?': unknown, ':': no value),
 * said with the options cmd takes
 */
static int bad_option(const struct command *cmd, const struct args *a, int opt, const char *arg)
{
	char list[256];
	size_t at = 0;

	if (opt == ':')
		return usage_error(cmd, "option '%s' needs a value", arg);
	if (negative_number(arg)) {
		if ((cmd->how & CMD_SIZE_ARG) && a->npos == 1) {
			char why[128];

			(void)slab_size_check(0, why, sizeof(why));
			return usage_error(cmd, "SIZE '%s' is negative: %.*s", arg,
					   (int)strcspn(why, ","), why);
		}
		return usage_error(cmd, "'%s': a negative number, neither a name nor an option (a "
				   "name that begins with '-' follows \"--\")", arg);
	}
	for (const struct option *o = cmd->longopts; o->name && at < sizeof(list); o++) {
		int n = snprintf(list + at, sizeof(list) - at, "%s%s--%s", at ? ", " : "",
				 o->val == 's' ? "-s/" : o->val == 'h' ? "-h/" : "", o->name);

		if (n < 0)
			break;
		at += (size_t)n;
	}
	if (arg[1] == '-')
		return usage_error(cmd, "unknown option '%.*s' (%s takes %s)",
				   (int)strcspn(arg, "="), arg, cmd->name, list);
	return usage_error(cmd, "unknown option '-%c' (%s takes %s)", optopt ? optopt : '?',
			   cmd->name, list);
}

/*
 * parse_command - the arguments after the command word: options in any
 * order among the positionals ("-" mode of getopt: positionals come back in
 * order as option 1, whatever POSIXLY_CORRECT says).  0, or an exit code.
 * getopt says nothing itself (opterr 0): bad_option says what was wrong.
 */
static int parse_command(const struct command *cmd, int argc, char **argv, struct args *a)
{
	char prog[64];
	char **av = calloc((size_t)argc + 1, sizeof(*av));
	int opt, rc = 0;

	if (!av) {
		fprintf(stderr, "slubctl: out of memory\n");
		return EXIT_NEGATIVE;
	}
	snprintf(prog, sizeof(prog), "slubctl %s", cmd->name);
	av[0] = prog;
	for (int i = 1; i < argc; i++)
		av[i] = argv[i];
	optind = 0;		/* glibc: start afresh */
	opterr = 0;
	for (;;) {
		/* the argument getopt reads now ("-" mode: never permuted) */
		int at = optind ? optind : 1;

		opt = getopt_long(argc, av, "-:s:A:h", cmd->longopts, NULL);
		if (opt == -1)
			break;
		switch (opt) {
		case 1:
			if (a->npos >= cmd->max_pos) {
				rc = usage_error(cmd, "unexpected argument '%s'", optarg);
				goto out;
			}
			a->pos[a->npos++] = optarg;
			break;
		case 's':
			a->socket = optarg;
			break;
		case 'A':
			a->arena = optarg;
			break;
		case 'h':
			full_usage(stdout);
			rc = -1;	/* done, exit 0 */
			goto out;
		case OPT_FORCE:
			a->force = true;
			break;
		case OPT_JSON:
			a->json = true;
			break;
		case OPT_ALIGN:
			if (parse_size(optarg, &a->align)) {
				rc = usage_error(cmd, "--align: bad number '%s' (0 or a power of two up "
						 "to %u)", optarg, SLUB_MAX_ALIGN);
				goto out;
			} else {
				char why[128];

				if (slab_align_check(a->align, why, sizeof(why))) {
					rc = usage_error(cmd, "--align: %s", why);
					goto out;
				}
			}
			a->has_align = true;
			break;
		case OPT_FLAGS:
			rc = parse_flags(cmd, optarg, &a->flags);
			if (rc)
				goto out;
			a->has_flags = true;
			break;
		case OPT_OBJECTS:
			if (parse_num(optarg, false, &a->max_objects)) {
				rc = usage_error(cmd, "%s: bad count '%s' (a number of objects; 0: no cap)",
						 cmd->how & CMD_NEEDS_CAP ? "--objects" : "--max-objects",
						 optarg);
				goto out;
			}
			a->has_max_objects = true;
			break;
		case OPT_BYTES:
			if (parse_size(optarg, &a->max_bytes)) {
				rc = usage_error(cmd, "%s: bad number '%s' (bytes, or a number with K, "
						 "M or G; 0: no cap)",
						 cmd->how & CMD_NEEDS_CAP ? "--bytes" : "--max-bytes", optarg);
				goto out;
			}
			a->has_max_bytes = true;
			break;
		default:	/* '?' or ':' */
			rc = bad_option(cmd, a, opt, av[at < argc ? at : argc - 1]);
			goto out;
		}
	}
	for (; optind < argc; optind++) {	/* after "--" */
		if (a->npos >= cmd->max_pos) {
			rc = usage_error(cmd, "unexpected argument '%s'", av[optind]);
			goto out;
		}
		a->pos[a->npos++] = av[optind];
	}
	if (a->npos < cmd->min_pos) {
		rc = usage_error(cmd, "missing %s", cmd->missing[a->npos]);
		goto out;
	}
	/* every positional but create's SIZE is a cache name */
	for (int i = 0; i < a->npos; i++) {
		if ((cmd->how & CMD_SIZE_ARG) && i == 1)
			continue;
		rc = check_name(cmd, a->pos[i], cmd->how & CMD_OWN_POOL);
		if (rc)
			goto out;
	}
	if (cmd->how & CMD_SIZE_ARG) {
		char why[128];

		(void)slab_size_check(0, why, sizeof(why));
		if (parse_size(a->pos[1], &a->size)) {
			rc = usage_error(cmd, "bad SIZE '%s': %.*s, in decimal or 0x, with K, M or G "
					 "for KiB, MiB, GiB", a->pos[1], (int)strcspn(why, ","), why);
			goto out;
		}
		if (slab_size_check(a->size, why, sizeof(why))) {
			rc = usage_error(cmd, "SIZE '%s': %s", a->pos[1], why);
			goto out;
		}
	}
	if ((cmd->how & CMD_NEEDS_CAP) && !a->has_max_objects && !a->has_max_bytes) {
		rc = usage_error(cmd, "no cap given: --objects N and/or --bytes N (0 removes a cap)");
		goto out;
	}
out:
	free(av);
	return rc;
}

static const struct option global_opts[] = {
	{ "socket",	required_argument,	NULL, 's' },
	{ "arena",	required_argument,	NULL, 'A' },
	{ "help",	no_argument,		NULL, 'h' },
	{ "version",	no_argument,		NULL, 'V' },
	{ NULL, 0, NULL, 0 }
};

int main(int argc, char **argv)
{
	struct args a = { 0 };
	const struct command *cmd = NULL;
	struct ctl_conn c;
	char err[512];
	const char *word;
	int opt, rc;

	/* the options before the command word: stop at the first non-option */
	argv[0] = (char *)"slubctl";
	opterr = 0;		/* the messages are ours (below) */
	while ((opt = getopt_long(argc, argv, "+:s:A:h", global_opts, NULL)) != -1) {
		switch (opt) {
		case 's':
			a.socket = optarg;
			break;
		case 'A':
			a.arena = optarg;
			break;
		case 'h':
			full_usage(stdout);
			return 0;
		case 'V':
			printf("slubctl %s (control protocol %u)\n", SLUBD_VERSION,
			       SLUBD_PROTOCOL_VERSION);
			return 0;
		default:
			if (opt == ':')
				fprintf(stderr, "slubctl: option '%s' needs a value\n", argv[optind - 1]);
			else if (optopt)
				fprintf(stderr, "slubctl: unknown option '-%c'\n", optopt);
			else
				fprintf(stderr, "slubctl: unknown option '%s'\n", argv[optind - 1]);
			return usage_error(NULL, NULL);
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "slubctl: no command given\n");
		return usage_error(NULL, NULL);
	}
	word = argv[optind];
	if (!strcmp(word, "help")) {
		full_usage(stdout);
		return 0;
	}
	for (size_t i = 0; i < NR_COMMANDS; i++)
		if (!strcmp(word, commands[i].name))
			cmd = &commands[i];
	if (!cmd) {
		fprintf(stderr, "slubctl: unknown command '%s'\n", word);
		return usage_error(NULL, NULL);
	}
	rc = parse_command(cmd, argc - optind, argv + optind, &a);
	if (rc)
		return rc < 0 ? 0 : rc;

	if (a.socket && a.arena)
		return usage_error(cmd, "-s SOCKET and --arena NAME both given: one or the other");
	if (a.socket && !*a.socket)
		return usage_error(cmd, "an empty socket path");
	if (a.socket && strlen(a.socket) >= sizeof(target.path))
		return usage_error(cmd, "a socket path of %zu bytes (at most %zu)", strlen(a.socket),
				   sizeof(target.path) - 1);
	if (a.arena && (!*a.arena || strchr(a.arena, '/')))
		return usage_error(cmd, "--arena '%s': an arena's name (-s takes a socket path)", a.arena);
	if (a.socket) {
		ctl_target_path(a.socket, &target);
	} else {
		rc = ctl_target(a.arena, &target, err, sizeof(err));
		if (rc)
			return usage_error(cmd, "%s", err);
	}
	rc = ctl_connect_target(&c, &target, "slubctl", err, sizeof(err));
	if (rc) {
		/* ctl_connect names the path when connect() fails, not when Hello is refused */
		if (strstr(err, target.path))
			fprintf(stderr, "slubctl: %s\n", err);
		else
			fprintf(stderr, "slubctl: slubd at %s: %s\n", target.path, err);
		if (rc == -ENOENT || rc == -ECONNREFUSED)
			fprintf(stderr, "slubctl: is slubd running? (-s SOCKET or $SLUBD_SOCKET name "
				"its socket, --arena NAME or $SLUBD_ARENA an arena)\n");
		return EXIT_UNREACHABLE;
	}
	rc = cmd->run(cmd, &a, &c);
	ctl_close(&c);
	if (fflush(stdout) || ferror(stdout)) {
		fprintf(stderr, "slubctl: cannot write the output: %s\n", strerror(errno));
		if (!rc)
			rc = EXIT_NEGATIVE;
	}
	return rc;
}
