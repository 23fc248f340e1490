#!/bin/bash
# usage: prof.sh VARIANT SECONDS TAG -- perf record (cpu-clock) on both hops while wrk runs; prints requests in window
V=$1; D=${2:-5}; T=${3:-x}; H=/tmp/mtls7-hand
case $V in keelson) PORT=41481; AA=45001;; keelson-mtls) PORT=33397; AA=45003;; esac
PA=$(cat $H/$V-hop-a.pid); PB=$(cat $H/$V-hop-b.pid)
jcmd $PA Compiler.perfmap >/dev/null; jcmd $PB Compiler.perfmap >/dev/null
rq() { curl -s http://127.0.0.1:$AA/stats | awk '/downstream_rq_total/{print $2}'; }
cpu() { awk '{print $14+$15}' /proc/$1/stat; }
taskset -c 1 wrk -t1 -c50 -d$((D+2))s --timeout 5s http://127.0.0.1:$PORT/ > $H/wrk-p-$V.txt &
W=$!
sleep 1
r0=$(rq); ca0=$(cpu $PA); cb0=$(cpu $PB)
perf record -q -F 1999 ${G:-} -p $PA,$PB -o $H/prof-$V-$T.data -- sleep $D 2>/dev/null
r1=$(rq); ca1=$(cpu $PA); cb1=$(cpu $PB)
wait $W
jcmd $PA Compiler.perfmap >/dev/null; jcmd $PB Compiler.perfmap >/dev/null
echo "$V $T requests=$((r1-r0)) ticksA=$((ca1-ca0)) ticksB=$((cb1-cb0)) usPerReq=$(echo "scale=2; ($ca1-$ca0+$cb1-$cb0)*10000/($r1-$r0)" | bc)" | tee -a $H/prof-log.txt
