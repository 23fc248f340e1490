package io.keelson.bench.e2e;

import java.nio.file.Path;

/**
 * One load run: how long, how many connections, where the load generator runs, and where its raw
 * output goes. Immutable.
 */
record RunSpec(int durationSeconds, int connections, CpuPinning.Cpus cpus, Path rawOutput) {
}
