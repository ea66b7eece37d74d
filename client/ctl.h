/*
 * ctl.h - a blocking client connection to slubd's control socket, used by
 * libslub and slubctl.  0 or -errno; a sentence in err on failure.
 */
#ifndef CLIENT_CTL_H
#define CLIENT_CTL_H

#include <stddef.h>
#include <stdint.h>

#include "frame.h"

struct ctl_conn {
	int fd;			/* -1: not connected */
	uint32_t next_id;
	uint32_t server_version;
};

/*
 * ctl_default_socket - $SLUBD_SOCKET if set; else for root
 * /run/slubd/slubd.sock; else $XDG_RUNTIME_DIR/slubd/slubd.sock; else
 * /tmp/slubd-UID/slubd.sock.  The same rule slubd uses for its default.
 */
const char *ctl_default_socket(char *buf, size_t len);
/* connect and exchange Hello; path NULL: ctl_default_socket() */
int ctl_connect(struct ctl_conn *c, const char *path, const char *who, char *err, size_t errlen);
/*
 * ctl_call - send req (its id is filled in), wait for its response.  If
 * fd_out is not NULL, a descriptor passed with the response is stored there
 * (else -1).  The response's own err is not turned into a return value:
 * look at (*resp)->err.  Free with slubd__response__free_unpacked().
 * A response of id 0 with an error is slubd refusing the connection itself
 * (a malformed frame; slubd then closes it): -err (-EPROTO where err would
 * read as a broken connection), its text in err.  A response that came
 * before slubd closed is read even when sending req found the peer gone.
 */
int ctl_call(struct ctl_conn *c, Slubd__Request *req, Slubd__Response **resp, int *fd_out,
	     char *err, size_t errlen);
void ctl_close(struct ctl_conn *c);

#endif
