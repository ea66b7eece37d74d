/*
 * frame.c - control frames: a 4-byte big-endian length and a packed
 * protobuf-c message.  The decoders here are the only place bytes from a
 * peer become messages, for slubd and for its fuzz target alike.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"

int frame_length(const uint8_t hdr[SLUBD_FRAME_HDR], size_t max, uint32_t *len)
{
	uint32_t n = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 | (uint32_t)hdr[2] << 8 | hdr[3];

	if (n == 0)
		return -EBADMSG;
	if (n > max)
		return -EMSGSIZE;
	*len = n;
	return 0;
}

int frame_pack(const ProtobufCMessage *m, uint8_t **buf, size_t *len)
{
	size_t n = protobuf_c_message_get_packed_size(m);
	uint8_t *b = malloc(SLUBD_FRAME_HDR + n);

	if (!b)
		return -ENOMEM;
	b[0] = (uint8_t)(n >> 24);
	b[1] = (uint8_t)(n >> 16);
	b[2] = (uint8_t)(n >> 8);
	b[3] = (uint8_t)n;
	protobuf_c_message_pack(m, b + SLUBD_FRAME_HDR);
	*buf = b;
	*len = SLUBD_FRAME_HDR + n;
	return 0;
}

static int text_ok(const char *s, size_t max)
{
	size_t n = strnlen(s, max + 1);

	if (n > max)
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] == 0x7f)
			return 0;
	return 1;
}

Slubd__Request *request_decode(const uint8_t *body, size_t len, char *err, size_t errlen)
{
	Slubd__Request *r = slubd__request__unpack(NULL, len, body);

	if (!r) {
		snprintf(err, errlen, "malformed request (%zu bytes that are no Request message)", len);
		return NULL;
	}
	switch (r->body_case) {
	case SLUBD__REQUEST__BODY_HELLO:
		if (r->hello->client && !text_ok(r->hello->client, SLUBD_MAX_CLIENT_TEXT)) {
			snprintf(err, errlen, "hello: client text longer than %u bytes or not printable",
				 SLUBD_MAX_CLIENT_TEXT);
			goto bad;
		}
		break;
	/*
	 * The others carry names, which the engine checks: a bad one gets EINVAL
	 * and a sentence, the frame being well formed either way.
	 */
	case SLUBD__REQUEST__BODY_ATTACH:
	case SLUBD__REQUEST__BODY_CREATE:
	case SLUBD__REQUEST__BODY_DESTROY:
	case SLUBD__REQUEST__BODY_STATS:
	case SLUBD__REQUEST__BODY_SHRINK:
	case SLUBD__REQUEST__BODY_VALIDATE:
	case SLUBD__REQUEST__BODY_RECLAIM:
	case SLUBD__REQUEST__BODY_REPORTS:
	case SLUBD__REQUEST__BODY_IDENTIFY:
		break;
	case SLUBD__REQUEST__BODY_SET_LIMIT:
		if (!r->set_limit->has_max_objects && !r->set_limit->has_max_bytes) {
			snprintf(err, errlen, "set_limit: neither max_objects nor max_bytes given "
				 "(0 removes a cap)");
			goto bad;
		}
		break;
	default:
		snprintf(err, errlen, "request %u carries no known request type", r->id);
		goto bad;
	}
	return r;
bad:
	slubd__request__free_unpacked(r, NULL);
	return NULL;
}

Slubd__Response *response_decode(const uint8_t *body, size_t len, char *err, size_t errlen)
{
	Slubd__Response *r = slubd__response__unpack(NULL, len, body);

	if (!r)
		snprintf(err, errlen, "malformed response (%zu bytes that are no Response message)", len);
	return r;
}

const char *request_name(const Slubd__Request *r)
{
	switch (r->body_case) {
	case SLUBD__REQUEST__BODY_HELLO: return "hello";
	case SLUBD__REQUEST__BODY_ATTACH: return "attach";
	case SLUBD__REQUEST__BODY_CREATE: return "create";
	case SLUBD__REQUEST__BODY_DESTROY: return "destroy";
	case SLUBD__REQUEST__BODY_STATS: return "stats";
	case SLUBD__REQUEST__BODY_SHRINK: return "shrink";
	case SLUBD__REQUEST__BODY_VALIDATE: return "validate";
	case SLUBD__REQUEST__BODY_SET_LIMIT: return "set_limit";
	case SLUBD__REQUEST__BODY_RECLAIM: return "reclaim";
	case SLUBD__REQUEST__BODY_REPORTS: return "reports";
	default: return "unknown";
	}
}
