/*
 * e2e_proto.c - the control protocol, raw: connect, Hello, send, receive with a
 * deadline (see e2e.h).
 */
#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <fcntl.h>
#include <ftw.h>
#include <linux/magic.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "e2e.h"
#include "e2e_int.h"

/* ---- the control protocol, raw ------------------------------------------ */

int e2e_raw_connect(const char *sock)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0) {
		CHECKF(0, "socket: %s", strerror(errno));
		return -1;
	}
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		CHECKF(0, "connect %s: %s", sock, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

int e2e_send(int fd, const void *buf, size_t n)
{
	const uint8_t *p = buf;

	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int e2e_send_req(int fd, Slubd__Request *r)
{
	uint8_t *buf;
	size_t len;
	int rc = frame_pack(&r->base, &buf, &len);

	if (rc)
		return rc;
	rc = e2e_send(fd, buf, len);
	free(buf);
	return rc;
}

/* exactly n bytes by deadline: 0, 1 on EOF or reset (*got: how many came), -ETIMEDOUT, -errno */
static int recv_exact(int fd, uint8_t *p, size_t n, uint64_t deadline, int *fd_out, size_t *got)
{
	*got = 0;
	while (*got < n) {
		int64_t left = (int64_t)(deadline - t_now_ms());
		struct pollfd pfd = { fd, POLLIN, 0 };
		char cbuf[CMSG_SPACE(sizeof(int) * 4)];
		struct iovec iov = { p + *got, n - *got };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
				     .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
		ssize_t r;
		int pr;

		if (left < 0)
			return -ETIMEDOUT;
		pr = poll(&pfd, 1, (int)left);
		if (pr < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (pr == 0)
			return -ETIMEDOUT;
		r = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
		if (r < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			if (errno == ECONNRESET || errno == EPIPE)
				return 1;
			return -errno;
		}
		for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
			if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) {
				size_t nfd = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);

				for (size_t i = 0; i < nfd; i++) {
					int got_fd;

					memcpy(&got_fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
					if (*fd_out < 0)
						*fd_out = got_fd;
					else
						close(got_fd);
				}
			}
		}
		if (r == 0)
			return 1;
		*got += (size_t)r;
	}
	return 0;
}

/* e2e_recv, by an absolute deadline (not scaled) */
static int recv_by(int fd, uint64_t deadline, Slubd__Response **resp, int *fd_out)
{
	uint8_t hdr[SLUBD_FRAME_HDR], *body;
	char err[256];
	size_t got;
	uint32_t n;
	int passed = -1, rc;

	*resp = NULL;
	if (fd_out)
		*fd_out = -1;
	rc = recv_exact(fd, hdr, sizeof(hdr), deadline, &passed, &got);
	if (rc) {
		if (passed >= 0)
			close(passed);
		if (rc == 1)
			return got == 0 ? 0 : -EPIPE;
		return rc;
	}
	if (frame_length(hdr, SLUBD_MAX_RESPONSE, &n)) {
		if (passed >= 0)
			close(passed);
		return -EBADMSG;
	}
	body = malloc(n);
	if (!body)
		return -ENOMEM;
	rc = recv_exact(fd, body, n, deadline, &passed, &got);
	if (rc == 0)
		*resp = response_decode(body, n, err, sizeof(err));
	free(body);
	if (rc || !*resp) {
		if (passed >= 0)
			close(passed);
		return rc == 1 ? -EPIPE : rc == 0 ? -EBADMSG : rc;
	}
	if (fd_out)
		*fd_out = passed;
	else if (passed >= 0)
		close(passed);
	return 1;
}

int e2e_recv(int fd, int timeout_ms, Slubd__Response **resp, int *fd_out)
{
	return recv_by(fd, t_now_ms() + (uint64_t)e2e_scale_ms(timeout_ms > 0 ? timeout_ms : 0), resp,
		       fd_out);
}

void e2e_hello_req(Slubd__Request *req, Slubd__Hello *h, uint32_t id, uint32_t version)
{
	slubd__request__init(req);
	slubd__hello__init(h);
	h->version = version;
	req->id = id;
	req->body_case = SLUBD__REQUEST__BODY_HELLO;
	req->hello = h;
}

int e2e_raw_hello(const char *sock, const char *who, int timeout_ms)
{
	Slubd__Request req;
	Slubd__Hello h;
	Slubd__Response *r = NULL;
	int fd = e2e_raw_connect(sock), rc;

	if (fd < 0)
		return -1;
	e2e_hello_req(&req, &h, 1, SLUBD_PROTOCOL_VERSION);
	h.client = (char *)who;
	rc = e2e_send_req(fd, &req);
	if (rc == 0)
		rc = e2e_recv(fd, timeout_ms, &r, NULL);
	if (rc != 1) {
		CHECKF(0, "no answer to a Hello (%d: %s)", rc, rc < 0 ? strerror(-rc) : "closed");
		close(fd);
		return -1;
	}
	rc = r->id == 1 && r->err == 0;
	CHECKF(rc, "the answer to a Hello: id %u err %d (%s), want id 1 and success", r->id, r->err,
	       r->error ? r->error : "");
	slubd__response__free_unpacked(r, NULL);
	if (!rc) {
		close(fd);
		return -1;
	}
	return fd;
}

int e2e_ctl_connect(const char *sock, struct ctl_conn *c, const char *who)
{
	char err[256] = "";

	if (ctl_connect(c, sock, who, err, sizeof(err))) {
		CHECKF(0, "connect + hello: %s", err);
		return -1;
	}
	return c->fd;
}

int e2e_expect_closed(int fd, int timeout_ms, const char *what)
{
	uint64_t deadline;

	timeout_ms = e2e_scale_ms(timeout_ms);
	deadline = t_now_ms() + (uint64_t)timeout_ms;
	for (;;) {
		Slubd__Response *r;
		int rc = recv_by(fd, deadline, &r, NULL);

		if (rc == 1) {
			int bad = r->err == 0;

			CHECKF(!bad, "%s: slubd answered request %u with success (body %d) instead of refusing",
			       what, r->id, (int)r->body_case);
			slubd__response__free_unpacked(r, NULL);
			if (bad)
				return 0;
			continue;
		}
		if (rc == 0 || rc == -EPIPE)	/* closed (a reset may cut a reply short) */
			return 1;
		if (rc == -ETIMEDOUT)
			CHECKF(0, "%s: slubd did not close the connection within %d ms", what, timeout_ms);
		else
			CHECKF(0, "%s: reading what slubd sent: %s", what, strerror(-rc));
		return 0;
	}
}
