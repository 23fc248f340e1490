import sys, re, collections
sub = collections.Counter(); comp = collections.Counter(); sizes = collections.defaultdict(collections.Counter)
other = collections.Counter()
for line in sys.stdin:
    m = re.search(r'io_uring:(\w+): .*?user_data (0x[0-9a-f]+)(.*)', line)
    if not m:
        continue
    ev, ud, rest = m.group(1), int(m.group(2), 16), m.group(3)
    op = (ud >> 16) & 0xff
    if ev == 'io_uring_submit_req':
        opn = re.search(r'opcode (\w+)', rest).group(1)
        sub[opn] += 1
    elif ev == 'io_uring_complete':
        res = int(re.search(r'result (-?\d+)', rest).group(1))
        comp[op] += 1
        b = res if res <= 0 else (res if res < 64 else (res//64)*64)
        sizes[op][b] += 1
    else:
        other[ev] += 1
n = float(sys.argv[1])
print("submits per request:", {k: round(v/n, 3) for k, v in sub.most_common()})
print("completions per request by op-byte:", {k: round(v/n, 3) for k, v in comp.most_common()})
for op, c in sizes.items():
    print("  op", op, "result sizes (top):", [(k, round(v/n, 3)) for k, v in c.most_common(6)])
print("other:", {k: round(v/n, 3) for k, v in other.items()})
