#!/bin/bash
# Manual experiment: two-hop Keelson plaintext (HTTP/1.1 A->B) vs mTLS with HTTP/2 A->B, in turns.
cd /tmp/tls-h2
K=/work/wt-tls/bin/keelson
export KEELSON_JVM_OPTS="-Xms256m -Xmx256m -XX:+AlwaysPreTouch"
taskset -c 1 nginx -p /tmp/tls-h2/up -c /tmp/tls-h2/up/nginx.conf & NG=$!
pids=()
start() { taskset -c 0 $K proxy --config $1 --admin 127.0.0.1:$2 --concurrency 1 > $1.log 2>&1 & echo $!; }
PB=$(start plain/hop-b/keelson.yaml 39621); PA=$(start plain/hop-a/keelson.yaml 39622)
HB=$(start h2/hop-b/keelson.yaml 39623); HA=$(start h2/hop-a/keelson.yaml 39624)
for port in 39621 39622 39623 39624; do for i in $(seq 1 120); do curl -sf http://127.0.0.1:$port/ready >/dev/null && break; sleep 1; done; done
curl -s -o /dev/null -w "plain %{http_code}\n" http://127.0.0.1:39611/; curl -s -o /dev/null -w "h2 %{http_code}\n" http://127.0.0.1:39601/
ticks() { local s=0; for p in "$@"; do for t in $(pgrep -P $p) $p; do [ -r /proc/$t/stat ] && s=$((s + $(awk '{print $14+$15}' /proc/$t/stat))); done; done; echo $s; }
# java pids are the exec'd launcher pids (bin/keelson execs java)
run() { # name port secs
  local t0=$(ticks $3 $4) n0=$(date +%s.%N)
  local rps=$(taskset -c 1 wrk -t1 -c50 -d${5}s http://127.0.0.1:$2/ | awk '/Requests\/sec/ {print $2}')
  local t1=$(ticks $3 $4) n1=$(date +%s.%N)
  python3 -c "
cpu=($t1-$t0)/100; el=$n1-$n0; r=float('$rps')
print(f'$1 {r:9.0f} req/s  cpu {100*cpu/el:4.0f}%  {1e6*cpu/(r*$5):6.1f} us/req')"
}
for i in 1 2 3 4 5; do run plain-warm 39611 $PA $PB 5 >/dev/null; run h2-warm 39601 $HA $HB 5 > /dev/null; done
echo "A->B connections (h2 pair): $(ss -tn state established '( dport = :39602 )' | tail -n +2 | wc -l)"
for i in 1 2 3 4 5 6; do run plain 39611 $PA $PB 4; run h2mtls 39601 $HA $HB 4; done
echo "A->B connections during turns (h2 pair): $(ss -tn state established '( dport = :39602 )' | tail -n +2 | wc -l)"
kill $PA $PB $HA $HB; sleep 2; kill $NG
