package io.keelson.bench.jmh;

import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The fixed settings every Keelson JMH benchmark runs with, so results compare run to run: one fork
 * (with native access enabled, as the proxy runs), 3 x 1 s warm-up, 5 x 1 s measurement, average
 * time per operation in nanoseconds, state per thread. Benchmarks extend this class; JMH reads the
 * annotations from the superclass. Command-line options (-f, -wi, -i, -w, -r) still override them
 * for a quick smoke run.
 */
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED"})
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@State(Scope.Thread)
public abstract class BenchmarkBase {}
