/*
 * t_e2e_refuse.c - end-to-end tests of what slubd and libslub refuse: bad
 * pools and attaches, a uid the policy does not allow, garbage on the
 * control socket.
 *
 * Every case starts its own slubd (64 MiB arena, no huge pages) on a socket
 * in a private directory, runs in a forked child of its own (a fresh,
 * never-attached library) under a timeout, and ends by checking that slubd
 * is still alive and exits 0 on SIGTERM.  See e2e.h.
 *
 *   create_errors        every error of kmem_cache_create and slub_attach,
 *                        with its exact errno; slubd's own checks on the wire
 *   access_refused       a uid the policy does not allow is refused (root only)
 *   garbage              slubd survives hostile and broken clients
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "e2e.h"
#include "slub.h"

/* ---- raw requests --------------------------------------------------------- */

/* one raw request on c; the response (free it) or NULL with a failed check */
static Slubd__Response *raw_call(struct ctl_conn *c, Slubd__Request *req, int *fd_out)
{
	Slubd__Response *resp = NULL;
	char err[256] = "";
	int rc = ctl_call(c, req, &resp, fd_out, err, sizeof(err));

	CHECKF(rc == 0, "request %u: %s", req->id, err);
	return rc ? NULL : resp;
}

/* is the decimal number n in text, as a whole number? */
static int names_number(const char *text, unsigned long n)
{
	for (const char *p = text; p && *p; p++) {
		char *end;

		if (*p < '0' || *p > '9' || (p > text && p[-1] >= '0' && p[-1] <= '9'))
			continue;
		if (strtoul(p, &end, 10) == n)
			return 1;
	}
	return 0;
}

/* ---- (b) errors of kmem_cache_create and slub_attach ----------------------- */

static void ctor_fill(void *p)
{
	memset(p, 0xc7, 16);
}

/* a name as C source would write it, cut at 40 bytes */
static const char *shown(const char *name, char buf[200])
{
	size_t n = 0, len;

	if (!name)
		return "(null)";
	len = strlen(name);
	for (size_t i = 0; i < len && i < 40 && n < 190; i++) {
		unsigned char ch = (unsigned char)name[i];

		if (ch >= 0x20 && ch < 0x7f && ch != '\\' && ch != '"')
			buf[n++] = (char)ch;
		else
			n += (size_t)snprintf(buf + n, 200 - n, "\\x%02x", ch);
	}
	if (len > 40)
		n += (size_t)snprintf(buf + n, 200 - n, "...(%zu bytes)", len);
	buf[n] = '\0';
	return buf;
}

static void expect_einval_etc(const char *name, size_t size, size_t align, unsigned long flags,
			      void (*ctor)(void *), int want, const char *what)
{
	struct kmem_cache *s;
	char buf[200];
	int e;

	errno = 0;
	s = kmem_cache_create(name, size, align, flags, ctor);
	e = errno;
	CHECKF(s == NULL && e == want,
	       "%s: kmem_cache_create(\"%s\", %zu, %zu, %#lx, %s) = %p, errno %d (%s); want NULL, %s",
	       what, shown(name, buf), size, align, flags, ctor ? "ctor" : "NULL", (void *)s, e,
	       strerror(e), strerror(want));
	if (s)
		kmem_cache_destroy(s);
}

static struct kmem_cache *expect_ok(const char *name, size_t size, size_t align, unsigned long flags,
				    void (*ctor)(void *), const char *what)
{
	struct kmem_cache *s;

	errno = 0;
	s = kmem_cache_create(name, size, align, flags, ctor);
	CHECKF(s != NULL, "%s: kmem_cache_create(\"%s\", %zu, %zu, %#lx) failed: %s", what, name, size,
	       align, flags, strerror(errno));
	return s;
}

/* create, allocate one object, write all of it, free, destroy */
static void expect_usable(const char *name, size_t size, size_t align, unsigned long flags,
			  const char *what)
{
	struct kmem_cache *s = expect_ok(name, size, align, flags, NULL, what);
	uint8_t *o;

	if (!s)
		return;
	CHECKF(kmem_cache_size(s) == size, "%s: kmem_cache_size %u", what, kmem_cache_size(s));
	o = kmem_cache_alloc(s, GFP_KERNEL);
	CHECKF(o != NULL, "%s: kmem_cache_alloc: %s", what, strerror(errno));
	if (o) {
		CHECKF(align < 2 || ((uintptr_t)o & (align - 1)) == 0, "%s: object %p not aligned to %zu",
		       what, (void *)o, align);
		memset(o, 0xa1, size);
		kmem_cache_free(s, o);
	}
	kmem_cache_destroy(s);
}

/* a raw Create on an attached connection; the response's err */
static int raw_create(struct ctl_conn *c, const char *name, uint64_t size, uint64_t align,
		      uint64_t flags, char *error, size_t errlen)
{
	Slubd__Request req = SLUBD__REQUEST__INIT;
	Slubd__CreateRequest cr = SLUBD__CREATE_REQUEST__INIT;
	Slubd__Response *resp;
	int err;

	cr.name = (char *)name;
	cr.size = size;
	cr.has_align = 1;
	cr.align = align;
	cr.has_flags = 1;
	cr.flags = flags;
	req.body_case = SLUBD__REQUEST__BODY_CREATE;
	req.create = &cr;
	resp = raw_call(c, &req, NULL);
	if (!resp)
		return -1;
	err = resp->err;
	snprintf(error, errlen, "%s", resp->error ? resp->error : "");
	if (!err)
		CHECKF(resp->body_case == SLUBD__RESPONSE__BODY_CREATE && resp->create->offset != 0,
		       "create %s: a success without an offset", name);
	slubd__response__free_unpacked(resp, NULL);
	return err;
}

E2E_CASE(create_errors)
{
	static const char *const bad_names[] = {
		"", "a b", "a/b", "a*b", "tab\there", "new\nline", "del\x7f", "caf\xc3\xa9", "a@b",
		"a+b", "a,b", "a;b", "a\"b", "a\\b", "a#b", "(x)", "a=b", "~home",
	};
	struct e2e_slubd *d = e2e_start(NULL);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct kmem_cache *s, *s2, *keep;
	struct e2e_cache kc = { .refcount = -1 };
	char path[200], name31[32], name32[33], error[256];
	struct ctl_conn c;
	int local = 0, rc, fd, afd = -1;

	REQUIRE(d != NULL);

	/* before slub_attach: not connected */
	errno = 0;
	s = kmem_cache_create("e2e.early", 64, 0, 0, NULL);
	CHECKF(s == NULL && errno == ENOTCONN, "kmem_cache_create before attach: %p errno %d (%s)",
	       (void *)s, errno, strerror(errno));
	errno = 0;
	CHECKF(kmalloc(32, GFP_KERNEL) == NULL && errno == ENOTCONN, "kmalloc before attach: errno %d",
	       errno);
	CHECK(slub_offset(&local) == 0);
	CHECK(slub_ptr(4096) == NULL);

	/* nobody there */
	snprintf(path, sizeof(path), "%s/nosuch.sock", d->dir);
	rc = slub_attach(path);
	CHECKF(rc == -ENOENT, "slub_attach(no such socket): %d (%s), want -ENOENT", rc, strerror(-rc));
	snprintf(path, sizeof(path), "%s/dead.sock", d->dir);
	REQUIRE(strlen(path) < sizeof(sa.sun_path));
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	REQUIRE(fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);	/* bound, never listening */
	rc = slub_attach(sa.sun_path);
	CHECKF(rc == -ECONNREFUSED, "slub_attach(a socket nobody listens on): %d (%s), want -ECONNREFUSED",
	       rc, strerror(-rc));
	close(fd);
	errno = 0;
	CHECKF(kmem_cache_create("e2e.early", 64, 0, 0, NULL) == NULL && errno == ENOTCONN,
	       "kmem_cache_create after failed attaches: errno %d", errno);

	rc = slub_attach(d->sock);
	REQUIRE(rc == 0);
	rc = slub_attach(d->sock);
	CHECKF(rc == -EISCONN, "second slub_attach: %d (%s), want -EISCONN", rc, strerror(-rc));
	CHECK(slub_offset(&local) == 0);
	CHECK(slub_ptr(1ull << 50) == NULL);

	/* names */
	memset(name31, 'n', 31);
	name31[31] = '\0';
	memcpy(name31, "e2e.", 4);
	memset(name32, 'n', 32);
	name32[32] = '\0';
	expect_usable(name31, 64, 0, 0, "a 31-byte name");
	expect_einval_etc(name32, 64, 0, 0, NULL, EINVAL, "a 32-byte name");
	expect_usable("e2e.Az09_:-x", 64, 0, 0, "every kind of allowed byte");
	expect_usable("a", 8, 0, 0, "a 1-byte name");
	/* a refused create must not cost the process the pools it has open */
	keep = expect_ok("e2e.keep", 64, 0, 0, NULL, "a pool kept open");
	for (size_t i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++)
		expect_einval_etc(bad_names[i], 64, 0, 0, NULL, EINVAL, "a name with a forbidden byte");
	expect_einval_etc(NULL, 64, 0, 0, NULL, EINVAL, "a NULL name");
	for (size_t n = 200; n <= 5000; n = n * 5 / 2) {	/* 200, 500, 1250, 3125 bytes */
		char *longname = malloc(n + 1);

		if (!longname)
			break;
		memset(longname, 'x', n);
		longname[n] = '\0';
		expect_einval_etc(longname, 64, 0, 0, NULL, EINVAL, "a long name");
		free(longname);
	}
	{
		char *huge = malloc(6001);	/* more than a request frame may hold */

		if (huge) {
			memset(huge, 'y', 6000);
			huge[6000] = '\0';
			expect_einval_etc(huge, 64, 0, 0, NULL, EINVAL, "a 6000-byte name");
			free(huge);
		}
	}
	if (keep) {
		CHECKF(e2e_wait_refcount(d->sock, "e2e.keep", 1, 200, &kc),
		       "an open pool lost its reference after refused creates: %s, refcount %d",
		       e2e_cache_stats(d->sock, "e2e.keep", NULL, NULL) == 1 ? "listed" : "gone",
		       kc.refcount);
		kmem_cache_destroy(keep);
	}

	/* sizes */
	expect_einval_etc("e2e.size0", 0, 0, 0, NULL, EINVAL, "size 0");
	expect_usable("e2e.size1", 1, 0, 0, "size 1");
	expect_usable("e2e.size1m", 1u << 20, 0, 0, "size 1 MiB");
	expect_einval_etc("e2e.size1m1", (1u << 20) + 1, 0, 0, NULL, EINVAL, "size 1 MiB + 1");
	expect_einval_etc("e2e.sizemax", SIZE_MAX, 0, 0, NULL, EINVAL, "size SIZE_MAX");
	expect_einval_etc("e2e.size4g", (1ull << 32) + 64, 0, 0, NULL, EINVAL, "size 4 GiB + 64");

	/* alignments */
	expect_usable("e2e.al0", 24, 0, 0, "align 0");
	expect_usable("e2e.al1", 24, 1, 0, "align 1");
	expect_usable("e2e.al64", 24, 64, 0, "align 64");
	expect_usable("e2e.al4096", 24, 4096, 0, "align 4096");
	expect_einval_etc("e2e.al3", 24, 3, 0, NULL, EINVAL, "align 3");
	expect_einval_etc("e2e.al24", 24, 24, 0, NULL, EINVAL, "align 24");
	expect_einval_etc("e2e.al8192", 24, 8192, 0, NULL, EINVAL, "align 8192");
	expect_einval_etc("e2e.al8g", 24, 1ull << 33, 0, NULL, EINVAL, "align 8 GiB");
	expect_einval_etc("e2e.almax", 24, SIZE_MAX, 0, NULL, EINVAL, "align SIZE_MAX");

	/* flags */
	expect_usable("e2e.flags", 100, 0,
		      SLAB_RED_ZONE | SLAB_POISON | SLAB_STORE_USER | SLAB_HWCACHE_ALIGN, "every flag");
	expect_einval_etc("e2e.fl1", 64, 0, 0x1, NULL, EINVAL, "flag 0x1");
	expect_einval_etc("e2e.fl2", 64, 0, SLAB_POISON | 0x40000000ul, NULL, EINVAL, "flag 0x40000000");
	expect_einval_etc("e2e.fl3", 64, 0, 1ul << 40, NULL, EINVAL, "flag 1 << 40");

	/* the same name with another geometry */
	s = expect_ok("e2e.geo", 64, 8, 0, NULL, "the first e2e.geo");
	if (s) {
		expect_einval_etc("e2e.geo", 65, 8, 0, NULL, EEXIST, "another size");
		expect_einval_etc("e2e.geo", 64, 16, 0, NULL, EEXIST, "another align");
		expect_einval_etc("e2e.geo", 64, 8, SLAB_POISON, NULL, EEXIST, "other flags");
		expect_einval_etc("e2e.geo", 64, 8, 0, ctor_fill, EEXIST, "a ctor where there was none");
		s2 = expect_ok("e2e.geo", 64, 8, 0, NULL, "the same geometry again");
		CHECKF(s2 == s, "the same pool opened twice: %p, then %p", (void *)s, (void *)s2);
		kmem_cache_destroy(s2);
		kmem_cache_destroy(s);
	}
	s = expect_ok("e2e.ctor", 64, 0, 0, ctor_fill, "a pool with a ctor");
	if (s) {
		uint8_t *o = kmem_cache_alloc(s, GFP_KERNEL);

		CHECKF(o && o[0] == 0xc7 && o[15] == 0xc7, "the ctor did not run on a new object");
		expect_einval_etc("e2e.ctor", 64, 0, 0, NULL, EEXIST, "no ctor where there was one");
		kmem_cache_free(s, o);
		kmem_cache_destroy(s);
	}

	/* slubd checks on its own what reaches it on the wire */
	if (e2e_ctl_connect(d->sock, &c, "e2e-raw") >= 0) {
		Slubd__Request req = SLUBD__REQUEST__INIT;
		Slubd__AttachRequest at = SLUBD__ATTACH_REQUEST__INIT;
		Slubd__Response *resp;
		static const struct { const char *name; uint64_t size, align, flags; } bad[] = {
			{ "bad name", 32, 0, 0 }, { "", 32, 0, 0 },
			{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 32, 0, 0 },
			{ "e2e.raw0", 0, 0, 0 }, { "e2e.rawbig", 2u << 20, 0, 0 },
			{ "e2e.rawhuge", 1ull << 40, 0, 0 }, { "e2e.rawal", 32, 3, 0 },
			{ "e2e.rawal2", 32, 1ull << 40, 0 }, { "e2e.rawfl", 32, 0, 1 },
			{ "e2e.rawfl2", 32, 0, 1ull << 63 },
		};

		req.body_case = SLUBD__REQUEST__BODY_ATTACH;
		req.attach = &at;
		resp = raw_call(&c, &req, &afd);
		if (resp) {
			CHECKF(resp->err == 0 && resp->body_case == SLUBD__RESPONSE__BODY_ATTACH,
			       "raw attach: err %d (%s)", resp->err, resp->error ? resp->error : "");
			CHECKF(afd >= 0, "raw attach: no arena descriptor came with the reply");
			if (resp->body_case == SLUBD__RESPONSE__BODY_ATTACH) {
				CHECKF(resp->attach->size == 64u << 20, "attach: size %llu",
				       (unsigned long long)resp->attach->size);
				CHECKF(e2e_backing_is_file(resp->attach->backing, d->arena),
				       "attach: backing %s", resp->attach->backing);
			}
			slubd__response__free_unpacked(resp, NULL);
		}
		if (afd >= 0)
			close(afd);
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			rc = raw_create(&c, bad[i].name, bad[i].size, bad[i].align, bad[i].flags, error,
					sizeof(error));
			CHECKF(rc == EINVAL && error[0], "raw create \"%s\" size %llu align %llu flags %#llx: "
			       "err %d (%s), want EINVAL with a reason", bad[i].name,
			       (unsigned long long)bad[i].size, (unsigned long long)bad[i].align,
			       (unsigned long long)bad[i].flags, rc, error);
		}
		rc = raw_create(&c, "e2e.raw", 32, 0, 0, error, sizeof(error));
		CHECKF(rc == 0, "raw create e2e.raw: err %d (%s)", rc, error);
		rc = raw_create(&c, "e2e.raw", 33, 0, 0, error, sizeof(error));
		CHECKF(rc == EEXIST && error[0], "raw create e2e.raw with another size: err %d (%s)", rc,
		       error);
		ctl_close(&c);
	}

	/* detached: not connected again, until the next attach */
	slub_detach();
	errno = 0;
	s = kmem_cache_create("e2e.late", 64, 0, 0, NULL);
	CHECKF(s == NULL && errno == ENOTCONN, "kmem_cache_create after slub_detach: %p errno %d (%s)",
	       (void *)s, errno, strerror(errno));
	errno = 0;
	CHECKF(kmalloc(32, GFP_KERNEL) == NULL && errno == ENOTCONN, "kmalloc after slub_detach: errno %d",
	       errno);
	CHECK(slub_ptr(4096) == NULL);
	rc = slub_attach(d->sock);
	CHECKF(rc == 0, "slub_attach after slub_detach: %d (%s)", rc, strerror(-rc));
	if (rc == 0)
		expect_usable("e2e.again", 64, 0, 0, "after attaching again");
	e2e_alive(d, "after the error cases");
	e2e_stop(d);
}

/* ---- (c) a uid the policy does not allow ------------------------------------ */

#define NOBODY	65534
#define C_GID	4242	/* in allow_gids */

struct c_arg {
	const char *sock;
	gid_t gid;
	int allowed;
};

static void c_child(void *p)
{
	struct c_arg *a = p;
	struct ctl_conn c;
	char err[256] = "";
	int rc;

	if (setgroups(0, NULL) || setgid(a->gid) || setuid(NOBODY)) {
		CHECKF(0, "dropping to uid %d gid %u: %s", NOBODY, (unsigned)a->gid, strerror(errno));
		return;
	}
	REQUIRE(getuid() == NOBODY && geteuid() == NOBODY && getegid() == a->gid);
	rc = slub_attach(a->sock);
	if (a->allowed) {
		struct kmem_cache *s;
		void *o;

		CHECKF(rc == 0, "uid %d gid %u (gid allowed): slub_attach: %d (%s)", NOBODY,
		       (unsigned)a->gid, rc, strerror(-rc));
		if (rc)
			return;
		s = kmem_cache_create("e2e.nobody", 64, 0, 0, NULL);
		CHECKF(s != NULL, "allowed gid: kmem_cache_create: %s", strerror(errno));
		o = s ? kmem_cache_alloc(s, GFP_KERNEL) : NULL;
		CHECK(o != NULL);
		if (o) {
			memset(o, 1, 64);
			kmem_cache_free(s, o);
		}
		return;
	}
	CHECKF(rc == -EACCES, "uid %d gid %u (not allowed): slub_attach: %d (%s), want -EACCES", NOBODY,
	       (unsigned)a->gid, rc, strerror(-rc));
	errno = 0;
	CHECKF(kmem_cache_create("e2e.nobody", 64, 0, 0, NULL) == NULL && errno == ENOTCONN,
	       "refused: kmem_cache_create errno %d (%s)", errno, strerror(errno));
	errno = 0;
	CHECKF(kmalloc(8, GFP_KERNEL) == NULL, "refused: kmalloc succeeded");

	/* on the wire: attach and create are answered EACCES, no descriptor passes */
	rc = ctl_connect(&c, a->sock, "e2e-nobody", err, sizeof(err));
	if (rc == -EACCES)
		return;		/* refused at hello already: as good */
	CHECKF(rc == 0, "refused uid: connect + hello: %s", err);
	if (rc)
		return;
	{
		Slubd__Request req = SLUBD__REQUEST__INIT;
		Slubd__AttachRequest at = SLUBD__ATTACH_REQUEST__INIT;
		Slubd__CreateRequest cr = SLUBD__CREATE_REQUEST__INIT;
		Slubd__Response *resp;
		int afd = -1;

		req.body_case = SLUBD__REQUEST__BODY_ATTACH;
		req.attach = &at;
		resp = raw_call(&c, &req, &afd);
		if (resp) {
			CHECKF(resp->err == EACCES && resp->body_case != SLUBD__RESPONSE__BODY_ATTACH,
			       "refused uid: attach answered err %d (%s), want EACCES", resp->err,
			       resp->error ? resp->error : "");
			slubd__response__free_unpacked(resp, NULL);
		}
		CHECKF(afd < 0, "refused uid: the arena's descriptor was passed anyway");
		if (afd >= 0)
			close(afd);
		if (c.fd < 0)
			return;
		cr.name = "e2e.nobody2";
		cr.size = 64;
		req.body_case = SLUBD__REQUEST__BODY_CREATE;
		req.create = &cr;
		resp = raw_call(&c, &req, NULL);
		if (resp) {
			CHECKF(resp->err == EACCES, "refused uid: create answered err %d (%s), want EACCES",
			       resp->err, resp->error ? resp->error : "");
			slubd__response__free_unpacked(resp, NULL);
		}
		ctl_close(&c);
	}
}

E2E_CASE(access_refused)
{
	static char why[128];
	struct e2e_opts o = {
		.config = "[access]\nsocket_mode = 0666\nallow_uids = 0\nallow_gids = 4242\n",
		.open_dir = 1,
	};
	struct c_arg refused, allowed;
	struct e2e_slubd *d;
	struct stat sb;

	if (geteuid() != 0) {
		snprintf(why, sizeof(why), "needs root to run a client as uid %d (running as uid %u)",
			 NOBODY, (unsigned)geteuid());
		SKIP(why);
	}
	d = e2e_start(&o);
	REQUIRE(d != NULL);
	CHECKF(stat(d->sock, &sb) == 0 && (sb.st_mode & 0777) == 0666,
	       "socket mode %04o, want 0666 from socket_mode", (unsigned)(sb.st_mode & 0777));
	refused = (struct c_arg){ d->sock, NOBODY, 0 };
	allowed = (struct c_arg){ d->sock, C_GID, 1 };
	t_wait(t_fork(c_child, &refused), "a client of uid 65534 gid 65534");
	e2e_alive(d, "after a refused client");
	t_wait(t_fork(c_child, &allowed), "a client of uid 65534 gid 4242");
	CHECKF(e2e_wait_listed(d->sock, "e2e.nobody2", 0, 0, NULL) == 0,
	       "a refused client's raw create made a pool");
	e2e_probe(d, "after the access checks");
	e2e_stop(d);
}

/* ---- (e) garbage on the control socket ------------------------------------------ */

static void send_random(const char *sock, uint64_t seed, size_t n)
{
	uint8_t *buf = malloc(n);
	int fd = e2e_raw_connect(sock);

	if (fd < 0 || !buf) {
		free(buf);
		if (fd >= 0)
			close(fd);
		return;
	}
	for (size_t i = 0; i < n; i++)
		buf[i] = (uint8_t)t_rand(&seed);
	(void)e2e_send(fd, buf, n);	/* slubd may cut us off halfway: fine */
	close(fd);
	free(buf);
}

/* a frame with a body of random bytes that is no Request: slubd must close */
static void send_random_frame(const char *sock, uint64_t seed, uint32_t len, int hello_first)
{
	uint8_t *buf = malloc(4 + len);
	char err[160], what[96];
	int fd = e2e_raw_connect(sock);

	if (fd < 0 || !buf) {
		free(buf);
		if (fd >= 0)
			close(fd);
		return;
	}
	buf[0] = (uint8_t)(len >> 24);
	buf[1] = (uint8_t)(len >> 16);
	buf[2] = (uint8_t)(len >> 8);
	buf[3] = (uint8_t)len;
	for (uint32_t i = 0; i < len; i++)
		buf[4 + i] = (uint8_t)t_rand(&seed);
	buf[4] = 0xff;		/* field 31, wire type 7: no protobuf message starts so */
	{
		Slubd__Request *r = request_decode(buf + 4, len, err, sizeof(err));

		CHECKF(r == NULL, "the random frame (seed %llu) decodes as a request",
		       (unsigned long long)seed);
		if (r)
			slubd__request__free_unpacked(r, NULL);
	}
	if (hello_first) {
		Slubd__Request req;
		Slubd__Hello h;
		Slubd__Response *resp;

		e2e_hello_req(&req, &h, 1, SLUBD_PROTOCOL_VERSION);
		CHECK(e2e_send_req(fd, &req) == 0);
		if (e2e_recv(fd, 5000, &resp, NULL) == 1) {
			CHECKF(resp->err == 0, "hello: err %d", resp->err);
			slubd__response__free_unpacked(resp, NULL);
		} else {
			CHECKF(0, "no answer to a hello");
		}
	}
	(void)e2e_send(fd, buf, 4 + len);
	snprintf(what, sizeof(what), "a %u-byte frame of random bytes (seed %llu)%s", len,
		 (unsigned long long)seed, hello_first ? " after a hello" : "");
	e2e_expect_closed(fd, 5000, what);
	close(fd);
	free(buf);
}

static void send_header(const char *sock, uint32_t len, size_t body, const char *what)
{
	uint8_t hdr[4] = { (uint8_t)(len >> 24), (uint8_t)(len >> 16), (uint8_t)(len >> 8), (uint8_t)len };
	int fd = e2e_raw_connect(sock);

	if (fd < 0)
		return;
	(void)e2e_send(fd, hdr, 4);
	if (body) {
		uint8_t *b = calloc(1, body);

		if (b)
			(void)e2e_send(fd, b, body);
		free(b);
	}
	e2e_expect_closed(fd, 5000, what);
	close(fd);
}

static int packed_frame(Slubd__Request *req, uint8_t **buf, size_t *len)
{
	int rc = frame_pack(&req->base, buf, len);

	CHECKF(rc == 0, "frame_pack: %d", rc);
	return rc;
}

E2E_CASE(garbage)
{
	struct e2e_slubd *d = e2e_start(NULL);
	Slubd__Request req;
	Slubd__Hello h;
	Slubd__StatsRequest sr = SLUBD__STATS_REQUEST__INIT;
	Slubd__ValidateRequest vr = SLUBD__VALIDATE_REQUEST__INIT;
	Slubd__Response *resp;
	struct ctl_conn *many;
	uint8_t *buf;
	size_t len;
	int fd, slow, rc;

	REQUIRE(d != NULL);
	e2e_probe(d, "before anything");

	/* random bytes, then gone */
	for (uint64_t seed = 1; seed <= 6; seed++)
		send_random(d->sock, seed, 16 + (size_t)(seed * 997) % 6000);
	e2e_probe(d, "after connections that sent random bytes");

	/* frames of random bytes: closed, with at most an error reply */
	for (uint64_t seed = 10; seed < 14; seed++)
		send_random_frame(d->sock, seed, 8 + (uint32_t)(seed * 331) % 4000, seed & 1);
	e2e_probe(d, "after frames of random bytes");

	/* frame headers out of bounds */
	send_header(d->sock, 1u << 30, 0, "a header announcing 1 GiB");
	send_header(d->sock, 0xffffffffu, 0, "a header announcing 4 GiB - 1");
	send_header(d->sock, SLUBD_MAX_REQUEST + 1, SLUBD_MAX_REQUEST + 1, "a frame of MAX_REQUEST + 1");
	send_header(d->sock, 0, 0, "an empty frame");
	e2e_probe(d, "after headers out of bounds");

	/* truncated frames, then close */
	e2e_hello_req(&req, &h, 1, SLUBD_PROTOCOL_VERSION);
	REQUIRE(packed_frame(&req, &buf, &len) == 0);
	for (size_t cut = 1; cut < len; cut += 3) {
		fd = e2e_raw_connect(d->sock);
		if (fd < 0)
			break;
		(void)e2e_send(fd, buf, cut);
		close(fd);
	}
	fd = e2e_raw_connect(d->sock);		/* a header promising 100 bytes, 50 sent */
	if (fd >= 0) {
		uint8_t part[54] = { 0, 0, 0, 100 };

		(void)e2e_send(fd, part, sizeof(part));
		close(fd);
	}
	/* one that stays half-sent for the rest of the case: must not hold up others */
	slow = e2e_raw_connect(d->sock);
	if (slow >= 0)
		(void)e2e_send(slow, buf, 2);
	e2e_probe(d, "after truncated frames, with a half-sent one still open");

	/* a hello one byte at a time is read whole */
	fd = e2e_raw_connect(d->sock);
	if (fd >= 0) {
		for (size_t i = 0; i < len; i++) {
			(void)e2e_send(fd, buf + i, 1);
			t_sleep_ms(1);
		}
		rc = e2e_recv(fd, 5000, &resp, NULL);
		CHECKF(rc == 1, "a hello sent byte by byte: no answer (%d)", rc);
		if (rc == 1) {
			CHECKF(resp->err == 0 && resp->id == 1 && resp->body_case == SLUBD__RESPONSE__BODY_HELLO &&
			       resp->hello->version == SLUBD_PROTOCOL_VERSION,
			       "a hello sent byte by byte: err %d id %u body %d", resp->err, resp->id,
			       (int)resp->body_case);
			slubd__response__free_unpacked(resp, NULL);
		}
		close(fd);
	}
	free(buf);

	/* pipelined: hello, stats and validate in one write, three answers */
	fd = e2e_raw_connect(d->sock);
	if (fd >= 0) {
		uint8_t *f1, *f2, *f3, *all;
		size_t l1, l2, l3;
		unsigned int seen = 0;

		e2e_hello_req(&req, &h, 1, SLUBD_PROTOCOL_VERSION);
		REQUIRE(packed_frame(&req, &f1, &l1) == 0);
		slubd__request__init(&req);
		req.id = 2;
		req.body_case = SLUBD__REQUEST__BODY_STATS;
		req.stats = &sr;
		REQUIRE(packed_frame(&req, &f2, &l2) == 0);
		req.id = 3;
		req.body_case = SLUBD__REQUEST__BODY_VALIDATE;
		req.validate = &vr;
		REQUIRE(packed_frame(&req, &f3, &l3) == 0);
		all = malloc(l1 + l2 + l3);
		REQUIRE(all != NULL);
		memcpy(all, f1, l1);
		memcpy(all + l1, f2, l2);
		memcpy(all + l1 + l2, f3, l3);
		CHECK(e2e_send(fd, all, l1 + l2 + l3) == 0);
		for (int i = 0; i < 3; i++) {
			rc = e2e_recv(fd, 5000, &resp, NULL);
			CHECKF(rc == 1, "pipelined requests: answer %d of 3 missing (%d)", i + 1, rc);
			if (rc != 1)
				break;
			CHECKF(resp->err == 0 && resp->id >= 1 && resp->id <= 3,
			       "pipelined requests: answer id %u err %d (%s)", resp->id, resp->err,
			       resp->error ? resp->error : "");
			if (resp->id >= 1 && resp->id <= 3)
				seen |= 1u << resp->id;
			slubd__response__free_unpacked(resp, NULL);
		}
		CHECKF(seen == 0xe, "pipelined requests: answered ids mask %#x, want 1, 2, 3", seen);
		free(f1);
		free(f2);
		free(f3);
		free(all);
		close(fd);
	}

	/* a wrong protocol version: EPROTO naming both versions, then closed */
	fd = e2e_raw_connect(d->sock);
	if (fd >= 0) {
		e2e_hello_req(&req, &h, 7, 777);
		CHECK(e2e_send_req(fd, &req) == 0);
		rc = e2e_recv(fd, 5000, &resp, NULL);
		CHECKF(rc == 1, "a hello of version 777: no answer (%d)", rc);
		if (rc == 1) {
			const char *e = resp->error ? resp->error : "";

			CHECKF(resp->err == EPROTO, "a hello of version 777: err %d (%s), want EPROTO",
			       resp->err, e);
			CHECKF(resp->id == 7, "a hello of version 777: answer id %u", resp->id);
			CHECKF(names_number(e, 777) && names_number(e, SLUBD_PROTOCOL_VERSION),
			       "the refusal does not name both versions (777 and %u): \"%s\"",
			       SLUBD_PROTOCOL_VERSION, e);
			slubd__response__free_unpacked(resp, NULL);
		}
		e2e_expect_closed(fd, 5000, "after a refused protocol version");
		close(fd);
	}

	/* the first request is not a hello */
	fd = e2e_raw_connect(d->sock);
	if (fd >= 0) {
		Slubd__AttachRequest at = SLUBD__ATTACH_REQUEST__INIT;
		int afd = -1;

		slubd__request__init(&req);
		req.id = 1;
		req.body_case = SLUBD__REQUEST__BODY_ATTACH;
		req.attach = &at;
		CHECK(e2e_send_req(fd, &req) == 0);
		rc = e2e_recv(fd, 5000, &resp, &afd);
		CHECKF(rc == 0 || rc == 1, "an attach before hello: neither answered nor closed (%d)", rc);
		if (rc == 1) {
			CHECKF(resp->err != 0 && resp->body_case != SLUBD__RESPONSE__BODY_ATTACH,
			       "an attach before hello was served");
			slubd__response__free_unpacked(resp, NULL);
		}
		CHECKF(afd < 0, "an attach before hello got the arena's descriptor");
		if (afd >= 0)
			close(afd);
		close(fd);
	}

	/* a request of no known type: refused (or closed), never served */
	fd = e2e_raw_connect(d->sock);
	if (fd >= 0) {
		e2e_hello_req(&req, &h, 1, SLUBD_PROTOCOL_VERSION);
		CHECK(e2e_send_req(fd, &req) == 0);
		rc = e2e_recv(fd, 5000, &resp, NULL);
		CHECKF(rc == 1 && resp->err == 0, "hello: %d", rc);
		if (rc == 1)
			slubd__response__free_unpacked(resp, NULL);
		slubd__request__init(&req);
		req.id = 2;		/* no body set */
		CHECK(e2e_send_req(fd, &req) == 0);
		rc = e2e_recv(fd, 5000, &resp, NULL);
		CHECKF(rc == 0 || rc == 1, "a request with no body: neither answered nor closed (%d)", rc);
		if (rc == 1) {
			CHECKF(resp->err != 0, "a request with no body answered with success");
			slubd__response__free_unpacked(resp, NULL);
		}
		close(fd);
	}
	fd = e2e_raw_connect(d->sock);		/* after hello, a body of an unknown field only */
	if (fd >= 0) {
		uint8_t g[] = { 0, 0, 0, 5, 0x08, 0x02, 0xa0, 0x01, 0x05 };	/* id = 2; field 20 = 5 */

		e2e_hello_req(&req, &h, 1, SLUBD_PROTOCOL_VERSION);
		CHECK(e2e_send_req(fd, &req) == 0);
		rc = e2e_recv(fd, 5000, &resp, NULL);
		CHECKF(rc == 1 && resp->err == 0, "hello: %d", rc);
		if (rc == 1)
			slubd__response__free_unpacked(resp, NULL);
		(void)e2e_send(fd, g, sizeof(g));
		rc = e2e_recv(fd, 5000, &resp, NULL);
		CHECKF(rc == 0 || rc == 1, "a request of an unknown type: neither answered nor closed (%d)",
		       rc);
		if (rc == 1) {
			CHECKF(resp->err != 0, "a request of an unknown type answered with success");
			slubd__response__free_unpacked(resp, NULL);
		}
		close(fd);
	}
	e2e_probe(d, "after protocol errors");

	/* a client that asks and never reads */
	fd = e2e_raw_connect(d->sock);
	if (fd >= 0) {
		e2e_hello_req(&req, &h, 1, SLUBD_PROTOCOL_VERSION);
		CHECK(e2e_send_req(fd, &req) == 0);
		slubd__request__init(&req);
		req.body_case = SLUBD__REQUEST__BODY_STATS;
		req.stats = &sr;
		for (uint32_t i = 0; i < 200; i++) {
			req.id = 2 + i;
			if (e2e_send_req(fd, &req))
				break;
		}
		close(fd);
	}
	e2e_probe(d, "after a client that never read its answers");

	/* 100 connections at once, each served */
	many = calloc(100, sizeof(*many));
	REQUIRE(many != NULL);
	for (int i = 0; i < 100; i++) {
		char err[256] = "";

		rc = ctl_connect(&many[i], d->sock, "e2e-many", err, sizeof(err));
		CHECKF(rc == 0, "connection %d of 100: %s", i, err);
		if (rc)
			many[i].fd = -1;
	}
	for (int i = 0; i < 100; i++) {
		if (many[i].fd < 0)
			continue;
		slubd__request__init(&req);
		req.body_case = SLUBD__REQUEST__BODY_STATS;
		req.stats = &sr;
		resp = raw_call(&many[i], &req, NULL);
		if (resp) {
			CHECKF(resp->err == 0 && resp->body_case == SLUBD__RESPONSE__BODY_STATS,
			       "stats on connection %d: err %d", i, resp->err);
			if (i == 99 && resp->body_case == SLUBD__RESPONSE__BODY_STATS)
				/* the 99 others at least: the asking connection is not counted */
				CHECKF(!resp->stats->has_clients || resp->stats->clients >= 99,
				       "stats: %u clients with 100 connected", resp->stats->clients);
			slubd__response__free_unpacked(resp, NULL);
		}
	}
	{
		pid_t kids[16];

		for (int i = 0; i < 16; i++)
			kids[i] = t_fork(e2e_probe_child, d->sock);
		for (int i = 0; i < 16; i++)
			t_wait(kids[i], "one of 16 clients attaching at once, beside 100 connections");
	}
	for (int i = 0; i < 100; i++)
		ctl_close(&many[i]);
	free(many);
	if (slow >= 0)
		close(slow);
	e2e_probe(d, "after 100 connections");
	e2e_stop(d);
}

T_MAIN(T_CASE(create_errors), T_CASE(access_refused), T_CASE(garbage))
