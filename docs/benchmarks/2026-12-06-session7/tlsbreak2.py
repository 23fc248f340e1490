import sys, subprocess, collections, re
data, req = sys.argv[1], float(sys.argv[2])
p = subprocess.Popen(['perf','script','-i',data,'-F','comm,ip,sym,dso'], stdout=subprocess.PIPE, text=True, stderr=subprocess.DEVNULL)
cat = collections.Counter()
SUB = [('alloc', r'Allocator|AdaptiveByteBuf|AdaptivePooling|directBuffer|PoolArena|newDirectBuffer'),
       ('transport-write', r'io\.netty\.channel\.uring|ChannelOutboundBuffer|io_uring|tcp_|ip_|__dev_queue'),
       ('boringssl', r'libnetty_tcnative|\[unknown\]'),
       ('jni-wrapper', r'io\.netty\.internal\.tcnative\.SSL\.'),
       ('copy', r'memmove|memcpy|setBytes|writeBytes|getBytes'),
       ('coalesce', r'Coalescing|CompositeByteBuf'),
       ('promise', r'Promise'),
       ('engine', r'ReferenceCountedOpenSslEngine|SSLEngineResult|OpenSslEngine'),
       ('sslhandler', r'SslHandler|ByteToMessageDecoder|FlushGate'),
       ('pipeline', r'AbstractChannelHandlerContext|DefaultChannelPipeline')]
stack = []
def flush():
    global stack
    if stack:
        tls = None
        for i, f in enumerate(stack):
            if 'io.keelson.' in f and not 'FlushGate' in f: break
            if re.search(r'io\.netty\.handler\.ssl|tcnative|FlushGate|ByteToMessageDecoder', f):
                tls = i; break
        if tls is not None:
            sub = 'other'
            for f in stack[:tls+1]:
                for name, rx in SUB:
                    if re.search(rx, f):
                        sub = name; break
                if sub != 'other': break
            cat[sub] += 1
    stack = []
for line in p.stdout:
    if not line.strip():
        flush(); continue
    if not line.startswith((' ', '\t')):
        flush(); continue
    stack.append(line.strip())
flush()
u = 1e6/1999/req
print("tls total %.3f us/req" % (sum(cat.values())*u))
for k, v in cat.most_common():
    print("  %-16s %7.3f us/req" % (k, v*u))
