#!/usr/bin/env bash
# How session 11's ad-hoc pairs were run (docs/gateway-packet-path.md, "Session 11"): two builds of the
# gateway at once, one per core, each on its own net_pcap port replaying the packet benchmark's capture;
# then swapped. Prints each gateway's poller CPU ns/packet from its 8th stats line to its last.
#
#   pair-gateways.sh TREE_A TREE_B BENCH_DIR [ROUNDS]
#
# TREE_A/TREE_B: built checkouts (mvn install -DskipTests); BENCH_DIR: a `bin/keelson bench packet --out DIR`
# directory's packet/ (it holds flows.pcap and bootstrap.yaml). Root, DPDK and the native shim as for the bench.
set -euo pipefail
A=$1; B=$2; D=$3; ROUNDS=${4:-4}
J=/usr/lib/jvm/temurin-25-jdk-amd64/bin/java
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# A copy of the pcap-replay hardware profile with its poller on core $2.
profile() {
  sed "s/^cores: \[1\]/cores: [$2]/; s/^name: pcap-replay/name: pcap-core$2/" "$1/hw-profiles/pcap-replay.yaml" \
    > "$WORK/pcap-core$2.yaml"
}

# gateway TREE CORE: runs the benchmark's inline gateway from TREE for 14 s and prints its ns/packet.
gateway() {
  local tree=$1 core=$2 log="$WORK/gw-$2.log" cp
  cp="$tree/dataplane-java/target/classes:$(tr ':' '\n' < "$tree/jmh-benchmarks/target/runtime-classpath.txt" \
    | grep -v dataplane-java | paste -sd:)"
  profile "$tree" "$core"
  "$J" --enable-native-access=ALL-UNNAMED -Xmx512m -XX:+UseParallelGC "@$tree/bin/lib/gateway-jvm.flags" \
    -Dkeelson.home="$tree" -Dkeelson.native.dir="$tree/build/native/dataplane-native" -cp "$cp" \
    io.keelson.dataplane.gateway.GatewayCommand --hw-profile "$WORK/pcap-core$core.yaml" \
    --config "$D/bootstrap.yaml" --pipeline inline --port-ip wire=10.99.0.1/16 --snat 10.99.0.2 \
    --duration 14 --stats-interval 1 --var pcap="$D/flows.pcap" --syn-rate 1000000/1000 \
    --eal --file-prefix --eal "pair$core-$$" > "$log" 2>&1
  rm -rf "/var/run/dpdk/pair$core-$$"
  grep '^stats' "$log" | awk 'NR==8{for(i=1;i<=NF;i++){split($i,a,"=");f[a[1]]=a[2]}}
    END{for(i=1;i<=NF;i++){split($i,a,"=");l[a[1]]=a[2]}; printf "%.1f", (l["poller_cpu"]-f["poller_cpu"])*1e9/(l["rx"]-f["rx"])}'
}

# pair X Y: X on core 1 and Y on core 0, at the same time.
pair() {
  gateway "$1" 1 > "$WORK/c1" & gateway "$2" 0 > "$WORK/c0" & wait
  echo "core 1: $(basename "$1") $(cat "$WORK/c1")   core 0: $(basename "$2") $(cat "$WORK/c0")"
}

for ((r = 0; r < ROUNDS; r++)); do
  pair "$A" "$B"
  pair "$B" "$A"
done
