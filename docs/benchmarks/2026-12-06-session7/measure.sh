#!/bin/bash
# usage: measure.sh VARIANT SECONDS [perfevents]  -- runs wrk against the variant's hop A while perf stat counts both hops
V=$1; D=${2:-5}; H=/tmp/mtls7-hand
case $V in keelson) PORT=41481; AA=45001; AB=45002;; keelson-mtls) PORT=33397; AA=45003; AB=45004;; esac
PA=$(cat $H/$V-hop-a.pid); PB=$(cat $H/$V-hop-b.pid)
EV=${EV:-raw_syscalls:sys_enter,syscalls:sys_enter_io_uring_enter,context-switches,sched:sched_wakeup,syscalls:sys_enter_epoll_wait,syscalls:sys_enter_write,syscalls:sys_enter_writev,syscalls:sys_enter_read}
cpu() { awk '{print $14+$15}' /proc/$1/stat; }
stats() { curl -s http://127.0.0.1:$1/stats | grep -E "ssl\.handshake|cx_total|upstream_rq_total|downstream_rq_total" | tr '\n' ' '; }
s0a=$(stats $AA); s0b=$(stats $AB)
ca0=$(cpu $PA); cb0=$(cpu $PB)
perf stat -e $EV -p $PA -o $H/perf-$V-a.txt -- sleep $D &
PSA=$!
perf stat -e $EV -p $PB -o $H/perf-$V-b.txt -- sleep $D &
PSB=$!
taskset -c 1 wrk -t1 -c50 -d${D}s --timeout 5s http://127.0.0.1:$PORT/ > $H/wrk-$V.txt
wait $PSA $PSB
ca1=$(cpu $PA); cb1=$(cpu $PB)
REQ=$(awk '/requests in/{print $1}' $H/wrk-$V.txt)
echo "== $V: requests=$REQ rps=$(awk '/Requests\/sec/{print $2}' $H/wrk-$V.txt) cpuA_ticks=$((ca1-ca0)) cpuB_ticks=$((cb1-cb0)) usPerReq_pair=$(echo "scale=2; ($ca1-$ca0+$cb1-$cb0)*10000/$REQ" | bc)"
echo "A stats before: $s0a"; echo "A stats after:  $(stats $AA)"
echo "B stats before: $s0b"; echo "B stats after:  $(stats $AB)"
for h in a b; do
  echo "-- hop $h per request:"
  awk -v r=$REQ '/^ *[0-9,]+ /{gsub(",","",$1); printf "   %-45s %10d  %.3f/req\n", $2, $1, $1/r}' $H/perf-$V-$h.txt
done
