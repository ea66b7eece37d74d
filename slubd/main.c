/*
 * main.c - slubd: parse the options, set up, serve.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctl.h"
#include "slubd.h"

static void usage(FILE *f)
{
	fprintf(f,
"usage: slubd [OPTIONS]\n"
"Serve shared SLUB object pools: own the arena, answer the control socket.\n"
"\n"
"  -s, --socket PATH         listen here (default: $SLUBD_SOCKET, else\n"
"                            /run/slubd/slubd.sock for root, else\n"
"                            $XDG_RUNTIME_DIR/slubd/slubd.sock, else /tmp/slubd-UID/slubd.sock)\n"
"  -a, --arena-size SIZE     bytes of the shared arena, with K/M/G: 8M to 1T, rounded\n"
"                            up to whole 4M blocks (default 256M)\n"
"  -H, --hugepages MODE      auto: 2 MiB huge pages when enough are reserved, else\n"
"                            normal shared memory; on: huge pages or fail; off: never\n"
"                            (default auto)\n"
"  -A, --arena-file PATH     the arena's backing file, on any file system (a disk\n"
"                            too); a new slubd adopts the arena it finds there, with\n"
"                            its pools (default: with huge pages reserved, a file on\n"
"                            a hugetlbfs mount or a memfd; else slubd.arena next to\n"
"                            the socket, refused on a disk: see slubd(8))\n"
"  -D, --slab-debug SPEC     debug the kmalloc caches of a new arena, as the kernel's\n"
"                            slab_debug=: FLAGS[,CACHE...][;...], FLAGS of F Z P U\n"
"                            or -, CACHE kmalloc-N or kmalloc-* (none: all); e.g.\n"
"                            FZP,kmalloc-* ([arena] slab_debug; see slubd(8))\n"
"  -f, --foreground          accepted; slubd always stays in the foreground (run it\n"
"                            under systemd, s6, runit, or with & from a shell)\n"
"      --ready-fd N          once every socket serves, write \"ready\" and a newline\n"
"                            to the open descriptor N (above 2), then close it\n"
"  -c, --config FILE         read settings from FILE (INI):\n"
"                              [arena]  size = 256M, hugepages = auto|on|off,\n"
"                                       file = /run/slubd/slubd.arena\n"
"                              [access] socket_mode = 0660, allow_uids = 1000 1001,\n"
"                                       allow_gids = 100\n"
"                              [limits] max_clients = 256, max_refs = 1024,\n"
"                                       max_caches = 1000, hello_timeout = 10,\n"
"                                       scrub_interval = 30 (0: only when a client leaves)\n"
"                              [arena NAME]  one more arena (NAME: a-z 0-9 _ -), with\n"
"                                       the keys of all three and socket = PATH\n"
"                                       (default DIR/NAME.sock, next to the default\n"
"                                       socket); one slubd each, supervised\n"
"                            the command line wins over the file (default arena)\n"
"  -h, --help                this text\n"
"      --version             slubd's version and the control protocol's\n"
"\n"
"Who may attach: root, slubd's own user, and the uids and gids the config allows;\n"
"the socket's mode decides who may connect at all.  Logs go to stderr.\n"
"Signals: SIGTERM/SIGINT stop (the arena and its pools stay for the next slubd),\n"
"SIGHUP reads the config file's access and limits again.  Under systemd the\n"
"listening socket may come from slubd.socket, and slubd reports with sd_notify.\n");
}

/*
 * serve - one arena's slubd, from set-up to its end: the exit code.  Always
 * in the foreground (see the man page: no self-daemonizing); --ready-fd and
 * NOTIFY_SOCKET say when it serves (server_run).
 */
int serve(struct config *cfg)
{
	struct server srv;
	char err[512];
	int rc;

	memset(&srv, 0, sizeof(srv));
	srv.cfg = *cfg;
	rc = server_init(&srv, err, sizeof(err));
	if (rc) {
		log_msg("cannot start%s%s: %s", srv.cfg.arena_name[0] ? " arena " : "",
			srv.cfg.arena_name, err);
		server_fini(&srv);
		return 1;
	}
	{
		/* a supervisor's server blocked these until its handlers were set (tenants.c) */
		sigset_t m;

		sigemptyset(&m);
		sigaddset(&m, SIGTERM);
		sigaddset(&m, SIGINT);
		sigaddset(&m, SIGHUP);
		sigprocmask(SIG_UNBLOCK, &m, NULL);
	}
	rc = server_run(&srv);
	server_fini(&srv);
	log_msg("stopped");
	return rc ? 1 : 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "arena-size", required_argument, NULL, 'a' },
		{ "hugepages", required_argument, NULL, 'H' },
		{ "arena-file", required_argument, NULL, 'A' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "ready-fd", required_argument, NULL, 'R' },
		{ "slab-debug", required_argument, NULL, 'D' },
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct config cfg;
	const char *socket_opt = NULL, *size_opt = NULL, *huge_opt = NULL, *config_opt = NULL;
	const char *file_opt = NULL, *ready_opt = NULL, *debug_opt = NULL;
	char err[512];
	int opt, rc;

	/*
	 * SIGTERM, SIGINT and SIGHUP wait until slubd has its handlers: serve()
	 * unblocks them after server_init, the supervisor reads them from its
	 * signalfd (tenants.c).  Until then their default action would end slubd
	 * (a SIGHUP from a log rotation while the arena is being made); held,
	 * SIGTERM still stops it, cleanly, as soon as it can.
	 */
	{
		sigset_t m;

		sigemptyset(&m);
		sigaddset(&m, SIGTERM);
		sigaddset(&m, SIGINT);
		sigaddset(&m, SIGHUP);
		sigprocmask(SIG_BLOCK, &m, NULL);
	}
	config_defaults(&cfg);
	while ((opt = getopt_long(argc, argv, "s:a:H:A:fc:hD:", opts, NULL)) != -1) {
		switch (opt) {
		case 's': socket_opt = optarg; break;
		case 'a': size_opt = optarg; break;
		case 'H': huge_opt = optarg; break;
		case 'A': file_opt = optarg; break;
		case 'f': cfg.foreground = true; break;
		case 'R': ready_opt = optarg; break;
		case 'D': debug_opt = optarg; break;
		case 'c': config_opt = optarg; break;
		case 'h': usage(stdout); return 0;
		case 'V':
			printf("slubd %s (control protocol %u)\n", SLUBD_VERSION, SLUBD_PROTOCOL_VERSION);
			return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "slubd: unexpected argument: %s\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	if (config_opt && config_load(&cfg, config_opt, err, sizeof(err))) {
		fprintf(stderr, "slubd: %s\n", err);
		return 2;
	}
	if (size_opt && (rc = parse_size(size_opt, &cfg.arena_size))) {
		fprintf(stderr, "slubd: bad --arena-size: %s (%s)\n", size_opt,
			rc == -ERANGE ? "too large: past 2^64 bytes" : "bytes, with K, M or G");
		return 2;
	}
	if (size_opt) {
		char what[96];

		snprintf(what, sizeof(what), "--arena-size %s", size_opt);
		rc = arena_size_check(&cfg.arena_size, what, err, sizeof(err));
		if (rc)
			fprintf(stderr, "slubd: %s\n", err);	/* refused, or rounded up */
		if (rc < 0)
			return 2;
	}
	if (huge_opt && parse_huge(huge_opt, &cfg.huge)) {
		fprintf(stderr, "slubd: bad --hugepages: %s (auto, on or off)\n", huge_opt);
		return 2;
	}
	if (ready_opt) {
		char *end;
		long n;

		errno = 0;
		n = strtol(ready_opt, &end, 10);
		if (errno || end == ready_opt || *end || n < 3 || n > 65535) {
			fprintf(stderr, "slubd: bad --ready-fd: %s (a descriptor number above 2: 0, "
				"1 and 2 are stdin, stdout and stderr)\n", ready_opt);
			return 2;
		}
		if (fcntl((int)n, F_SETFD, FD_CLOEXEC)) {
			fprintf(stderr, "slubd: --ready-fd %ld: not an open descriptor (the parent "
				"opens it, e.g. a pipe: 3>&1 or exec 3>file)\n", n);
			return 2;
		}
		cfg.notify_fd = (int)n;
	}
	if (debug_opt) {
		struct slab_debug_spec sp;

		if (slab_debug_parse(debug_opt, &sp, err, sizeof(err))) {
			fprintf(stderr, "slubd: bad --slab-debug: %s\n", err);
			return 2;
		}
		snprintf(cfg.slab_debug, sizeof(cfg.slab_debug), "%s", debug_opt);
	}
	if (file_opt)
		snprintf(cfg.arena_file, sizeof(cfg.arena_file), "%s", file_opt);
	if (socket_opt)
		snprintf(cfg.socket, sizeof(cfg.socket), "%s", socket_opt);
	else
		ctl_default_socket(cfg.socket, sizeof(cfg.socket));

	if (config_opt) {
		/* named arenas: one slubd each, under a supervisor (tenants.c) */
		char names[SLUBD_MAX_ARENAS][SLUBD_ARENA_NAME_MAX + 1];
		int nr = config_arena_names(config_opt, names, SLUBD_MAX_ARENAS, err, sizeof(err));

		if (nr < 0) {
			fprintf(stderr, "slubd: %s\n", err);
			return 2;
		}
		if (nr > 0)
			return tenants_run(&cfg, config_opt, names, nr);
	}
	/* one arena: one process, as always */
	return serve(&cfg);
}
