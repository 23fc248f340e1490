package io.keelson.bench.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.keelson.bench.jmh.GatewayJvmFlags;
import io.keelson.bench.jmh.GatewayPipelineBenchmark;
import io.keelson.dataplane.gateway.GatewayCommand;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collection;
import java.util.List;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openjdk.jmh.runner.NoBenchmarksException;
import org.openjdk.jmh.runner.options.Options;

/**
 * Which JVM arguments {@code bin/keelson bench --jmh} gives the benchmarks' forks (its plan only: no JMH run): the
 * gateway's flags file for {@link GatewayJvmFlags} benchmarks, JMH's defaults for the others.
 */
class JmhLauncherTest {
  /** The project root (the tests run in jmh-benchmarks/). */
  private static final Path HOME = Path.of(System.getProperty("keelson.home", "..")).toAbsolutePath().normalize();

  /** Whether {@code o} includes the benchmark method {@code name} (JMH matches includes with find). */
  private static boolean includes(Options o, String name) {
    return o.getIncludes().stream().anyMatch(i -> Pattern.compile(i).matcher(name).find());
  }

  private static Collection<String> appended(Options o) {
    return o.getJvmArgsAppend().orElse(List.of());
  }

  @Test
  void theGatewayPipelineBenchmarkForksWithTheGatewaysFlagsFile() throws Exception {
    assertThat(GatewayPipelineBenchmark.class.isAnnotationPresent(GatewayJvmFlags.class)).isTrue();
    List<Options> runs = JmhLauncher.plan("GatewayPipelineBenchmark\\.clientBurst", HOME);

    assertThat(runs).hasSize(1);
    Options gateway = runs.getFirst();
    Path file = HOME.resolve(GatewayCommand.JVM_FLAGS_FILE);
    assertThat(appended(gateway)).as("as bin/keelson gateway passes it").containsExactly("@" + file)
        .isEqualTo(GatewayCommand.jvmFlags(HOME));
    assertThat(Files.readString(file)).as("the file the fork's java launcher reads")
        .contains("-XX:FreqInlineSize=800", "-XX:CompileCommand=dontinline,io.keelson.dataplane.packet.ParseStage::onEvent");
    assertThat(includes(gateway, GatewayPipelineBenchmark.class.getName() + ".clientBurst")).isTrue();
    assertThat(includes(gateway, GatewayPipelineBenchmark.class.getName() + ".backendBurst")).isFalse();
  }

  @Test
  void otherBenchmarksKeepJmhsDefaultsInARunOfTheirOwn() throws Exception {
    List<Options> runs = JmhLauncher.plan(null, HOME);

    assertThat(runs).hasSize(2);
    Options plain = runs.get(0);
    Options gateway = runs.get(1);
    assertThat(plain.getJvmArgsAppend().hasValue()).as("the annotations' own jvmArgsAppend apply").isFalse();
    assertThat(includes(plain, "io.keelson.bench.jmh.RouteMatchBenchmark.route")).isTrue();
    assertThat(includes(plain, GatewayPipelineBenchmark.class.getName() + ".clientBurst")).isFalse();
    assertThat(includes(gateway, GatewayPipelineBenchmark.class.getName() + ".clientBurst")).isTrue();
    assertThat(includes(gateway, "io.keelson.bench.jmh.RouteMatchBenchmark.route")).isFalse();
    assertThat(appended(gateway)).containsExactly("@" + HOME.resolve(GatewayCommand.JVM_FLAGS_FILE));
  }

  @Test
  void aMissingFlagsFileIsNamedBeforeAnythingRuns(@TempDir Path elsewhere) throws Exception {
    assertThatThrownBy(() -> JmhLauncher.plan("GatewayPipelineBenchmark", elsewhere))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining(elsewhere.resolve(GatewayCommand.JVM_FLAGS_FILE).toString());
    assertThat(JmhLauncher.plan("RouteMatchBenchmark", elsewhere)).as("no gateway benchmark: no file needed")
        .hasSize(1);
  }

  @Test
  void nothingMatching() {
    assertThatThrownBy(() -> JmhLauncher.plan("NoSuchBenchmarkAnywhere", HOME)).isInstanceOf(NoBenchmarksException.class);
  }
}
