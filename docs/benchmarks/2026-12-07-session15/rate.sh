#!/usr/bin/env bash
# Session 15's device turns (docs/gateway-packet-path.md): the packet benchmark's own keelson-inline command (as in
# the bench report's "commands:" list) with CLASSES first on the classpath; prints the poller CPU ns/packet from the
# 8th stats line to the last. Root, DPDK and this tree's shim (build/native) as for `bin/keelson bench packet`.
#   BENCH_DIR=DIR rate.sh LABEL CLASSES null|pcap [SECS]
# BENCH_DIR: a `bin/keelson bench packet --out DIR` run's packet/ directory (bootstrap.yaml, flows.pcap).
# JOPTS: extra JVM flags (e.g. -XX:CompileCommand=print,... for the listing).
set -euo pipefail
LABEL=$1; CLS=$2; DEV=$3; SECS=${4:-14}
W=$(cd "$(dirname "$0")/../../.." && pwd); D=${BENCH_DIR:?}; J=/usr/lib/jvm/temurin-25-jdk-amd64/bin/java
CP="$CLS:$(tr ':' '\n' < $W/jmh-benchmarks/target/runtime-classpath.txt | grep -v dataplane-java | paste -sd:)"
if [ "$DEV" = pcap ]; then EXTRA=(--hw-profile pcap-replay --var pcap=$D/flows.pcap --syn-rate 1000000/1000); else EXTRA=(--hw-profile null); fi
LOG=$(mktemp /tmp/rate-$LABEL-XXXX.log)
"$J" --enable-native-access=ALL-UNNAMED -Xmx512m -XX:+UseParallelGC @$W/bin/lib/gateway-jvm.flags ${JOPTS:-} -Dkeelson.home=$W \
  -Dkeelson.native.dir=$W/build/native/dataplane-native -cp "$CP" io.keelson.dataplane.gateway.GatewayCommand \
  --config $D/bootstrap.yaml --pipeline inline --port-ip wire=10.99.0.1/16 --snat 10.99.0.2 --duration $SECS \
  --stats-interval 1 "${EXTRA[@]}" --eal --file-prefix --eal rate-$$ > $LOG 2>&1 || true
rm -rf /var/run/dpdk/rate-$$
grep '^stats' $LOG | awk -v L=$LABEL -v DEV=$DEV 'NR==8{for(i=1;i<=NF;i++){split($i,a,"=");f[a[1]]=a[2]}}
  END{for(i=1;i<=NF;i++){split($i,a,"=");l[a[1]]=a[2]}; printf "%s %s %.1f\n", DEV, L, (l["poller_cpu"]-f["poller_cpu"])*1e9/(l["rx"]-f["rx"])}'
