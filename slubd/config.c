/*
 * config.c - slubd's settings: embedded defaults, then the config file
 * (INI, read with inih), then the command line.
 *
 *   [arena]   size = 256M          hugepages = auto|on|off   file = /run/slubd/slubd.arena
 *             slab_debug = FZP,kmalloc-*   (the kmalloc caches' debugging, kmalloc_debug.c)
 *   [access]  socket_mode = 0660   allow_uids = 1000 alice  allow_gids = 100 slubd
 *   [limits]  max_clients = 256    max_refs = 1024    max_caches = 1000
 *             max_clients_per_uid = 0   (connections of one uid at once; 0: no cap)
 *             hello_timeout = 10   (seconds a new connection has to say Hello)
 *             scrub_interval = 30  (seconds between scrubs; 0: only when a client leaves)
 *
 * Named arenas: a section [arena NAME] (NAME: 1 to 32 of a-z 0-9 _ -, not
 * "slubd" nor "default") holds the keys of all three sections for one more arena, served by
 * its own slubd process (tenants.c), plus "socket" (a path; default
 * DIR/NAME.sock, DIR being the default socket's directory).  A named arena
 * takes from the unnamed sections only [limits] and [access] socket_mode;
 * its size, huge pages, file (default DIR/NAME.arena) and access list are its
 * own (an empty list: root and slubd's user only).  The unnamed sections are
 * the default arena, as without named ones.
 */
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <ini.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "slubd.h"

void config_defaults(struct config *c)
{
	memset(c, 0, sizeof(*c));
	c->arena_size = ARENA_DEFAULT_SIZE;
	c->huge = ARENA_HUGE_AUTO;
	c->socket_mode = 0660;
	c->max_clients = SLUBD_MAX_CLIENTS;
	c->max_refs = SLUBD_MAX_REFS;
	c->max_caches = SLUBD_MAX_POOLS;
	c->hello_timeout_ms = SLUBD_HELLO_TIMEOUT_MS;
	c->scrub_interval_s = SLUBD_SCRUB_INTERVAL_S;
	c->ready_fd = -1;
	c->notify_fd = -1;
}

/* a size or a count: the one parser (shm/names.c), as slubctl reads its arguments */
int parse_size(const char *s, uint64_t *out)
{
	return slab_number_parse(s, true, out);
}

int arena_size_check(uint64_t *size, const char *what, char *err, size_t errlen)
{
	uint64_t up;

	if (*size < ARENA_MIN_SIZE || *size > ARENA_MAX_SIZE) {
		bool low = *size < ARENA_MIN_SIZE;
		unsigned long long lim = low ? ARENA_MIN_SIZE : ARENA_MAX_SIZE;

		snprintf(err, errlen, "%s: %llu bytes, %s %llu %s (%llu bytes)", what,
			 (unsigned long long)*size, low ? "below the minimum of" : "above the maximum of",
			 lim >> (low ? 20 : 30), low ? "MiB" : "GiB", lim);
		return -EINVAL;
	}
	up = (*size + ARENA_SIZE_STEP - 1) / ARENA_SIZE_STEP * ARENA_SIZE_STEP;
	if (up == *size)
		return 0;
	snprintf(err, errlen, "%s: %llu bytes rounded up to %llu MiB (%llu bytes): an arena is made "
		 "of whole %lu MiB blocks", what, (unsigned long long)*size,
		 (unsigned long long)(up >> 20), (unsigned long long)up, ARENA_SIZE_STEP >> 20);
	*size = up;
	return 1;
}

int parse_huge(const char *s, enum arena_huge *out)
{
	if (!strcmp(s, "auto"))
		*out = ARENA_HUGE_AUTO;
	else if (!strcmp(s, "on"))
		*out = ARENA_HUGE_ON;
	else if (!strcmp(s, "off"))
		*out = ARENA_HUGE_OFF;
	else
		return -EINVAL;
	return 0;
}

/* numbers, or user (group) names looked up now */
static int parse_ids(const char *v, unsigned int *ids, unsigned int *n, bool groups)
{
	char buf[1024], *save = NULL, *tok;

	snprintf(buf, sizeof(buf), "%s", v);
	*n = 0;
	for (tok = strtok_r(buf, " ,\t", &save); tok; tok = strtok_r(NULL, " ,\t", &save)) {
		char *end;
		unsigned long id;

		if (*n >= MAX_ALLOW)
			return -EINVAL;
		errno = 0;
		id = strtoul(tok, &end, 10);
		/*
		 * a number is an id as written: none negated by strtoul ("-1"), none
		 * cut to 32 bits (2^32 + 65534 would be 65534), not (uid_t)-1
		 */
		if (!*end && (*tok == '-' || *tok == '+' || errno || id >= UINT_MAX))
			return -EINVAL;
		if (*end) {
			struct passwd *pw = groups ? NULL : getpwnam(tok);
			struct group *gr = groups ? getgrnam(tok) : NULL;

			if (!pw && !gr)
				return -ENOENT;
			id = pw ? pw->pw_uid : gr->gr_gid;
		}
		ids[(*n)++] = (unsigned int)id;
	}
	return 0;
}

bool config_arena_name_ok(const char *name)
{
	size_t n = strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_-");

	/*
	 * "slubd" would be the default arena's slubd.sock and slubd.arena;
	 * "default" is what the logs, slubctl and clients call the default arena
	 */
	return n >= 1 && n <= SLUBD_ARENA_NAME_MAX && !name[n] && strcmp(name, "slubd") != 0 &&
	       strcmp(name, "default") != 0;
}

struct load_ctx {
	struct config *c;
	char *err;
	size_t errlen;
	int rc;
	int pass;	/* 1: the unnamed sections; 2: the section [arena c->arena_name] */
};

/* the section a key of [arena NAME] belongs to, among the unnamed ones */
static const char *named_key_section(const char *key)
{
	if (!strcmp(key, "size") || !strcmp(key, "hugepages") || !strcmp(key, "file") ||
	    !strcmp(key, "socket") || !strcmp(key, "slab_debug"))
		return "arena";
	if (!strcmp(key, "socket_mode") || !strcmp(key, "allow_uids") || !strcmp(key, "allow_gids"))
		return "access";
	return "limits";
}

/*
 * does this key set the config being loaded?  Pass 1: the unnamed sections,
 * all of them for the default arena, [limits] and socket_mode for a named
 * one; pass 2: the arena's own [arena NAME] section
 */
static bool key_applies(const struct load_ctx *x, const char *name, const char *section,
			const char *key)
{
	if (x->pass == 2)
		return name && !strcmp(name, x->c->arena_name);
	return !name && (!x->c->arena_name[0] || !strcmp(section, "limits") ||
			 (!strcmp(section, "access") && !strcmp(key, "socket_mode")));
}

static int on_key(void *arg, const char *section, const char *key, const char *value)
{
	struct load_ctx *x = arg;
	struct config *c = x->c, scratch;
	const char *shown = section, *name = NULL;
	uint64_t n;
	int rc = 0;

	if (!strncmp(section, "arena ", 6)) {
		name = section + 6;
		if (!config_arena_name_ok(name)) {
			if (!x->rc)
				snprintf(x->err, x->errlen, "bad arena name in [%s]: 1 to %d of a-z, 0-9, _ "
					 "and -, not \"slubd\" nor \"default\"", section, SLUBD_ARENA_NAME_MAX);
			x->rc = -EINVAL;
			return 0;
		}
		section = named_key_section(key);
	}
	/* every key is checked; one that is not this arena's goes to a scratch copy */
	if (!key_applies(x, name, section, key)) {
		scratch = *c;
		c = &scratch;
	}
	if (name && !strcmp(key, "socket")) {
		rc = *value == '/' && strlen(value) < sizeof(c->socket) ? 0 : -EINVAL;
		snprintf(c->socket, sizeof(c->socket), "%s", value);
	} else if (!strcmp(section, "arena") && !strcmp(key, "size")) {
		char why[200], what[96];

		rc = parse_size(value, &c->arena_size);
		snprintf(what, sizeof(what), "[%s] size = %s", shown, value);
		if (!rc && (rc = arena_size_check(&c->arena_size, what, why, sizeof(why))) < 0) {
			if (!x->rc)
				snprintf(x->err, x->errlen, "%s", why);
			x->rc = rc;
			return 0;
		}
		if (rc > 0) {
			log_msg("%s", why);	/* rounded up: said, not silent */
			rc = 0;
		}
	}
	else if (!strcmp(section, "arena") && !strcmp(key, "file")) {
		rc = *value == '/' && strlen(value) < sizeof(c->arena_file) ? 0 : -EINVAL;
		snprintf(c->arena_file, sizeof(c->arena_file), "%s", value);
		c->arena_file_default = false;
	} else if (!strcmp(section, "arena") && !strcmp(key, "hugepages"))
		rc = parse_huge(value, &c->huge);
	else if (!strcmp(section, "arena") && !strcmp(key, "slab_debug")) {
		struct slab_debug_spec sp;

		/* the parser's sentence says what is wrong: it is the error */
		if (slab_debug_parse(value, &sp, x->err, x->errlen)) {
			x->rc = x->rc ? x->rc : -EINVAL;
			return 0;
		}
		snprintf(c->slab_debug, sizeof(c->slab_debug), "%s", value);
	}
	else if (!strcmp(section, "access") && !strcmp(key, "socket_mode")) {
		char *end;
		unsigned long m = strtoul(value, &end, 8);

		rc = *end || m > 0777 ? -EINVAL : 0;
		c->socket_mode = (unsigned int)m;
	} else if (!strcmp(section, "access") && !strcmp(key, "allow_uids"))
		rc = parse_ids(value, (unsigned int *)c->allow_uids, &c->nr_allow_uids, false);
	else if (!strcmp(section, "access") && !strcmp(key, "allow_gids"))
		rc = parse_ids(value, (unsigned int *)c->allow_gids, &c->nr_allow_gids, true);
	else if (!strcmp(section, "limits") && !strcmp(key, "max_clients")) {
		rc = parse_size(value, &n);
		if (!rc && (n < 1 || n > 65536))
			rc = -EINVAL;
		c->max_clients = (unsigned int)n;
	} else if (!strcmp(section, "limits") && !strcmp(key, "max_clients_per_uid")) {
		rc = parse_size(value, &n);	/* 0: no cap */
		if (!rc && n > 65536)
			rc = -EINVAL;
		c->max_clients_per_uid = (unsigned int)n;
	} else if (!strcmp(section, "limits") && !strcmp(key, "max_caches")) {
		rc = parse_size(value, &n);
		if (!rc && (n < 1 || n > SLUBD_MAX_POOLS))
			rc = -EINVAL;
		c->max_caches = (unsigned int)n;
	} else if (!strcmp(section, "limits") && !strcmp(key, "hello_timeout")) {
		rc = parse_size(value, &n);	/* seconds */
		if (!rc && (n < 1 || n > 3600))
			rc = -EINVAL;
		c->hello_timeout_ms = (unsigned int)n * 1000;
	} else if (!strcmp(section, "limits") && !strcmp(key, "scrub_interval")) {
		rc = parse_size(value, &n);	/* seconds; 0: off */
		if (!rc && n > 86400)
			rc = -EINVAL;
		c->scrub_interval_s = (unsigned int)n;
	} else if (!strcmp(section, "limits") && !strcmp(key, "max_refs")) {
		rc = parse_size(value, &n);
		if (!rc && (n < 1 || n > 1u << 20))
			rc = -EINVAL;
		c->max_refs = (unsigned int)n;
	} else {
		if (!x->rc)
			snprintf(x->err, x->errlen, "unknown setting [%s] %s", shown, key);
		x->rc = -EINVAL;
		return 0;
	}
	if (rc && !x->rc) {
		snprintf(x->err, x->errlen, "bad value for [%s] %s: %s%s", shown, key, value,
			 rc == -ENOENT ? " (no such user or group)" :
			 rc == -ERANGE ? " (too large)" : "");
		x->rc = rc;
	}
	return rc ? 0 : 1;
}

int config_load(struct config *c, const char *path, char *err, size_t errlen)
{
	struct load_ctx x = { c, err, errlen, 0, 1 };
	struct config d;
	int line;

	/*
	 * What only the file sets (the access list, the socket's mode, the
	 * limits) starts from its default, not from what c held: a reload
	 * (SIGHUP, which loads over the running settings) must take away a line
	 * removed from the file, an allow_uids above all.  What the command line
	 * also sets (size, huge pages, file, socket) is left as it is.
	 */
	config_defaults(&d);
	c->nr_allow_uids = 0;
	c->nr_allow_gids = 0;
	c->socket_mode = d.socket_mode;
	c->max_clients = d.max_clients;
	c->max_refs = d.max_refs;
	c->max_caches = d.max_caches;
	c->hello_timeout_ms = d.hello_timeout_ms;
	c->scrub_interval_s = d.scrub_interval_s;
	line = ini_parse(path, on_key, &x);

	if (line < 0) {
		snprintf(err, errlen, "cannot read config file %s", path);
		return -ENOENT;
	}
	if (x.rc)
		return x.rc;
	if (line > 0) {
		snprintf(err, errlen, "%s: line %d is not an INI line", path, line);
		return -EINVAL;
	}
	if (c->arena_name[0]) {
		/* then the arena's own section, over what it took from the unnamed ones */
		char names[SLUBD_MAX_ARENAS][SLUBD_ARENA_NAME_MAX + 1];
		int nr = config_arena_names(path, names, SLUBD_MAX_ARENAS, err, errlen);
		bool found = false;

		if (nr < 0)
			return nr;
		for (int i = 0; i < nr; i++)
			found |= !strcmp(names[i], c->arena_name);
		if (!found) {
			snprintf(err, errlen, "%s has no section [arena %s]", path, c->arena_name);
			return -ENOENT;
		}
		x.pass = 2;
		ini_parse(path, on_key, &x);
		if (x.rc)
			return x.rc;
	}
	snprintf(c->config_file, sizeof(c->config_file), "%s", path);
	return 0;
}

/*
 * config_arena_names - the NAMEs of the [arena NAME] sections of the file, in
 * order, each once (a section without keys names an arena too, with every
 * setting at its default).  Their count, or -errno with a sentence in err: a
 * bad name, more than max.
 */
int config_arena_names(const char *path, char (*names)[SLUBD_ARENA_NAME_MAX + 1], int max,
		       char *err, size_t errlen)
{
	FILE *f = fopen(path, "re");
	char line[512];
	int nr = 0, rc = 0, lineno = 0;

	if (!f) {
		snprintf(err, errlen, "cannot read config file %s: %s", path, strerror(errno));
		return -ENOENT;
	}
	while (!rc && fgets(line, sizeof(line), f)) {
		char *p = line + strspn(line, " \t"), *end;
		bool dup = false;

		lineno++;
		/* a section line as inih reads it: "[" NAME "]", blanks before "[" only */
		if (strncmp(p, "[arena ", 7) != 0 || !(end = strchr(p, ']')))
			continue;
		*end = 0;
		p += 7;
		if (!config_arena_name_ok(p)) {
			snprintf(err, errlen, "%s: line %d: bad arena name in [arena %s]: 1 to %d of a-z, "
				 "0-9, _ and -, not \"slubd\" nor \"default\"", path, lineno, p, SLUBD_ARENA_NAME_MAX);
			rc = -EINVAL;
			break;
		}
		for (int i = 0; i < nr; i++)
			dup |= !strcmp(names[i], p);
		if (dup)
			continue;
		if (nr == max) {
			snprintf(err, errlen, "%s: more than %d named arenas", path, max);
			rc = -E2BIG;
			break;
		}
		snprintf(names[nr++], SLUBD_ARENA_NAME_MAX + 1, "%s", p);
	}
	fclose(f);
	return rc ? rc : nr;
}
