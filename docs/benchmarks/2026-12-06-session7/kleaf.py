import sys, subprocess, collections, re
def load(data, req):
    p = subprocess.Popen(['perf','script','-i',data,'-F','comm,ip,sym,dso'], stdout=subprocess.PIPE, text=True, stderr=subprocess.DEVNULL)
    c = collections.Counter(); stack = []
    def flush():
        if not stack: return
        for f in stack:
            if re.search(r'io\.netty\.handler\.ssl|tcnative|FlushGate|ByteToMessageDecoder', f): return
            if 'io.keelson.' in f:
                leaf = stack[0].split(None, 1)[1] if ' ' in stack[0] else stack[0]
                leaf = re.sub(r'\(.*', '', leaf); leaf = re.sub(r'^\S+ (?=\S)', '', leaf) if '.' in leaf else leaf
                c[leaf[:110]] += 1; return
    for line in p.stdout:
        if not line.strip() or not line.startswith((' ', '\t')):
            flush(); stack = []; continue
        stack.append(line.strip())
    flush()
    u = 1e6/1999/req
    return {k: v*u for k, v in c.items()}
log = {}
for l in open('prof-log.txt'):
    v, t, r = l.split()[0], l.split()[1], int(re.search(r'requests=(\d+)', l).group(1)); log[(v, t)] = r
A = collections.Counter(); B = collections.Counter(); tags = sys.argv[1:]
for t in tags:
    for k, x in load('prof-keelson-%s.data' % t, log[('keelson', t)]).items(): A[k] += x/len(tags)
    for k, x in load('prof-keelson-mtls-%s.data' % t, log[('keelson-mtls', t)]).items(): B[k] += x/len(tags)
print("keelson bucket: plain %.3f mtls %.3f" % (sum(A.values()), sum(B.values())))
keys = sorted(set(A)|set(B), key=lambda k: -(B[k]-A[k]))
for k in keys[:25]: print("%7.3f %7.3f %+7.3f %s" % (A[k], B[k], B[k]-A[k], k))
print('...')
for k in keys[-10:]: print("%7.3f %7.3f %+7.3f %s" % (A[k], B[k], B[k]-A[k], k))
