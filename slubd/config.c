/*
 * config.c - slubd's settings: embedded defaults, then the config file
 * (INI, read with inih), then the command line.
 *
 *   [arena]   size = 256M          hugepages = auto|on|off   file = /run/slubd/slubd.arena
 *   [access]  socket_mode = 0660   allow_uids = 1000 alice  allow_gids = 100 slubd
 *   [limits]  max_clients = 256    max_refs = 1024    max_caches = 1000
 *             max_clients_per_uid = 0   (connections of one uid at once; 0: no cap)
 *             hello_timeout = 10   (seconds a new connection has to say Hello)
 *             scrub_interval = 30  (seconds between scrubs; 0: only when a client leaves)
 */
#include <errno.h>
#include <grp.h>
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
}

int parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || *s == '-')
		return -EINVAL;
	switch (*end) {
	case 'k': case 'K': v <<= 10; end++; break;
	case 'm': case 'M': v <<= 20; end++; break;
	case 'g': case 'G': v <<= 30; end++; break;
	default: break;
	}
	if (*end == 'i' || *end == 'B')
		end++;
	if (*end == 'B')
		end++;
	if (*end)
		return -EINVAL;
	*out = v;
	return 0;
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
		unsigned long id = strtoul(tok, &end, 10);

		if (*n >= MAX_ALLOW)
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

struct load_ctx {
	struct config *c;
	char *err;
	size_t errlen;
	int rc;
};

static int on_key(void *arg, const char *section, const char *key, const char *value)
{
	struct load_ctx *x = arg;
	struct config *c = x->c;
	uint64_t n;
	int rc = 0;

	if (!strcmp(section, "arena") && !strcmp(key, "size"))
		rc = parse_size(value, &c->arena_size);
	else if (!strcmp(section, "arena") && !strcmp(key, "file")) {
		rc = *value == '/' && strlen(value) < sizeof(c->arena_file) ? 0 : -EINVAL;
		snprintf(c->arena_file, sizeof(c->arena_file), "%s", value);
	} else if (!strcmp(section, "arena") && !strcmp(key, "hugepages"))
		rc = parse_huge(value, &c->huge);
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
		snprintf(x->err, x->errlen, "unknown setting [%s] %s", section, key);
		x->rc = -EINVAL;
		return 0;
	}
	if (rc && !x->rc) {
		snprintf(x->err, x->errlen, "bad value for [%s] %s: %s%s", section, key, value,
			 rc == -ENOENT ? " (no such user or group)" : "");
		x->rc = rc;
	}
	return rc ? 0 : 1;
}

int config_load(struct config *c, const char *path, char *err, size_t errlen)
{
	struct load_ctx x = { c, err, errlen, 0 };
	int line = ini_parse(path, on_key, &x);

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
	snprintf(c->config_file, sizeof(c->config_file), "%s", path);
	return 0;
}
