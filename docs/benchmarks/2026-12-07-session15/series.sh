#!/usr/bin/env bash
# series.sh DEVICE PAIRS BASE_CLASSES NEW_CLASSES: base and new in turns (order alternating), one bench lock per pair.
DEV=$1; N=$2; BASE=$3; NEW=$4; R=$(dirname "$0")/rate.sh
for ((i = 1; i <= N; i++)); do
  if (( i % 2 )); then A=base; AC=$BASE; B=new; BC=$NEW; else A=new; AC=$NEW; B=base; BC=$BASE; fi
  flock -w 900 /tmp/keelson-bench.lock bash -c "echo \"pair $i \$(date +%H:%M:%S) load \$(cut -d' ' -f1 /proc/loadavg)\"; $R $A $AC $DEV; $R $B $BC $DEV"
done
