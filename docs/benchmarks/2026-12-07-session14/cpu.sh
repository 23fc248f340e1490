#!/bin/bash
# Thread-CPU ns per packet of one GatewayPipelineBenchmark method, with the gateway's JVM flags, pinned to one core.
# usage (from a worktree with dataplane-java and jmh-benchmarks compiled; CpuBench compiled into $CPU_CLASSES):
#   docs/benchmarks/2026-12-07-session14/cpu.sh TREE LABEL parseOnly|clientBurst|backendBurst TRAIN
# TREE is the tree whose dataplane-java/target/classes are measured (e.g. a `git archive main` copy built in /tmp).
W=$(cd "$(dirname "$0")/../../.." && pwd)
CPU_CLASSES=${CPU_CLASSES:-/tmp/pkt14/cpu/classes}
CP=$1/dataplane-java/target/classes:$W/jmh-benchmarks/target/classes:$CPU_CLASSES:$(tr ':' '\n' < $W/jmh-benchmarks/target/runtime-classpath.txt | grep -v keelson-dataplane | paste -sd:)
taskset -c ${CORE:-1} java @$W/bin/lib/gateway-jvm.flags -cp $CP CpuBench $3 $4 2>&1 | grep cpu-ns | sed "s/^/$2 /"
