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
 * The settings every Keelson JMH benchmark shares, so results compare run to run: one fork with
 * native access enabled (FFM), 3 x 1 s warm-up, 5 x 1 s measurement, average time in ns per
 * operation. Extend it; JMH reads these annotations from the superclass. A benchmark overrides one
 * (e.g. {@code @BenchmarkMode(Throughput)}) only with a reason in its Javadoc. State is per
 * benchmark thread.
 */
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@State(Scope.Thread)
public abstract class BenchmarkBase {}
