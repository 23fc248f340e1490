import sys, subprocess, collections, re
data, req = sys.argv[1], float(sys.argv[2])
p = subprocess.Popen(['perf','script','-i',data,'-F','comm,ip,sym,dso'], stdout=subprocess.PIPE, text=True, stderr=subprocess.DEVNULL)
cat = collections.Counter(); tlsleaf = collections.Counter()
def classify(frames):
    for f in frames:  # leaf first
        if 'io.netty.handler.ssl' in f or 'tcnative' in f or 'FlushGate' in f or 'ByteToMessageDecoder' in f:
            return 'tls'
        if 'io.keelson.' in f:
            return 'keelson'
        if 'io.netty.channel' in f or 'io_uring' in f or 'SingleThreadIoEventLoop' in f:
            return 'transport'
    return 'other'
stack = []; comm = None
def flush():
    global stack
    if stack:
        k = classify(stack)
        kern = 'kernel' if '[kernel.kallsyms]' in stack[0] else 'user'
        cat[(k, kern)] += 1
        if k == 'tls':
            leaf = re.sub(r'\(.*', '', stack[0].split(None, 1)[1] if ' ' in stack[0] else stack[0])[:100]
            tlsleaf[leaf] += 1
    stack = []
for line in p.stdout:
    if not line.strip():
        flush(); continue
    if not line.startswith((' ', '\t')):
        flush(); comm = line.strip(); continue
    stack.append(line.strip())
flush()
u = 1e6/1999/req
tot = sum(cat.values())
print("total %.2f us/req" % (tot*u))
for k, v in sorted(cat.items()):
    print("  %-10s %-6s %7.3f us/req" % (k[0], k[1], v*u))
print("tls leaf frames:")
for k, v in tlsleaf.most_common(int(sys.argv[3]) if len(sys.argv) > 3 else 25):
    print("  %7.3f %s" % (v*u, k))
