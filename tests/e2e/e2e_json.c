/*
 * e2e_json.c - reading slubctl --json through jansson; see e2e.h.  The
 * document starts at the first '{' or '[' of the text (slubctl's stderr may
 * come first in a captured output) and ends at its closing bracket.
 */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "e2e.h"

static json_t *load(const char *text)
{
	const char *p = text ? strpbrk(text, "{[") : NULL;
	json_error_t err;

	return p ? json_loads(p, JSON_DISABLE_EOF_CHECK, &err) : NULL;
}

/* does object o have "name": key (named), or an object under key (member)? */
static json_t *named(json_t *o, const char *key)
{
	json_t *x = json_object_get(o, "name");

	return json_is_string(x) && !strcmp(json_string_value(x), key) ? o : NULL;
}

static json_t *member(json_t *o, const char *key)
{
	json_t *x = json_object_get(o, key);

	return json_is_object(x) ? x : NULL;
}

/* the first object, depth first, that match(object, key) gives */
static json_t *find(json_t *v, json_t *(*match)(json_t *, const char *), const char *key)
{
	json_t *x, *found;
	const char *k;
	size_t i;

	if (json_is_object(v)) {
		if ((found = match(v, key)))
			return found;
		json_object_foreach(v, k, x)
			if ((found = find(x, match, key)))
				return found;
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, x)
			if ((found = find(x, match, key)))
				return found;
	}
	return NULL;
}

static int num_of(json_t *o, const char *field, uint64_t *v)
{
	json_t *x = o ? json_object_get(o, field) : NULL;

	if (!json_is_integer(x) || json_integer_value(x) < 0)
		return -1;
	*v = (uint64_t)json_integer_value(x);
	return 0;
}

int e2e_json_cache_num(const char *json, const char *name, const char *field, uint64_t *v)
{
	json_t *doc = load(json);
	int rc = doc ? num_of(find(doc, named, name), field, v) : -1;

	json_decref(doc);
	return rc;
}

int e2e_json_obj_num(const char *json, const char *obj, const char *field, uint64_t *v)
{
	json_t *doc = load(json);
	int rc = doc ? num_of(find(doc, member, obj), field, v) : -1;

	json_decref(doc);
	return rc;
}

int e2e_json_obj_str(const char *json, const char *obj, const char *field, char *buf, size_t len)
{
	json_t *doc = load(json), *o = doc ? find(doc, member, obj) : NULL;
	json_t *x = o ? json_object_get(o, field) : NULL;
	int rc = -1;

	if (json_is_string(x)) {
		snprintf(buf, len, "%s", json_string_value(x));
		rc = 0;
	}
	json_decref(doc);
	return rc;
}
