/* harness.c - runs a table of test cases; see harness.h. */
#include <linux/magic.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "harness.h"

int t_failed;
const char *t_skipped;

int t_main(const struct t_case *cases, int n, int argc, char **argv)
{
	int failed = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (int i = 0; i < n; i++) {
		if (argc > 1) {
			int wanted = 0;
			for (int j = 1; j < argc; j++)
				wanted |= !strcmp(argv[j], cases[i].name);
			if (!wanted)
				continue;
		}
		t_failed = 0;
		t_skipped = NULL;
		cases[i].fn();
		if (t_failed) {
			printf("FAIL %s\n", cases[i].name);
			failed++;
		} else if (t_skipped) {
			printf("skip %s: %s\n", cases[i].name, t_skipped);
		} else {
			printf("ok %s\n", cases[i].name);
		}
		fflush(stdout);
	}
	return failed ? 1 : 0;
}

const char *t_disk_dir(long *ftype)
{
	const char *dirs[] = { getenv("TMPDIR"), "/var/tmp", "/tmp" };
	struct statfs sf;

	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		if (dirs[i] && *dirs[i] && strlen(dirs[i]) < 60 && statfs(dirs[i], &sf) == 0 &&
		    sf.f_type != TMPFS_MAGIC && sf.f_type != RAMFS_MAGIC &&
		    access(dirs[i], W_OK | X_OK) == 0) {
			*ftype = (long)sf.f_type;
			return dirs[i];
		}
	return NULL;
}
