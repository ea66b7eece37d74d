/*
 * t_names.c - the one reader of numbers and sizes (shm/names.c,
 * slab_number_parse), which slubctl's arguments, slubd's --arena-size and
 * configuration, and flags given as numbers all go through:
 *
 *   numbers_read    what it reads, suffixes and bases, and what it refuses
 *                   (a sign, blanks, junk after the number, a unit where
 *                   none is allowed) and says is out of range (past 2^64)
 *   flags_numbers   flags given as numbers read the same way
 */
#include "unit.h"

ISOLATED(numbers_read)
{
	static const struct { const char *s; bool suffix; int rc; uint64_t v; } t[] = {
		{ "0", true, 0, 0 },
		{ "4096", true, 0, 4096 },
		{ "0x1000", true, 0, 4096 },
		{ "0X1f", false, 0, 31 },
		{ "010", true, 0, 10 },		/* decimal, never octal */
		{ "16G", true, 0, 16ULL << 30 },
		{ "256M", true, 0, 256ULL << 20 },
		{ "1GiB", true, 0, 1ULL << 30 },
		{ "1kib", true, 0, 1024 },
		{ "2KB", true, 0, 2048 },
		{ "7b", true, 0, 7 },
		{ "18446744073709551615", false, 0, ~0ULL },
		{ "18446744073709551616", false, -ERANGE, 0 },
		{ "17179869184G", true, -ERANGE, 0 },	/* 2^34 GiB = 2^64 bytes */
		{ "", true, -EINVAL, 0 },
		{ "-1", true, -EINVAL, 0 },
		{ "+1", true, -EINVAL, 0 },
		{ " 1", true, -EINVAL, 0 },
		{ "\t-1", true, -EINVAL, 0 },
		{ " -1G", true, -EINVAL, 0 },
		{ "1 ", true, -EINVAL, 0 },
		{ "1T", true, -EINVAL, 0 },
		{ "1M", false, -EINVAL, 0 },
		{ "0x", true, -EINVAL, 0 },
		{ "1MiBx", true, -EINVAL, 0 },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		uint64_t v = 12345;
		int rc = slab_number_parse(t[i].s, t[i].suffix, &v);

		CHECKF(rc == t[i].rc && (rc || v == t[i].v), "'%s' (suffix %s): rc %d value %llu, want "
		       "rc %d value %llu", t[i].s, t[i].suffix ? "allowed" : "not allowed", rc,
		       (unsigned long long)v, t[i].rc, (unsigned long long)t[i].v);
		CHECKF(rc == 0 || v == 12345, "'%s': refused, yet the value was written", t[i].s);
	}
}

ISOLATED(flags_numbers)
{
	char why[256];
	uint64_t f = 0;

	CHECK(slab_flags_parse("0x400,poison", &f, why, sizeof(why)) == 0 &&
	      f == (SLAB_RED_ZONE | SLAB_POISON));
	CHECK(slab_flags_parse("1024", &f, why, sizeof(why)) == 0 && f == SLAB_RED_ZONE);
	CHECKF(slab_flags_parse("1024K", &f, why, sizeof(why)) == -EINVAL && strstr(why, "unknown flag"),
	       "a flag number with a unit: %s", why);
}

T_MAIN(T_CASE(numbers_read),
       T_CASE(flags_numbers))
