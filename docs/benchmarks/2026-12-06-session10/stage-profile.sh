#!/usr/bin/env bash
# Per-stage cost of the gateway on net_pcap, build against build (docs/gateway-packet-path.md, "Session 12"):
# each tree's inline gateway runs in turn on core 1 for 14 s, replaying the packet benchmark's capture; perf
# samples the poller thread for 3 s near the end, and each part's ns/packet is its share of the samples times
# the run's poller CPU ns/packet (from the 8th stats line to the last). The host's slow stretches move the
# PMD's time far more than the stages', so "non-pmd" (all the Java work) tells builds apart where the total
# cannot.
#
#   stage-profile.sh BENCH_DIR ROUNDS TREE...
#
# BENCH_DIR: a `bin/keelson bench packet --out DIR` directory's packet/ (flows.pcap, bootstrap.yaml).
# TREE: a built checkout (mvn install -DskipTests, its jmh-benchmarks/target/runtime-classpath.txt present).
# Root, DPDK, perf (linux-perf) and the native shim as for the benchmark.
set -euo pipefail
D=$1; ROUNDS=$2; shift 2
J=/usr/lib/jvm/temurin-25-jdk-amd64/bin
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

run() {
  local tree=$1 log="$WORK/gw.log" cp pid tid
  cp="$tree/dataplane-java/target/classes:$(tr ':' '\n' < "$tree/jmh-benchmarks/target/runtime-classpath.txt" \
    | grep -v dataplane-java | paste -sd:)"
  "$J/java" --enable-native-access=ALL-UNNAMED -Xmx512m -XX:+UseParallelGC "@$tree/bin/lib/gateway-jvm.flags" \
    -Dkeelson.home="$tree" -Dkeelson.native.dir="$tree/build/native/dataplane-native" -cp "$cp" \
    io.keelson.dataplane.gateway.GatewayCommand --hw-profile pcap-replay \
    --config "$D/bootstrap.yaml" --pipeline inline --port-ip wire=10.99.0.1/16 --snat 10.99.0.2 \
    --duration 14 --stats-interval 1 --var pcap="$D/flows.pcap" --syn-rate 1000000/1000 \
    --eal --file-prefix --eal "stages-$$" > "$log" 2>&1 &
  pid=$!
  sleep 9
  tid=$(for t in /proc/$pid/task/*; do [ "$(cat "$t/comm")" = keelson-gateway ] && basename "$t"; done)
  perf record -q -F 4999 -t "$tid" -o "$WORK/perf.data" -- sleep 3 2>/dev/null
  "$J/jcmd" "$pid" Compiler.perfmap > /dev/null # JIT symbols in /tmp/perf-PID.map, which perf report reads
  perf report -i "$WORK/perf.data" --sort dso,sym --stdio 2>/dev/null | grep '%' > "$WORK/shares.txt"
  wait "$pid"
  rm -rf "/var/run/dpdk/stages-$$" "/tmp/perf-$pid.map"
  local ns
  ns=$(grep '^stats' "$log" | awk 'NR==8{for(i=1;i<=NF;i++){split($i,a,"=");f[a[1]]=a[2]}}
    END{for(i=1;i<=NF;i++){split($i,a,"=");l[a[1]]=a[2]}; printf "%.1f", (l["poller_cpu"]-f["poller_cpu"])*1e9/(l["rx"]-f["rx"])}')
  awk -v ns="$ns" -v name="$(basename "$tree")" '
    { share = $1; sub("%", "", share) }
    /librte_net_pcap/ { pmd += share }
    /ParseStage\./ { parse += share }
    /ClassifyStage\.|SynRateLimiter\./ { classify += share }
    /ForwardStage\.|ConnTrack\./ { forward += share }
    END { printf "%-12s total %6.1f  pmd %5.1f  parse %5.1f  classify %5.1f  forward %5.1f  non-pmd %5.1f ns/packet\n",
      name, ns, ns*pmd/100, ns*parse/100, ns*classify/100, ns*forward/100, ns*(100-pmd)/100 }' "$WORK/shares.txt"
}

for r in $(seq "$ROUNDS"); do
  for tree in "$@"; do
    run "$tree"
  done
done
