#!/usr/bin/env python3
# mdbpages.py DATA.MDB: the live pages of an LMDB data file, one a line,
# "PGNO TYPE DB" (meta, branch, leaf, overflow), found by walking every
# database from the newest meta page.  For the damaged-store test only:
# it reads the page headers, never writes.
import struct
import sys

P_BRANCH, P_LEAF, P_OVERFLOW = 0x01, 0x02, 0x04
F_BIGDATA, F_SUBDATA = 0x01, 0x02
NONE = 2**64 - 1

data = open(sys.argv[1], 'rb').read()
psize = struct.unpack_from('<I', data, 40)[0]


def meta(i):
    off = i * psize
    root = struct.unpack_from('<Q', data, off + 128)[0]
    txnid = struct.unpack_from('<Q', data, off + 144)[0]
    return txnid, root


seen = {}


def walk(pgno, db='main'):
    if pgno == NONE or pgno in seen:
        return
    off = pgno * psize
    flags, lower = struct.unpack_from('<HH', data, off + 10)
    if flags & P_BRANCH:
        seen[pgno] = 'branch ' + db
    elif flags & P_LEAF:
        seen[pgno] = 'leaf ' + db
    else:
        return
    for i in range((lower - 16) // 2):
        ptr = struct.unpack_from('<H', data, off + 16 + 2 * i)[0]
        lo, hi, nflags, ksize = struct.unpack_from('<HHHH', data, off + ptr)
        if flags & P_BRANCH:
            walk(lo | hi << 16 | nflags << 32, db)
            continue
        d = off + ptr + 8 + ksize
        if nflags & F_SUBDATA:
            name = data[off + ptr + 8:off + ptr + 8 + ksize].decode()
            walk(struct.unpack_from('<Q', data, d + 40)[0], name)
        elif nflags & F_BIGDATA:
            seen[struct.unpack_from('<Q', data, d)[0]] = 'overflow ' + db


m = max(meta(0), meta(1))
walk(m[1])
print('0 meta -\n1 meta -')
for p in sorted(seen):
    print(p, seen[p])
