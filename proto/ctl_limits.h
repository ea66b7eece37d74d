/*
 * ctl_limits.h - every bound of the control protocol, in one place.
 */
#ifndef PROTO_LIMITS_H
#define PROTO_LIMITS_H

#define SLUBD_VERSION		"0.1.0"		/* the release; the Makefile reads it from here */
#define SLUBD_PROTOCOL_VERSION	1u
#define SLUBD_FRAME_HDR		4u		/* big-endian body length */
#define SLUBD_MAX_REQUEST	4096u		/* a request's body, bytes */
#define SLUBD_MAX_RESPONSE	(4u << 20)	/* a response's body (stats of 1024 caches) */
#define SLUBD_MAX_OUTBUF	(8u << 20)	/* unsent replies to one client before it is cut */
#define SLUBD_MAX_CLIENTS	256u		/* connections at once (default) */
#define SLUBD_MAX_REFS		1024u		/* pool references one connection may hold */
#define SLUBD_MAX_POOLS		1000u		/* pools (an arena holds SLUB_MAX_CACHES, some its own) */
#define SLUBD_MAX_CLIENT_TEXT	64u		/* Hello.client */
#define SLUBD_HELLO_TIMEOUT_MS	10000u		/* a connection that says nothing is closed */
#define SLUBD_MAX_REPORTS	64u		/* a Reports reply's reports (the arena's ring: REPORT_RING) */
#define SLUBD_REPORT_LOG_MAX	10u		/* report lines slubd logs per scrub; the rest counted */
#define SLUBD_SCRUB_INTERVAL_S	30u		/* scrub this often, besides when a client leaves */
#define SLUBD_SOCKET_NAME	"slubd.sock"
#define SLUBD_RUN_DIR		"/run/slubd"	/* root's default socket directory */

#endif
