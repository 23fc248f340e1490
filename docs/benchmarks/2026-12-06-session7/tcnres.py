import sys, subprocess, bisect, collections, re
syms = []
for l in open('/tmp/mtls7-hand/tcn.syms'):
    a, t, n = l.split()[:3]; syms.append((int(a, 16), n))
addrs = [a for a, _ in syms]
out = subprocess.run(['perf','report','-i',sys.argv[1],'--sort','dso,sym','--stdio','-F','sample,dso,sym'],capture_output=True,text=True).stdout
c = collections.Counter(); req = float(sys.argv[2])
for line in out.splitlines():
    if 'tcnative' not in line: continue
    m = re.search(r'^\s*(\d+).*0x([0-9a-f]+)\s*$', line)
    if not m: continue
    n, a = int(m.group(1)), int(m.group(2), 16)
    i = bisect.bisect_right(addrs, a) - 1
    c[syms[i][1]] += n
tot = sum(c.values())
print("tcnative total %.3f us/req" % (tot*1e6/1999/req))
for k, v in c.most_common(int(sys.argv[3]) if len(sys.argv) > 3 else 40):
    print("%7.3f us/req  %5.1f%%  %s" % (v*1e6/1999/req, 100.0*v/tot, k))
