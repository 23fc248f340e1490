#!/usr/bin/env python3
# usage: disasm.py LOG METHOD-SUBSTRING [nth c2 block, default last] -> objdump listing of the C2 MachCode
import re, subprocess, sys, tempfile
log, name = sys.argv[1], sys.argv[2]
text = open(log, errors='replace').read().split('\n')
blocks, cur, start, inblk, want = [], None, None, False, False
for line in text:
    if line.startswith('Compiled method (c2)'):
        want = name in line
        hdr = line
    elif line.startswith('[MachCode]') and want:
        inblk, cur, start = True, bytearray(), None
    elif line.startswith('[/MachCode]') and inblk:
        inblk = False; blocks.append((hdr, start, bytes(cur)))
    elif inblk:
        m = re.match(r'\s*0x([0-9a-f]+): ([0-9a-f |]+)$', line)
        if m and ';' not in line:
            if start is None: start = int(m.group(1), 16)
            cur += bytes.fromhex(m.group(2).replace('|', '').replace(' ', ''))
idx = int(sys.argv[3]) if len(sys.argv) > 3 else max(range(len(blocks)), key=lambda k: len(blocks[k][2]))
hdr, start, code = blocks[idx]
print(hdr, len(code), 'bytes')
with tempfile.NamedTemporaryFile(suffix='.bin', delete=False) as f:
    f.write(code)
out = subprocess.run(['objdump', '-D', '-b', 'binary', '-m', 'i386:x86-64', '--adjust-vma=%#x' % start, f.name], capture_output=True, text=True).stdout
print(out)
