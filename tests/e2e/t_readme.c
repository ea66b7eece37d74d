/*
 * t_readme.c - README.md's quick start and example program, taken from the
 * README's own text and run: what it says a user types, the test types; what
 * it says the user sees, the test compares.
 *
 *   example_verbatim   the README's C block (its first ```c block) is
 *                      client/examples/hello.c, byte for byte
 *   example_runs       that block, compiled from the README's text against
 *                      the built libslub.so, run against a private slubd:
 *                      prints what the quick start shows for
 *                      build/examples/hello, exit 0; without a slubd: exit 1
 *                      and "hello: cannot attach to slubd: " with the reason
 *   quickstart         the commands of the quick start's ```sh block, run one
 *                      by one with sh from the top of the sources (as after
 *                      `make run`: SLUBD_SOCKET names a private slubd started
 *                      with slubd's defaults, --hugepages off); a command
 *                      ending in " &" runs in the background and its output
 *                      up to its first line is its own, the rest goes with the
 *                      next command; "0x..." in a command is the first hex
 *                      number the command just before printed.  The "What that
 *                      looks like" block (the next ``` block whose first line
 *                      starts with "$ ") must show exactly these commands, in
 *                      this order, each exiting 0, with their outputs.
 *
 * Comparing outputs (the masking rule, also in README.md): in both the README's
 * lines and the printed ones, the private directory of the test's slubd reads
 * /run/slubd (root's default), every hex number "0x..." reads 0x#, every run
 * of decimal digits N (pids, counts, sizes), every run of blanks one blank,
 * trailing blanks none; and a README line "..." stands for any number of
 * printed lines.  On a difference the case fails, shows for that command a
 * `diff -u` of the README's lines and the printed ones (both masked), and
 * prints the whole block as it ran, in the README's form (outputs over 60
 * lines cut around "..."), to refresh the README once reviewed.
 *
 * The sources are found from $SLUB_SOURCES, else upward from this program
 * (the folder holding README.md and client/slub.h); the build folder is that
 * of $SLUBCTL (the README's "build/" is replaced by it).  $CC (default cc)
 * and $SLUB_TEST_CFLAGS (the build's sanitizer flags) compile the example.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "e2e.h"

/* REQUIRE with a message; both end the case only when cond is false (an
 * earlier failed check does not stop the quick start: it runs on, to show
 * what it prints) */
#define REQUIRE_MSG(cond, ...) do { if (!(cond)) { CHECKF(cond, __VA_ARGS__); return; } } while (0)
#define NEED(cond) REQUIRE_MSG(cond, "%s", #cond)

/* p, or the case ends here (out of memory) */
static void *need(void *p)
{
	if (!p) {
		printf("  out of memory\n");
		exit(1);
	}
	return p;
}

/* ---- the README's text ---------------------------------------------------- */

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "re");
	char *buf = NULL;
	size_t len = 0;

	if (!f)
		return NULL;
	if (getdelim(&buf, &len, '\0', f) < 0) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

/* the top of the sources: $SLUB_SOURCES, else upward from this program */
static const char *sources(void)
{
	static char dir[PATH_MAX];
	const char *env = getenv("SLUB_SOURCES");
	char probe[PATH_MAX + 32], *slash;
	ssize_t n;

	if (env && *env)
		return env;
	if (dir[0])
		return dir;
	n = readlink("/proc/self/exe", dir, sizeof(dir) - 1);
	if (n <= 0)
		return ".";
	dir[n] = '\0';
	while ((slash = strrchr(dir, '/')) && slash != dir) {
		*slash = '\0';
		snprintf(probe, sizeof(probe), "%s/client/slub.h", dir);
		if (access(probe, R_OK) == 0) {
			snprintf(probe, sizeof(probe), "%s/README.md", dir);
			if (access(probe, R_OK) == 0)
				return dir;
		}
	}
	snprintf(dir, sizeof(dir), ".");
	return dir;
}

static char *readme(void)
{
	char path[PATH_MAX + 16];
	char *text;

	snprintf(path, sizeof(path), "%s/README.md", sources());
	text = slurp(path);
	CHECKF(text != NULL, "cannot read %s: %s (set SLUB_SOURCES)", path, strerror(errno));
	return text;
}

/*
 * the body of the first fenced block at or after from whose opening line is
 * fence (e.g. "```c"), and, when first is given, whose first line starts with
 * it; malloc'd, NULL when there is none.  *end: just past the closing fence.
 */
static char *fenced_block(const char *from, const char *fence, const char *first, const char **end)
{
	size_t fl = strlen(fence);

	for (const char *p = from; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		const char *body, *close;

		if (strncmp(p, "```", 3))
			continue;
		body = strchr(p, '\n');
		if (!body)
			return NULL;
		body++;
		close = !strncmp(body, "```\n", 4) ? body - 1 : strstr(body, "\n```\n");
		if (!close)
			return NULL;
		/* a block of another kind, or not starting so: skip it whole */
		if (strncmp(p, fence, fl) || p[fl] != '\n' || (first && strncmp(body, first, strlen(first)))) {
			p = close + 1;
			continue;
		}
		if (end)
			*end = close + 5;
		return strndup(body, (size_t)(close + 1 - body));
	}
	return NULL;
}

/* ---- outputs, masked ---------------------------------------------------- */

struct lines {
	char **v;
	size_t n;
};

static void lines_add(struct lines *l, const char *s, size_t len)
{
	l->v = need(realloc(l->v, (l->n + 1) * sizeof(*l->v)));
	l->v[l->n++] = need(strndup(s, len));
}

/* text split at newlines (a last line without one counts) */
static struct lines split_lines(const char *text)
{
	struct lines l = { NULL, 0 };

	while (text && *text) {
		const char *nl = strchr(text, '\n');
		size_t len = nl ? (size_t)(nl - text) : strlen(text);

		lines_add(&l, text, len);
		text += len + (nl != NULL);
	}
	return l;
}

static void lines_free(struct lines *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

/* the masking rule above, on one line (dir: the test's slubd's, or NULL) */
static char *mask(const char *line, const char *dir)
{
	size_t dl = dir ? strlen(dir) : 0, o = 0;
	char *out = need(malloc(strlen(line) * 2 + 16));

	for (const char *p = line; *p;) {
		if (dl && !strncmp(p, dir, dl)) {
			o += (size_t)sprintf(out + o, "/run/slubd");
			p += dl;
		} else if (!strncmp(p, "0x...", 5)) {	/* the quick start's placeholder */
			o += (size_t)sprintf(out + o, "0x#");
			p += 5;
		} else if (p[0] == '0' && p[1] == 'x' && strchr("0123456789abcdefABCDEF", p[2]) && p[2]) {
			o += (size_t)sprintf(out + o, "0x#");
			for (p += 2; *p && strchr("0123456789abcdefABCDEF", *p); p++)
				;
		} else if (*p >= '0' && *p <= '9') {
			out[o++] = 'N';
			while (*p >= '0' && *p <= '9')
				p++;
		} else if (*p == ' ' || *p == '\t') {
			out[o++] = ' ';
			while (*p == ' ' || *p == '\t')
				p++;
		} else {
			out[o++] = *p++;
		}
	}
	while (o && out[o - 1] == ' ')
		o--;
	out[o] = '\0';
	return out;
}

/* does want (README lines, "..." any number) match got from here on? */
static int lines_match(char **want, size_t nw, char **got, size_t ng)
{
	if (nw == 0)
		return ng == 0;
	if (!strcmp(want[0], "...")) {
		for (size_t k = 0; k <= ng; k++)
			if (lines_match(want + 1, nw - 1, got + k, ng - k))
				return 1;
		return 0;
	}
	return ng > 0 && !strcmp(want[0], got[0]) && lines_match(want + 1, nw - 1, got + 1, ng - 1);
}

/* why output_matches() said no: the first README line not where it should be */
static char mismatch[512];

/* 1 if the printed text matches the README's lines under the masking rule */
static int output_matches(const struct lines *want, const char *printed, const char *dir)
{
	struct lines got = split_lines(printed), w = { NULL, 0 }, g = { NULL, 0 };
	int ok;

	for (size_t i = 0; i < want->n; i++) {
		char *m = mask(want->v[i], NULL);

		lines_add(&w, m, strlen(m));
		free(m);
	}
	for (size_t i = 0; i < got.n; i++) {
		char *m = mask(got.v[i], dir);

		lines_add(&g, m, strlen(m));
		free(m);
	}
	ok = lines_match(w.v, w.n, g.v, g.n);
	mismatch[0] = '\0';
	if (!ok) {
		/* the first README line that is not where it should be, masked */
		size_t j = 0;

		for (size_t i = 0; i < w.n; i++) {
			if (!strcmp(w.v[i], "..."))
				continue;
			while (j < g.n && strcmp(g.v[j], w.v[i]))
				j++;
			if (j == g.n) {
				snprintf(mismatch, sizeof(mismatch), "first README line not printed there "
					 "(masked): %s", w.v[i]);
				break;
			}
			j++;
		}
	}
	lines_free(&got);
	lines_free(&w);
	lines_free(&g);
	return ok;
}

/* printed text in the README's form: dir as /run/slubd, long outputs cut */
static void print_as_readme(FILE *f, const char *printed, const char *dir)
{
	struct lines l = split_lines(printed);
	size_t dl = dir ? strlen(dir) : 0;

	for (size_t i = 0; i < l.n; i++) {
		if (l.n > 60 && i == 1) {
			fprintf(f, "...\n");
			i = l.n - 4;
		}
		for (const char *p = l.v[i]; *p;) {
			if (dl && !strncmp(p, dir, dl)) {
				fputs("/run/slubd", f);
				p += dl;
			} else {
				fputc(*p++, f);
			}
		}
		fputc('\n', f);
	}
	lines_free(&l);
}

/* ---- the commands ----------------------------------------------------- */

/* the build folder: that of $SLUBCTL */
static char *build_dir(void)
{
	char *b = need(strdup(e2e_bin("SLUBCTL", "slubctl"))), *slash;

	slash = strrchr(b, '/');
	if (slash)
		*slash = '\0';
	return b;
}

/* a command of the README as sh runs it here: "build/" is the build folder */
static char *local_command(const char *cmd, const char *build)
{
	char *out = need(malloc(strlen(cmd) + strlen(build) * 4 + 16));
	size_t o = 0;

	for (const char *p = cmd; *p;) {
		if (!strncmp(p, "build/", 6) && (p == cmd || p[-1] == ' ')) {
			o += (size_t)sprintf(out + o, "%s/", build);
			p += 6;
		} else {
			out[o++] = *p++;
		}
	}
	out[o] = '\0';
	return out;
}

/* the first "0x<hex>" in text, into buf; 0 found */
static int first_hex(const char *text, char *buf, size_t len)
{
	for (const char *p = text; p && (p = strstr(p, "0x")); p += 2) {
		size_t n = 2;

		while (p[n] && strchr("0123456789abcdefABCDEF", p[n]))
			n++;
		if (n > 2 && n < len) {
			memcpy(buf, p, n);
			buf[n] = '\0';
			return 0;
		}
	}
	return -1;
}

/* cmd with "0x..." replaced by hex; malloc'd */
static char *with_offset(const char *cmd, const char *hex)
{
	const char *at = strstr(cmd, "0x...");
	char *out = need(malloc(strlen(cmd) + 64));

	if (!at)
		return strcpy(out, cmd);
	sprintf(out, "%.*s%s%s", (int)(at - cmd), cmd, hex, at + 5);
	return out;
}

/* the quick start's commands: the ```sh block, comments cut */
static struct lines quickstart_commands(const char *text)
{
	const char *qs = strstr(text, "\n## Quick start\n");
	struct lines cmds = { NULL, 0 };
	char *block;

	CHECKF(qs != NULL, "README.md has no \"## Quick start\" section");
	if (!qs)
		return cmds;
	block = fenced_block(qs, "```sh", NULL, NULL);
	CHECKF(block != NULL, "README.md's quick start has no ```sh block");
	if (!block)
		return cmds;
	cmds = split_lines(block);
	for (size_t i = 0; i < cmds.n; i++) {
		char *c = cmds.v[i], *hash = strstr(c, " #");
		size_t n;

		if (hash)
			*hash = '\0';
		n = strlen(c);
		while (n && (c[n - 1] == ' ' || c[n - 1] == '\t'))
			c[--n] = '\0';
	}
	free(block);
	return cmds;
}

/*
 * the "What that looks like" block: for each "$ command" line, the lines
 * below it up to the next one; NULL and a failed check when it is missing
 */
struct shown {
	char *cmd;
	struct lines out;
};

static struct shown *quickstart_shown(const char *text, size_t *n)
{
	const char *qs = strstr(text, "\n## Quick start\n");
	struct lines l;
	struct shown *s = NULL;
	char *block;

	*n = 0;
	block = qs ? fenced_block(qs, "```", "$ ", NULL) : NULL;
	CHECKF(block != NULL, "README.md's quick start shows no output (a ``` block of \"$ command\" lines)");
	if (!block)
		return NULL;
	l = split_lines(block);
	for (size_t i = 0; i < l.n; i++) {
		if (!strncmp(l.v[i], "$ ", 2)) {
			s = need(realloc(s, (*n + 1) * sizeof(*s)));
			s[*n].cmd = need(strdup(l.v[i] + 2));
			memset(&s[*n].out, 0, sizeof(s[*n].out));
			(*n)++;
		} else if (*n) {
			lines_add(&s[*n - 1].out, l.v[i], strlen(l.v[i]));
		}
	}
	lines_free(&l);
	free(block);
	return s;
}

/*
 * diff -u of the README's lines and the printed ones in the README's form,
 * both masked: the lines that differ, whatever the numbers
 */
static void show_diff(const struct lines *want, const char *printed, const char *dir)
{
	char a[96], b[96], *buf = NULL, *out = NULL;
	char *argv[] = { "diff", "-u", "--label", "README.md", "--label", "printed", a, b, NULL };
	int fa = mkstemp(e2e_tmp_template(a, sizeof(a), "t_readme"));
	int fb = mkstemp(e2e_tmp_template(b, sizeof(b), "t_readme"));
	FILE *fw = fa >= 0 ? fdopen(fa, "w") : NULL, *fp = fb >= 0 ? fdopen(fb, "w") : NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&buf, &len);
	struct lines got;

	if (!fw || !fp || !mem) {
		printf("  (no diff: %s)\n", strerror(errno));
		return;
	}
	print_as_readme(mem, printed, dir);
	fclose(mem);
	got = split_lines(buf);
	for (size_t i = 0; i < want->n; i++) {
		char *m = mask(want->v[i], NULL);

		fprintf(fw, "%s\n", m);
		free(m);
	}
	for (size_t i = 0; i < got.n; i++) {
		char *m = mask(got.v[i], NULL);

		fprintf(fp, "%s\n", m);
		free(m);
	}
	fclose(fw);
	fclose(fp);
	e2e_run(argv, &out, 10000);
	printf("%s", out ? out : "");
	free(out);
	free(buf);
	lines_free(&got);
	unlink(a);
	unlink(b);
}

/* ---- the cases ------------------------------------------------------------ */

E2E_CASE(example_verbatim)
{
	char *text = readme(), *block, *file, path[PATH_MAX + 40];
	struct lines a, b;

	REQUIRE(text != NULL);
	block = fenced_block(text, "```c", NULL, NULL);
	REQUIRE_MSG(block != NULL, "README.md has no ```c block (the example program)");
	snprintf(path, sizeof(path), "%s/client/examples/hello.c", sources());
	file = slurp(path);
	REQUIRE_MSG(file != NULL, "cannot read client/examples/hello.c");
	if (strcmp(block, file)) {
		a = split_lines(block);
		b = split_lines(file);
		for (size_t i = 0; i < a.n || i < b.n; i++)
			if (i >= a.n || i >= b.n || strcmp(a.v[i], b.v[i])) {
				CHECKF(0, "README.md's example and client/examples/hello.c differ at line %zu:\n"
				       "  README: %s\n  hello.c: %s", i + 1, i < a.n ? a.v[i] : "(ends)",
				       i < b.n ? b.v[i] : "(ends)");
				break;
			}
		lines_free(&a);
		lines_free(&b);
	}
	free(file);
	free(block);
	free(text);
}

E2E_CASE(example_runs)
{
	char *text = readme(), *block, *build = build_dir(), *out = NULL, *cc;
	char src[256], prog[256], nosock[256], *sh[] = { "/bin/sh", "-c", NULL, NULL };
	const char *flags = getenv("SLUB_TEST_CFLAGS");
	struct e2e_slubd *d;
	struct shown *shown;
	size_t nshown, want = (size_t)-1;
	FILE *f;
	int rc;

	REQUIRE(text != NULL);
	block = fenced_block(text, "```c", NULL, NULL);
	REQUIRE_MSG(block != NULL, "README.md has no ```c block (the example program)");
	shown = quickstart_shown(text, &nshown);
	for (size_t i = 0; i < nshown; i++)
		if (!strcmp(shown[i].cmd, "build/examples/hello"))
			want = i;
	CHECKF(want != (size_t)-1, "the quick start does not show build/examples/hello's output");

	d = e2e_start(NULL);
	REQUIRE(d != NULL);
	snprintf(src, sizeof(src), "%s/readme.c", d->dir);
	snprintf(prog, sizeof(prog), "%s/readme", d->dir);
	f = fopen(src, "we");
	REQUIRE(f && fputs(block, f) >= 0 && fclose(f) == 0);
	REQUIRE(asprintf(&cc, "%s %s -std=gnu11 -Wall -Wextra -Werror -I'%s/client' '%s' -o '%s' "
			 "-L'%s' -lslub -Wl,-rpath,'%s'", getenv("CC") && *getenv("CC") ? getenv("CC") : "cc",
			 flags ? flags : "", sources(), src, prog, build, build) > 0);
	sh[2] = cc;
	rc = e2e_run(sh, &out, 120000);
	REQUIRE_MSG(rc == 0, "the README's example does not compile (%s):\n%s", cc, out ? out : "");
	free(out);

	/* with slubd: what the quick start shows */
	setenv("SLUBD_SOCKET", d->sock, 1);
	sh[2] = prog;
	rc = e2e_run(sh, &out, 10000);
	CHECKF(rc == 0, "the README's example exited %d with slubd running:\n%s", rc, out ? out : "");
	if (want != (size_t)-1 && !output_matches(&shown[want].out, out, d->dir)) {
		printf("  the README's example: %s\n", mismatch);
		show_diff(&shown[want].out, out, d->dir);
		CHECKF(0, "the README's example does not print what the README shows for build/examples/hello");
	}
	free(out);
	CHECKF(e2e_wait_listed(d->sock, "hello.note", 0, 3000, NULL) == 0,
	       "hello.note still listed after the example exited");

	/* without: says so, exit 1 */
	snprintf(nosock, sizeof(nosock), "%s/nobody.sock", d->dir);
	setenv("SLUBD_SOCKET", nosock, 1);
	rc = e2e_run(sh, &out, 10000);
	CHECKF(rc == 1 && out && !strncmp(out, "hello: cannot attach to slubd: ", 31) &&
	       strlen(out) > 40 && strstr(out, "nobody.sock"),
	       "without slubd the README's example must exit 1 saying why; exit %d:\n%s", rc, out ? out : "");
	free(out);
	e2e_stop(d);
	free(cc);
	free(block);
	free(build);
	free(text);
}

E2E_CASE(quickstart)
{
	char *text = readme(), *build = build_dir(), hex[64] = "", *sh[] = { "/bin/sh", "-c", NULL, NULL };
	struct e2e_opts o = { .arena_size = "" };	/* slubd's default size, as make run */
	struct lines cmds;
	struct shown *shown;
	size_t nshown;
	struct e2e_slubd *d;
	char **printed, (*hexes)[64];
	pid_t bg = 0;
	int bg_fd = -1, differ = 0;

	NEED(text != NULL);
	cmds = quickstart_commands(text);
	shown = quickstart_shown(text, &nshown);
	NEED(cmds.n > 0 && shown != NULL);
	printed = need(calloc(cmds.n, sizeof(*printed)));
	hexes = need(calloc(cmds.n, sizeof(*hexes)));
	/* the block shows exactly the commands */
	for (size_t i = 0; i < cmds.n || i < nshown; i++) {
		char *a = i < cmds.n ? mask(cmds.v[i], NULL) : need(strdup("(none)"));
		char *b = i < nshown ? mask(shown[i].cmd, NULL) : need(strdup("(none)"));

		CHECKF(!strcmp(a, b), "command %zu: the ```sh block has \"%s\", the output shown is for \"%s\"",
		       i + 1, i < cmds.n ? cmds.v[i] : "(none)", i < nshown ? shown[i].cmd : "(none)");
		free(a);
		free(b);
	}

	/* slubd's socket on tmpfs, as under /run or $XDG_RUNTIME_DIR */
	if (access("/dev/shm", W_OK) == 0)
		setenv("TMPDIR", "/dev/shm", 1);
	d = e2e_start(&o);
	NEED(d != NULL);
	setenv("SLUBD_SOCKET", d->sock, 1);
	REQUIRE_MSG(chdir(sources()) == 0, "chdir %s: %s", sources(), strerror(errno));

	for (size_t i = 0; i < cmds.n; i++) {
		char *cmd = with_offset(cmds.v[i], hex), *run, *out = NULL;
		size_t len = strlen(cmd), olen = 0;
		int rc;

		if (len > 2 && !strcmp(cmd + len - 2, " &")) {
			cmd[len - 2] = '\0';
			run = local_command(cmd, build);
			sh[2] = run;
			bg = e2e_spawn(sh, &bg_fd);
			NEED(bg > 0);
			CHECKF(e2e_read_until(bg_fd, &out, &olen, "\n", 10000) == 0,
			       "`%s` printed no line within 10 s:\n%s", cmds.v[i], out ? out : "");
			printed[i] = out ? out : need(strdup(""));
		} else {
			run = local_command(cmd, build);
			sh[2] = run;
			rc = e2e_run(sh, &out, 60000);
			CHECKF(rc == 0, "`%s` exited %d:\n%s", cmds.v[i], rc, out ? out : "");
			if (bg > 0) {
				/* what the background command printed meanwhile and after */
				char *rest = NULL;
				size_t rlen = 0;
				int status;

				e2e_read_all(bg_fd, &rest, &rlen, 20000);
				close(bg_fd);
				status = e2e_waitpid_timeout(bg, 10000);
				CHECKF(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
				       "the background command before `%s` did not exit 0:\n%s", cmds.v[i],
				       rest ? rest : "");
				if (rest && *rest) {
					char *both;

					NEED(asprintf(&both, "%s%s", out ? out : "", rest) > 0);
					free(out);
					out = both;
				}
				free(rest);
				bg = 0;
			}
			printed[i] = out ? out : need(strdup(""));
		}
		hex[0] = '\0';
		first_hex(printed[i], hex, sizeof(hex));
		memcpy(hexes[i], hex, sizeof(hex));
		if (i >= nshown || !output_matches(&shown[i].out, printed[i], d->dir)) {
			struct lines none = { NULL, 0 };

			printf("  `%s`: %s\n", cmds.v[i], i < nshown ? mismatch : "not in the README's block");
			show_diff(i < nshown ? &shown[i].out : &none, printed[i], d->dir);
			differ++;
		}
		free(run);
		free(cmd);
	}
	if (differ) {
		printf("  the quick start as it ran here, to refresh README.md (review, then paste):\n```\n");
		for (size_t i = 0; i < cmds.n; i++) {
			char *cmd = with_offset(cmds.v[i], i ? hexes[i - 1] : "");

			printf("$ %s\n", cmd);
			print_as_readme(stdout, printed[i], d->dir);
			free(cmd);
		}
		printf("```\n");
		CHECKF(0, "%d of %zu commands printed other than README.md's quick start shows", differ, cmds.n);
	}
	e2e_stop(d);
	for (size_t i = 0; i < cmds.n; i++)
		free(printed[i]);
	free(printed);
	free(hexes);
	lines_free(&cmds);
	for (size_t i = 0; i < nshown; i++) {
		free(shown[i].cmd);
		lines_free(&shown[i].out);
	}
	free(shown);
	free(build);
	free(text);
}

T_MAIN(T_CASE(example_verbatim), T_CASE(example_runs), T_CASE(quickstart))
