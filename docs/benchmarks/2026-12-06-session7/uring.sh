#!/bin/bash
# usage: uring.sh VARIANT SECONDS -- records io_uring submit/complete tracepoints on both hops during wrk
V=$1; D=${2:-3}; H=/tmp/mtls7-hand
case $V in keelson) PORT=41481;; keelson-mtls) PORT=33397;; esac
PA=$(cat $H/$V-hop-a.pid); PB=$(cat $H/$V-hop-b.pid)
taskset -c 1 wrk -t1 -c50 -d$((D+2))s --timeout 5s http://127.0.0.1:$PORT/ > $H/wrk-u-$V.txt &
W=$!
sleep 1
perf record -q -e io_uring:io_uring_submit_req,io_uring:io_uring_complete,io_uring:io_uring_poll_arm,io_uring:io_uring_task_add,io_uring:io_uring_short_write -p $PA -o $H/uring-$V-a.data -- sleep $D 2>/dev/null &
R1=$!
perf record -q -e io_uring:io_uring_submit_req,io_uring:io_uring_complete,io_uring:io_uring_poll_arm,io_uring:io_uring_task_add,io_uring:io_uring_short_write -p $PB -o $H/uring-$V-b.data -- sleep $D 2>/dev/null &
R2=$!
wait $R1 $R2 $W
