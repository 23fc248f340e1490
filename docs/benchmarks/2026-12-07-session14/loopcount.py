# Session 14 measurement tools (docs/gateway-packet-path.md, "Session 14"). Ad hoc; paths assume /tmp/pkt14 as in the session.
import re,sys
# counts instructions between the biggest backward branch's target and the branch (the per-packet loop body, static)
lines=[l for l in open(sys.argv[1]) if re.match(r'\s+[0-9a-f]+:\t',l)]
ins=[]
for l in lines:
    parts=l.rstrip('\n').split('\t')
    addr=int(parts[0].strip().rstrip(':'),16)
    if len(parts)>=3 and parts[2].strip(): ins.append((addr,parts[2].strip()))
best=None
for k,(a,t) in enumerate(ins):
    m=re.match(r'j\w+\s+0x([0-9a-f]+)$',t)
    if not (k>=2 and ins[k-2][1].startswith('inc')): continue
    if m:
        tgt=int(m.group(1),16)
        if ins[0][0]<=tgt<a and (best is None or a-tgt>best[1]-best[0]): best=(tgt,a)
body=[t for a,t in ins if best[0]<=a<=best[1]]
mem=sum(1 for t in body if '(' in t)
print(sys.argv[1], 'loop bytes', best[1]-best[0], 'instructions', len(body), 'with memory operand', mem,
      'bounds-check consts', sum(1 for t in body if '0x7ffffffffffffff' in t), 'calls', sum(1 for t in body if t.startswith('call')))
