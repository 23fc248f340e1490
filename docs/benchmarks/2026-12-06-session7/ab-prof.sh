#!/bin/bash
# usage: ab-prof.sh NAME SECONDS TAG -- perf record -g on the pair while wrk runs; requests from wrk's window estimate
N=$1; D=$2; T=$3; H=/tmp/mtls7-hand
PA=$(awk -v n=$N '$1==n{print $2}' $H/pairs.txt | tail -1); AA=$(awk -v n=$N '$1==n{print $3}' $H/pairs.txt | tail -1)
a=$(cat $H/$N-hop-a.pid); b=$(cat $H/$N-hop-b.pid)
jcmd $a Compiler.perfmap >/dev/null; jcmd $b Compiler.perfmap >/dev/null
rq() { curl -s http://127.0.0.1:$AA/stats | awk '/downstream_rq_total/{print $2}'; }
taskset -c 1 wrk -t1 -c50 -d$((D+2))s --timeout 5s http://127.0.0.1:$PA/ > /dev/null &
W=$!; sleep 1; r0=$(rq)
perf record -q -F 1999 -g -p $a,$b -o $H/prof-$N-$T.data -- sleep $D 2>/dev/null
r1=$(rq); wait $W
jcmd $a Compiler.perfmap >/dev/null; jcmd $b Compiler.perfmap >/dev/null
echo "$N $T requests=$((r1-r0))" | tee -a $H/prof-log.txt
