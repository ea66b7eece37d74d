/*
 * t_man.c - slub(3) documents every symbol of slub.h: each function and
 * macro slub.h defines is named in man/slub.3, each function (but the
 * library's internals, __*) has a link page man/NAME.3 (".so man3/slub.3",
 * so that "man kmem_cache_alloc" finds slub(3) once installed), every link
 * page names a function of slub.h, and mandoc -T lint finds nothing in
 * slub.3.
 *
 * The sources are read from $SLUB_SRCDIR, else from the tree this binary was
 * built in (build/tests/unit/t_man: three directories up).
 */
#include <ctype.h>
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#define MAX_NAMES 128

static char srcdir[1024];	/* the source tree */

static const char *src(const char *rel, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s", srcdir, rel);
	return buf;
}

static int find_srcdir(void)
{
	const char *env = getenv("SLUB_SRCDIR");
	char path[PATH_MAX], probe[PATH_MAX];
	ssize_t n;

	if (env && *env) {
		if (strlen(env) >= sizeof(srcdir))
			return -1;
		strcpy(srcdir, env);
	} else {
		n = readlink("/proc/self/exe", path, sizeof(path) - 1);
		if (n <= 0)
			return -1;
		path[n] = 0;
		/*
		 * up from the binary to the first directory holding
		 * client/slub.h: build/tests/unit/t_man, and the sanitizer
		 * variants' build/variant-NAME/tests/unit/t_man
		 */
		for (;;) {
			char *slash = strrchr(path, '/');

			if (!slash || slash == path)
				return -1;
			*slash = 0;
			if (strlen(path) >= sizeof(srcdir))
				return -1;
			strcpy(srcdir, path);
			if (access(src("client/slub.h", probe, sizeof(probe)), R_OK) == 0)
				return 0;
		}
	}
	return access(src("client/slub.h", probe, sizeof(probe)), R_OK);
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t len = 0, cap = 0, got;

	if (!f)
		return NULL;
	do {
		if (cap - len < 4096) {
			char *nb = realloc(buf, cap + 65536);

			if (!nb) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = nb;
			cap += 65536;
		}
		got = fread(buf + len, 1, cap - len - 1, f);
		len += got;
	} while (got);
	fclose(f);
	buf[len] = 0;
	return buf;
}

static int ident_char(int c)
{
	return isalnum(c) || c == '_';
}

struct names {
	char name[MAX_NAMES][64];
	int is_fn[MAX_NAMES];
	int n;
};

static void add(struct names *v, const char *p, size_t len, int is_fn)
{
	if (v->n < MAX_NAMES && len < sizeof(v->name[0])) {
		memcpy(v->name[v->n], p, len);
		v->name[v->n][len] = 0;
		v->is_fn[v->n++] = is_fn;
	}
}

/*
 * slub.h's symbols: "#define NAME" (not its include guard), and the name
 * before the first '(' of a line declaring a function ("SLUB_API ..." or
 * "static inline ...")
 */
static int header_names(struct names *v)
{
	char path[PATH_MAX];
	char *h = slurp(src("client/slub.h", path, sizeof(path))), *line, *save = NULL;

	if (!h)
		return -1;
	v->n = 0;
	for (line = strtok_r(h, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (!strncmp(line, "#define ", 8)) {
			const char *p = line + 8;
			size_t len = 0;

			while (ident_char((unsigned char)p[len]))
				len++;
			if (len && strncmp(p, "SLUB_H", len))
				add(v, p, len, 0);
		} else if ((!strncmp(line, "SLUB_API ", 9) || !strncmp(line, "static inline ", 14)) &&
			   strchr(line, '(')) {
			const char *paren = strchr(line, '('), *b = paren;

			while (b > line && ident_char((unsigned char)b[-1]))
				b--;
			if (paren > b)
				add(v, b, (size_t)(paren - b), 1);
		}
	}
	free(h);
	return 0;
}

/* name as a whole word in text */
static int names_word(const char *text, const char *name)
{
	size_t len = strlen(name);

	for (const char *p = strstr(text, name); p; p = strstr(p + 1, name))
		if ((p == text || !ident_char((unsigned char)p[-1])) && !ident_char((unsigned char)p[len]))
			return 1;
	return 0;
}

static void every_symbol_named(void)
{
	struct names v;
	char path[PATH_MAX], *page;
	int fns = 0;

	REQUIRE(header_names(&v) == 0);
	page = slurp(src("man/slub.3", path, sizeof(path)));
	REQUIRE(page != NULL);
	for (int i = 0; i < v.n; i++) {
		fns += v.is_fn[i];
		CHECKF(names_word(page, v.name[i]), "slub.h's %s %s is not named in man/slub.3",
		       v.is_fn[i] ? "function" : "macro", v.name[i]);
	}
	/* the parse found the API: a broken parse must not pass quietly */
	CHECKF(fns >= 20 && v.n >= fns + 10, "only %d functions and %d macros found in slub.h", fns,
	       v.n - fns);
	free(page);
}

static int is_link_page(const char *path)
{
	char *t = slurp(path);
	int ok = t && !strcmp(t, ".so man3/slub.3\n");

	free(t);
	return ok;
}

static void link_pages(void)
{
	struct names v;
	char path[PATH_MAX], dir[PATH_MAX];
	struct dirent *e;
	DIR *d;

	REQUIRE(header_names(&v) == 0);
	for (int i = 0; i < v.n; i++) {
		char rel[96];

		if (!v.is_fn[i] || !strncmp(v.name[i], "__", 2))
			continue;	/* macros, and the library's internals */
		snprintf(rel, sizeof(rel), "man/%s.3", v.name[i]);
		CHECKF(is_link_page(src(rel, path, sizeof(path))),
		       "%s: missing, or not the one line \".so man3/slub.3\"", rel);
	}
	/* and every link page is one of slub.h's functions */
	d = opendir(src("man", dir, sizeof(dir)));
	REQUIRE(d != NULL);
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name);
		int known = 0;

		if (len < 3 || strcmp(e->d_name + len - 2, ".3") || !strcmp(e->d_name, "slub.3"))
			continue;
		for (int i = 0; i < v.n; i++)
			known |= v.is_fn[i] && strlen(v.name[i]) == len - 2 &&
				 !strncmp(v.name[i], e->d_name, len - 2);
		CHECKF(known, "man/%s names no function of slub.h", e->d_name);
	}
	closedir(d);
}

static void mandoc_lint(void)
{
	char cmd[PATH_MAX + 128], path[PATH_MAX], out[512] = "";
	FILE *p;
	size_t n;
	int rc;

	if (system("command -v mandoc >/dev/null 2>&1") != 0)
		SKIP("mandoc is not installed (apt-get install mandoc)");
	snprintf(cmd, sizeof(cmd), "mandoc -T lint -W style '%s' 2>&1",
		 src("man/slub.3", path, sizeof(path)));
	p = popen(cmd, "r");
	REQUIRE(p != NULL);
	n = fread(out, 1, sizeof(out) - 1, p);
	out[n] = 0;
	rc = pclose(p);
	CHECKF(rc == 0 && n == 0, "mandoc -T lint -W style man/slub.3 (status %d):\n%s", rc, out);
}

int main(int argc, char **argv)
{
	static const struct t_case cases[] = {
		T_CASE(every_symbol_named), T_CASE(link_pages), T_CASE(mandoc_lint),
	};

	if (find_srcdir()) {
		printf("FAIL t_man: no client/slub.h under %s (set SLUB_SRCDIR to the source tree)\n",
		       srcdir[0] ? srcdir : "(unknown)");
		return 1;
	}
	return t_main(cases, (int)(sizeof(cases) / sizeof(cases[0])), argc, argv);
}
