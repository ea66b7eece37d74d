/*
 * frame.h - framing and decoding of control messages, shared by slubd,
 * the client library, slubctl and the fuzz target.  0 or -errno; the
 * decoders write what was wrong into err.
 */
#ifndef PROTO_FRAME_H
#define PROTO_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "slubd.pb-c.h"
#include "ctl_limits.h"

/* the body length a frame header announces: -EMSGSIZE above max, -EBADMSG for 0 */
int frame_length(const uint8_t hdr[SLUBD_FRAME_HDR], size_t max, uint32_t *len);
/* a whole frame (header + packed message) in a malloc'd buffer */
int frame_pack(const ProtobufCMessage *m, uint8_t **buf, size_t *len);
/*
 * request_decode - unpack and check a request body: a body is set, strings
 * are bounded and printable.  NULL with err filled on any fault.  Free with
 * slubd__request__free_unpacked(r, NULL).
 */
Slubd__Request *request_decode(const uint8_t *body, size_t len, char *err, size_t errlen);
Slubd__Response *response_decode(const uint8_t *body, size_t len, char *err, size_t errlen);
const char *request_name(const Slubd__Request *r);

#endif
