/*
 * names.c - what a pool may be called and made with, in one place: the
 * SLAB_* flags by name, and the checks of a pool's name, size, align and
 * flags with the sentence that says which limit was passed.  The engine
 * (slab_cache_args_ok), slubd (its answers and logs) and slubctl (its
 * argument checks, before anything is sent, and its output) all read these,
 * so that a limit is written once.  Pure functions: no arena, no lock.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "layout.h"
#include "shm.h"

_Static_assert(SLUB_MAX_ALIGN == PAGE_SIZE, "align is bounded by a page");
_Static_assert(ARENA_SIZE_STEP == BLOCK_MAX_SIZE, "an arena is made of the buddy's largest blocks");

const struct slab_flag_name slab_flag_names[] = {
	{ "red_zone",		SLAB_RED_ZONE,		"guard bytes around objects" },
	{ "poison",		SLAB_POISON,		"fill free objects" },
	{ "hwcache_align",	SLAB_HWCACHE_ALIGN,	"align objects to a cache line" },
	{ "store_user",		SLAB_STORE_USER,	"record the last alloc and free of each object" },
	{ "reclaim_dead",	SLAB_RECLAIM_DEAD,	"free what a dead process held (implies store_user)" },
	{ NULL, 0, NULL },
};

static int say(char *why, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* the sentence into why (when given); always -EINVAL */
static int say(char *why, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (why && len) {
		va_start(ap, fmt);
		vsnprintf(why, len, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

bool slab_name_char_ok(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	       ch == '.' || ch == '_' || ch == ':' || ch == '-';
}

int slab_name_check(const char *name, char *why, size_t len)
{
	size_t n;

	if (!name || !*name)
		return say(why, len, "an empty name (1..%u bytes of A-Z a-z 0-9 . _ : -)",
			    SLUB_NAME_MAX);
	n = strlen(name);
	if (n > SLUB_NAME_MAX)
		return say(why, len, "name too long: %zu bytes, at most %u", n, SLUB_NAME_MAX);
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)name[i];

		if (slab_name_char_ok((char)ch))
			continue;
		if (ch >= 0x21 && ch < 0x7f)
			return say(why, len, "'%c' in a name (byte %zu): a name is 1..%u bytes of "
				   "A-Z a-z 0-9 . _ : -", ch, i + 1, SLUB_NAME_MAX);
		return say(why, len, "byte 0x%02x in a name (byte %zu): a name is 1..%u bytes of "
			   "A-Z a-z 0-9 . _ : -", ch, i + 1, SLUB_NAME_MAX);
	}
	return 0;
}

bool slab_name_reserved(const char *name)
{
	return name && (!strcmp(name, "kmem_cache") || !strcmp(name, "kmem_cache_node") ||
			!strncmp(name, "kmalloc-", 8));
}

int slab_size_check(uint64_t size, char *why, size_t len)
{
	if (size == 0 || size > SLUB_MAX_OBJECT_SIZE)
		return say(why, len, "size must be 1..%u bytes (%u MiB), not %llu", SLUB_MAX_OBJECT_SIZE,
			   SLUB_MAX_OBJECT_SIZE >> 20, (unsigned long long)size);
	return 0;
}

int slab_align_check(uint64_t align, char *why, size_t len)
{
	if ((align & (align - 1)) || align > SLUB_MAX_ALIGN)
		return say(why, len, "align must be 0 or a power of two up to %u, not %llu",
			   SLUB_MAX_ALIGN, (unsigned long long)align);
	return 0;
}

/* "red_zone, poison, ..." into buf */
static const char *flag_list(char *buf, size_t len)
{
	size_t at = 0;

	buf[0] = 0;
	for (const struct slab_flag_name *f = slab_flag_names; f->name && at < len; f++) {
		int n = snprintf(buf + at, len - at, "%s%s", at ? ", " : "", f->name);

		if (n < 0)
			break;
		at += (size_t)n;
	}
	return buf;
}

int slab_flags_check(uint64_t flags, char *why, size_t len)
{
	char known[128];

	if (flags & ~(uint64_t)SLAB_USER_FLAGS)
		return say(why, len, "flags 0x%llx: bits 0x%llx are no SLAB_* flag (known: %s)",
			   (unsigned long long)flags,
			   (unsigned long long)(flags & ~(uint64_t)SLAB_USER_FLAGS),
			   flag_list(known, sizeof(known)));
	return 0;
}

int slab_flags_parse(const char *s, uint64_t *out, char *why, size_t len)
{
	uint64_t flags = 0;
	char known[128];
	const char *p = s;

	if (!*s || !strcasecmp(s, "none")) {
		*out = 0;
		return 0;
	}
	for (;;) {
		size_t n = strcspn(p, ","), skip = 0;
		const struct slab_flag_name *f;
		char tok[64];
		uint64_t v;

		if (n == 0)
			return say(why, len, "an empty flag name in '%s'", s);
		if (n >= sizeof(tok))
			return say(why, len, "unknown flag '%.*s' (known: %s; or a number)", (int)n, p,
				   flag_list(known, sizeof(known)));
		memcpy(tok, p, n);
		tok[n] = 0;
		for (char *q = tok; *q; q++)
			if (*q == '-')
				*q = '_';
		if (!strncasecmp(tok, "slab_", 5))
			skip = 5;
		for (f = slab_flag_names; f->name; f++)
			if (!strcasecmp(tok + skip, f->name))
				break;
		if (f->name) {
			flags |= f->value;
		} else if (tok[0] >= '0' && tok[0] <= '9') {
			if (slab_number_parse(tok, false, &v))
				return say(why, len, "unknown flag '%s' (known: %s; or a number)", tok,
					   flag_list(known, sizeof(known)));
			flags |= v;
		} else {
			return say(why, len, "unknown flag '%s' (known: %s; or a number)", tok,
				   flag_list(known, sizeof(known)));
		}
		if (!p[n])
			break;
		p += n + 1;
	}
	if (slab_flags_check(flags, why, len))
		return -EINVAL;
	*out = flags;
	return 0;
}

int slab_number_parse(const char *s, bool suffix_ok, uint64_t *out)
{
	unsigned base = 10, shift = 0, ndig = 0;
	uint64_t v = 0;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	for (;; s++, ndig++) {
		unsigned d;

		if (*s >= '0' && *s <= '9')
			d = (unsigned)(*s - '0');
		else if (base == 16 && *s >= 'a' && *s <= 'f')
			d = (unsigned)(*s - 'a' + 10);
		else if (base == 16 && *s >= 'A' && *s <= 'F')
			d = (unsigned)(*s - 'A' + 10);
		else
			break;
		if (v > (UINT64_MAX - d) / base)
			return -ERANGE;
		v = v * base + d;
	}
	if (ndig == 0)
		return -EINVAL;
	if (suffix_ok) {
		switch (*s) {
		case 'k': case 'K': shift = 10; s++; break;
		case 'm': case 'M': shift = 20; s++; break;
		case 'g': case 'G': shift = 30; s++; break;
		default: break;
		}
		if (shift && (!strcasecmp(s, "ib") || !strcasecmp(s, "b")))
			s += strlen(s);
		else if (!shift && !strcasecmp(s, "b"))
			s++;
	}
	if (*s)
		return -EINVAL;
	/* a value the unit would carry past 64 bits is refused, never wrapped */
	if (v > (UINT64_MAX >> shift))
		return -ERANGE;
	*out = v << shift;
	return 0;
}

const char *slab_flags_format(uint64_t flags, char *buf, size_t len)
{
	size_t at = 0;

	if (!len)
		return buf;
	buf[0] = 0;
	if (!flags) {
		snprintf(buf, len, "none");
		return buf;
	}
	for (const struct slab_flag_name *f = slab_flag_names; f->name; f++) {
		int n;

		if (!(flags & f->value))
			continue;
		flags &= ~f->value;
		n = snprintf(buf + at, len - at, "%s%s", at ? "," : "", f->name);
		if (n < 0 || (size_t)n >= len - at)
			return buf;
		at += (size_t)n;
	}
	if (flags)
		snprintf(buf + at, len - at, "%s0x%llx", at ? "," : "", (unsigned long long)flags);
	return buf;
}
