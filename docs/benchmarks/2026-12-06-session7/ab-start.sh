#!/bin/bash
# usage: ab-start.sh NAME JAR PORT_A PORT_B ADMIN_A ADMIN_B [mtls|plain] -- one pair on core 0 with the given dataplane jar
N=$1; JAR=$2; PA=$3; PB=$4; AA=$5; AB=$6; KIND=${7:-mtls}; H=/tmp/mtls7-hand
SRC=/tmp/mtls7-b0/two-hop-mtls-turns/$([ $KIND = mtls ] && echo keelson-mtls || echo keelson)
mkdir -p $H/$N
OA=$(grep -o 'port_value: [0-9]*' $SRC/hop-a/keelson.yaml | head -1 | awk '{print $2}')
OB=$(grep -o 'port_value: [0-9]*' $SRC/hop-b/keelson.yaml | head -1 | awk '{print $2}')
sed "s/port_value: $OA/port_value: $PA/; s/port_value: $OB/port_value: $PB/" $SRC/hop-a/keelson.yaml > $H/$N/a.yaml
sed "s/port_value: $OB/port_value: $PB/" $SRC/hop-b/keelson.yaml > $H/$N/b.yaml
mapfile -t CMD < $H/cmdline-a.txt
# replace the classpath's dataplane jar and the config/admin args
for i in "${!CMD[@]}"; do
  CMD[$i]=${CMD[$i]//\/work\/wt-mtls7\/dataplane-java\/target\/keelson-dataplane-0.1.0-SNAPSHOT.jar/$JAR}
done
n=${#CMD[@]}
BASE=("${CMD[0]}" ${EXTRA_JVM:-} "${CMD[@]:1:$((n-7))}")
taskset -c 0 "${BASE[@]}" --config $H/$N/b.yaml --admin 127.0.0.1:$AB --concurrency 1 > $H/$N/b.log 2>&1 &
echo $! > $H/$N-hop-b.pid
taskset -c 0 "${BASE[@]}" --config $H/$N/a.yaml --admin 127.0.0.1:$AA --concurrency 1 > $H/$N/a.log 2>&1 &
echo $! > $H/$N-hop-a.pid
for a in $AA $AB; do for i in $(seq 1 120); do curl -sf http://127.0.0.1:$a/ready >/dev/null && break; sleep 1; done; done
echo "$N $PA $AA" >> $H/pairs.txt
echo "$N ready: A=$(cat $H/$N-hop-a.pid) B=$(cat $H/$N-hop-b.pid)"
