/*
 * ctl.c - the client side of the control protocol: connect, Hello, and
 * one call at a time (send a request frame, read its response frame with
 * recvmsg so that a descriptor passed with it is caught).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctl.h"

const char *ctl_default_socket(char *buf, size_t len)
{
	const char *env = getenv("SLUBD_SOCKET"), *xdg = getenv("XDG_RUNTIME_DIR");

	if (env && *env)
		snprintf(buf, len, "%s", env);
	else if (geteuid() == 0)
		snprintf(buf, len, "%s/%s", SLUBD_RUN_DIR, SLUBD_SOCKET_NAME);
	else if (xdg && *xdg)
		snprintf(buf, len, "%s/slubd/%s", xdg, SLUBD_SOCKET_NAME);
	else
		snprintf(buf, len, "/tmp/slubd-%u/%s", (unsigned)geteuid(), SLUBD_SOCKET_NAME);
	return buf;
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
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

/* read exactly n bytes; keep the first descriptor that arrives with them */
static int read_all(int fd, uint8_t *p, size_t n, int *fd_out)
{
	while (n) {
		char cbuf[CMSG_SPACE(sizeof(int))];
		struct iovec iov = { p, n };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
				     .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
		ssize_t r = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (r == 0)
			return -ECONNRESET;
		for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
			if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) {
				int got;

				memcpy(&got, CMSG_DATA(cm), sizeof(got));
				if (fd_out && *fd_out < 0)
					*fd_out = got;
				else
					close(got);
			}
		}
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

int ctl_call(struct ctl_conn *c, Slubd__Request *req, Slubd__Response **resp, int *fd_out,
	     char *err, size_t errlen)
{
	uint8_t *buf, hdr[SLUBD_FRAME_HDR];
	size_t len;
	uint32_t n;
	int rc;

	if (fd_out)
		*fd_out = -1;
	if (c->fd < 0) {
		snprintf(err, errlen, "not connected to slubd");
		return -ENOTCONN;
	}
	req->id = ++c->next_id;
	rc = frame_pack(&req->base, &buf, &len);
	if (rc) {
		snprintf(err, errlen, "out of memory");
		return rc;
	}
	rc = write_all(c->fd, buf, len);
	free(buf);
	if (rc == 0) {
		rc = read_all(c->fd, hdr, sizeof(hdr), fd_out);
	} else if (rc == -EPIPE || rc == -ECONNRESET) {
		/* slubd closed: what it said before closing is still there to read */
		int wrc = rc;

		rc = read_all(c->fd, hdr, sizeof(hdr), fd_out);
		if (rc)
			rc = wrc;
	}
	if (rc) {
		snprintf(err, errlen, "slubd connection: %s", strerror(-rc));
		goto fail;
	}
	rc = frame_length(hdr, SLUBD_MAX_RESPONSE, &n);
	if (rc) {
		snprintf(err, errlen, "slubd sent a frame of a bad length");
		goto fail;
	}
	buf = malloc(n);
	if (!buf) {
		rc = -ENOMEM;
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	rc = read_all(c->fd, buf, n, fd_out);
	if (rc == 0) {
		*resp = response_decode(buf, n, err, errlen);
		if (!*resp)
			rc = -EBADMSG;
		else if ((*resp)->id == 0 && (*resp)->has_err && (*resp)->err > 0) {
			/* no answer to req: slubd's word on the connection, before it closes it */
			snprintf(err, errlen, "slubd refused: %s",
				 (*resp)->error && *(*resp)->error ? (*resp)->error : strerror((*resp)->err));
			rc = -(*resp)->err;
			if (rc == -EBADMSG || rc == -EPIPE || rc == -ECONNRESET || rc == -ENOTCONN)
				rc = -EPROTO;	/* not a broken connection: ours was refused */
			slubd__response__free_unpacked(*resp, NULL);
		} else if ((*resp)->id != req->id) {
			snprintf(err, errlen, "slubd answered request %u, expected %u", (*resp)->id, req->id);
			slubd__response__free_unpacked(*resp, NULL);
			rc = -EPROTO;
		}
	} else {
		snprintf(err, errlen, "slubd connection: %s", strerror(-rc));
	}
	free(buf);
	if (rc == 0)
		return 0;
fail:
	if (fd_out && *fd_out >= 0) {
		close(*fd_out);
		*fd_out = -1;
	}
	ctl_close(c);
	return rc;
}

int ctl_connect(struct ctl_conn *c, const char *path, const char *who, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char dflt[sizeof(sa.sun_path)];
	Slubd__Request req = SLUBD__REQUEST__INIT;
	Slubd__Hello hello = SLUBD__HELLO__INIT;
	Slubd__Response *resp;
	int rc;

	c->fd = -1;
	c->next_id = 0;
	if (!path)
		path = ctl_default_socket(dflt, sizeof(dflt));
	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "socket path too long: %s", path);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, path);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return rc;
	}
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa))) {
		rc = -errno;
		snprintf(err, errlen, "cannot connect to slubd at %s: %s", path, strerror(errno));
		ctl_close(c);
		return rc;
	}
	hello.version = SLUBD_PROTOCOL_VERSION;
	hello.client = (char *)(who ? who : "libslub");
	req.body_case = SLUBD__REQUEST__BODY_HELLO;
	req.hello = &hello;
	rc = ctl_call(c, &req, &resp, NULL, err, errlen);
	if (rc)
		return rc;
	if (resp->err) {
		rc = -resp->err;
		snprintf(err, errlen, "slubd refused: %s", resp->error ? resp->error : strerror(resp->err));
		slubd__response__free_unpacked(resp, NULL);
		ctl_close(c);
		return rc;
	}
	c->server_version = resp->body_case == SLUBD__RESPONSE__BODY_HELLO ? resp->hello->version : 0;
	slubd__response__free_unpacked(resp, NULL);
	return 0;
}

void ctl_close(struct ctl_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}
