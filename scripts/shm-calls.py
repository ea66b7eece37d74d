#!/usr/bin/env python3
"""shm-calls.py - which file of shm/ calls which, and which calls go up.

A function or variable defined (not static, at column 0) in shm/X.c and named
in shm/Y.c outside comments and strings is a call Y -> X.  The layers are
LAYERS below (bottom first, as drawn at the top of shm/internal.h); a call to
a file on a later line is printed with UP.  Text matching, no compiler: a
local that shadows a global name counts as a call (none do today).

  scripts/shm-calls.py          every call between files, UP marked
  scripts/shm-calls.py --up     only the calls that go up
"""
import glob, os, re, sys

LAYERS = ["os.c names.c", "report.c", "lock.c ident.c", "list.c", "meta.c kmalloc_debug.c",
          "debug_obj.c", "slab_acct.c", "cache_list.c", "buddy.c", "geom.c", "slab.c", "slub.c",
          "slub_debug.c", "stats.c", "validate.c scrub.c", "slub_cache.c kmalloc.c", "arena.c"]
level = {f: i for i, line in enumerate(LAYERS) for f in line.split()}


def strip(t):
    t = re.sub(r'/\*.*?\*/', lambda m: '\n' * m.group(0).count('\n'), t, flags=re.S)
    t = re.sub(r'//[^\n]*', '', t)
    return re.sub(r'"(\\.|[^"\\])*"', '""', t)


root = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'shm')
src = {os.path.basename(f): strip(open(f).read()) for f in sorted(glob.glob(root + '/*.c'))}
defs = {}
for f, t in src.items():
    for m in re.finditer(r'^(?!static)(?:[A-Za-z_][\w \*]*?[\s\*])(\w+)\(([^;{]*?)\)\s*'
                         r'(?:__attribute__\(\(.*?\)\)\s*)?\{', t, flags=re.M | re.S):
        defs.setdefault(m.group(1), f)
    for m in re.finditer(r'^(?!static)(?:__thread\s+)?[A-Za-z_][\w \*]*?[\s\*](\w+)'
                         r'(?:\[[^\]]*\])?\s*(?:=[^;]*)?;', t, flags=re.M):
        if not m.group(0).startswith(('extern', 'return', 'typedef')):
            defs.setdefault(m.group(1), f)
edges = {}
for f, t in src.items():
    for name, d in defs.items():
        if d != f and re.search(r'\b' + name + r'\b', t):
            edges.setdefault((f, d), []).append(name)
ups = 0
for (a, b), names in sorted(edges.items()):
    up = a in level and b in level and level[b] > level[a]
    unknown = a not in level or b not in level
    ups += up
    if '--up' in sys.argv and not (up or unknown):
        continue
    print(f'{a} -> {b}: {" ".join(sorted(names))}' + ('  UP' if up else '') +
          ('  (a file not in LAYERS)' if unknown else ''))
print(f'{ups} calls up', file=sys.stderr)
