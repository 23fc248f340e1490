#!/bin/bash
# usage: ab-turns.sh SECONDS TURNS NAME... -- wrk against each pair in turns; CPU per request of each pair (both hops)
D=$1; T=$2; shift 2; H=/tmp/mtls7-hand
cpu() { awk '{print $14+$15}' /proc/$1/stat; }
for t in $(seq 1 $T); do
  line="turn $t:"
  for N in "$@"; do
    PA=$(awk -v n=$N '$1==n{print $2}' $H/pairs.txt | tail -1)
    a=$(cat $H/$N-hop-a.pid); b=$(cat $H/$N-hop-b.pid)
    c0=$(( $(cpu $a) + $(cpu $b) ))
    t0=$(date +%s%N)
    out=$(taskset -c 1 wrk -t1 -c50 -d${D}s --timeout 5s http://127.0.0.1:$PA/)
    t1=$(date +%s%N)
    c1=$(( $(cpu $a) + $(cpu $b) ))
    req=$(echo "$out" | awk '/requests in/{print $1}')
    rps=$(echo "$out" | awk '/Requests\/sec/{printf "%d", $2}')
    us=$(echo "scale=2; ($c1-$c0)*10000/$req" | bc)
    share=$(echo "scale=0; ($c1-$c0)*1000000000/($t1-$t0)" | bc)
    line="$line  $N rps=$rps cpu=${share}% us/req=$us"
  done
  echo "$line" | tee -a $H/ab-log.txt
done
