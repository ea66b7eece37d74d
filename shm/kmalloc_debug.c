/*
 * kmalloc_debug.c - the kmalloc caches' names and sizes (kmalloc_names,
 * kmalloc_size, by kmalloc index), and debugging them, as the kernel's
 * slab_debug= boot option does: which kmalloc caches of a new arena get red
 * zones, poison and owner records (shm.h has the syntax).
 *
 * Layer: low, beside meta.c, whose cache_of_off it calls; the bootstrap
 * (slub_cache.c) and validate.c read the names.
 *
 * A pool takes its SLAB_* flags when it is created; the kmalloc caches are
 * made with the arena (slab_bootstrap), so their flags come from here: the
 * spec slab_debug_set() gave this process (slubd, from its config), read
 * once per arena at its making.  An arena made before keeps its caches as
 * they are (slab_debug_compare says how they differ).
 *
 * With Z, a kmalloc cache also records each object's requested size
 * (SLAB_KMALLOC, the kernel's orig_size) and red-zones the bytes between it
 * and the size class (internal.h, kmalloc_set_orig), so that kmalloc(50)
 * written at byte 60 is caught, not only a write past the class's 64 bytes.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

_Static_assert(sizeof(((struct slab_debug_spec *)0)->flags) / sizeof(unsigned long) == NR_KMALLOC,
	       "one entry per kmalloc index");

/* written before the arenas it applies to are made (slubd's start): no lock */
static struct slab_debug_spec g_spec;

/* ---- the kmalloc caches: their names and sizes, by kmalloc index ---------- */

const char *const kmalloc_names[NR_KMALLOC] = {
	NULL, "kmalloc-96", "kmalloc-192", "kmalloc-8", "kmalloc-16", "kmalloc-32",
	"kmalloc-64", "kmalloc-128", "kmalloc-256", "kmalloc-512", "kmalloc-1k",
	"kmalloc-2k", "kmalloc-4k", "kmalloc-8k",
};

size_t kmalloc_size(int index)
{
	return index == 1 ? 96 : index == 2 ? 192 : (size_t)1 << index;
}

/* ---- their debug flags ---------------------------------------------------- */

static size_t class_size(int i)
{
	return kmalloc_size(i);
}

static bool class_exists(int i)
{
	return i >= 1 && i < NR_KMALLOC && (i <= 2 || i >= KMALLOC_SHIFT_LOW);
}

/* "kmalloc-64", "kmalloc-1k": the names slab_bootstrap gives */
static const char *class_name(int i, char buf[16])
{
	size_t n = class_size(i);

	if (n >= 1024)
		snprintf(buf, 16, "kmalloc-%zuk", n / 1024);
	else
		snprintf(buf, 16, "kmalloc-%zu", n);
	return buf;
}

/* does the cache pattern pat (len bytes, maybe ending in '*') name class i? */
static bool pattern_names(const char *pat, size_t len, int i)
{
	char name[16];

	class_name(i, name);
	if (len && pat[len - 1] == '*')
		return !strncmp(name, pat, len - 1);
	return strlen(name) == len && !strncmp(name, pat, len);
}

static int parse_flags(const char *p, size_t len, unsigned long *flags, char *err, size_t errlen)
{
	bool consistency = false;

	*flags = 0;
	if (len == 1 && *p == '-')
		return 0;
	if (len == 0) {
		snprintf(err, errlen, "slab_debug: empty flags: give letters of F, Z, P, U, or - for "
			 "none (e.g. FZP,kmalloc-*)");
		return -EINVAL;
	}
	for (size_t k = 0; k < len; k++) {
		switch (toupper((unsigned char)p[k])) {
		case 'F': consistency = true; break;
		case 'Z': *flags |= SLAB_RED_ZONE | SLAB_KMALLOC; break;
		case 'P': *flags |= SLAB_POISON; break;
		case 'U': *flags |= SLAB_STORE_USER; break;
		default:
			snprintf(err, errlen, "slab_debug: flag '%c' is not one slubd has: F (consistency "
				 "checks), Z (red zone), P (poison), U (store user), or - for none",
				 (unsigned char)p[k] >= 0x20 && (unsigned char)p[k] < 0x7f ? p[k] : '?');
			return -EINVAL;
		}
	}
	if (consistency && !*flags) {
		/* here every debug cache runs checked: F alone would make none */
		snprintf(err, errlen, "slab_debug: F alone debugs nothing here: the consistency "
			 "checks run in every cache with Z, P or U; give one of them too (e.g. FZ)");
		return -EINVAL;
	}
	return 0;
}

int slab_debug_parse(const char *text, struct slab_debug_spec *out, char *err, size_t errlen)
{
	const char *p = text;

	memset(out, 0, sizeof(*out));
	if (!text || strlen(text) > SLAB_DEBUG_TEXT_MAX) {
		snprintf(err, errlen, "slab_debug: longer than %d bytes", SLAB_DEBUG_TEXT_MAX);
		return -EINVAL;
	}
	while (*p) {
		size_t blen = strcspn(p, ";"), flen = strcspn(p, ",;");
		unsigned long flags;
		bool named = false;
		const char *c;
		int rc = parse_flags(p, flen, &flags, err, errlen);

		if (rc)
			return rc;
		for (c = p + flen; c < p + blen;) {
			size_t clen;
			bool any = false;

			c++;	/* the ',' */
			clen = strcspn(c, ",;");
			if (!clen) {
				snprintf(err, errlen, "slab_debug: an empty cache name in \"%.*s\"",
					 (int)blen, p);
				return -EINVAL;
			}
			for (int i = 1; i < NR_KMALLOC; i++) {
				if (class_exists(i) && pattern_names(c, clen, i)) {
					out->flags[i] = flags;
					any = true;
				}
			}
			if (!any) {
				snprintf(err, errlen, "slab_debug: \"%.*s\" names no kmalloc cache "
					 "(kmalloc-8 .. kmalloc-8k, kmalloc-96, kmalloc-192, or a prefix "
					 "and '*' as kmalloc-*); a pool takes SLAB_* flags at its "
					 "creation instead", (int)(clen > 40 ? 40 : clen), c);
				return -EINVAL;
			}
			named = true;
			c += clen;
		}
		if (!named)	/* no cache named: every kmalloc cache */
			for (int i = 1; i < NR_KMALLOC; i++)
				if (class_exists(i))
					out->flags[i] = flags;
		p += blen;
		if (*p == ';')
			p++;
	}
	return 0;
}

void slab_debug_set(const struct slab_debug_spec *sp)
{
	if (sp)
		g_spec = *sp;
	else
		memset(&g_spec, 0, sizeof(g_spec));
}

unsigned long slab_debug_kmalloc_flags(int i)
{
	return i > 0 && i < NR_KMALLOC ? g_spec.flags[i] : 0;
}

static const char *flags_words(unsigned long f, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s%s%s", f & SLAB_RED_ZONE ? ", red zone" : "",
		 f & SLAB_POISON ? ", poison" : "", f & SLAB_STORE_USER ? ", store user" : "",
		 f & SLAB_DEBUG_FLAGS ? "" : ", none");
	return buf + 2;
}

void slab_debug_describe(const struct slab_debug_spec *sp, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = 0;
	for (int i = 1; i < NR_KMALLOC && n < len; i++) {
		char name[16], w[48];

		if (!class_exists(i) || !(sp->flags[i] & SLAB_DEBUG_FLAGS))
			continue;
		n += (size_t)snprintf(buf + n, len - n, "%s%s (%s)", n ? ", " : "",
				      class_name(i, name), flags_words(sp->flags[i], w, sizeof(w)));
	}
	if (!buf[0])
		snprintf(buf, len, "none");
}

int slab_debug_compare(struct arena *a, const struct slab_debug_spec *sp, char *buf, size_t len)
{
	for (int i = 1; i < NR_KMALLOC; i++) {
		struct kmem_cache *s;
		unsigned long has, want;
		char name[16], w1[48], w2[48];

		if (!class_exists(i))
			continue;
		s = cache_of_off(a, atomic_load_relaxed(&a->hdr->kmalloc_caches[i]));
		if (!s)
			continue;	/* validate reports a broken header */
		has = s->flags & SLAB_DEBUG_FLAGS;
		want = sp->flags[i] & SLAB_DEBUG_FLAGS;
		if (has != want) {
			snprintf(buf, len, "%s has %s, slab_debug asks %s", class_name(i, name),
				 flags_words(has, w1, sizeof(w1)), flags_words(want, w2, sizeof(w2)));
			return 1;
		}
	}
	buf[0] = 0;
	return 0;
}
