package io.keelson.dataplane.internal.ffm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The availability probe in fresh JVMs (the probe's answer is fixed once per process): the opt-out
 * property, a missing shim naming the path searched, and the shim found where the build puts it.
 */
class DpdkAvailabilityTest {

  @Test
  void optOutPropertyMakesDpdkUnavailableAndSaysSo() throws Exception {
    String out = probe("-Dkeelson.dpdk.disable=true");
    assertThat(out).contains("available=false", "cause=DPDK disabled by -Dkeelson.dpdk.disable=true");
  }

  @Test
  void missingShimNamesThePathSearchedAndHowToBuildIt() throws Exception {
    String out = probe("-Dkeelson.native.dir=/nonexistent/keelson-native");
    assertThat(out).contains("available=false", "/nonexistent/keelson-native/libkeelson_dp.so does not exist",
        "cmake");
  }

  @Test
  void builtShimIsFoundThroughTheNativeDirProperty() throws Exception {
    String dir = System.getProperty("keelson.native.dir");
    assumeTrue(dir != null && Path.of(dir, "libkeelson_dp.so").toFile().isFile(),
        () -> "the shim is not built at " + dir + " (no libdpdk here?)");
    assertThat(probe("-Dkeelson.native.dir=" + dir)).contains("available=true", "cause=null");
  }

  private static String probe(String property) throws IOException, InterruptedException {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    Process p = new ProcessBuilder(List.of(java, "--enable-native-access=ALL-UNNAMED", property, "-cp",
        System.getProperty("java.class.path"), AvailabilityProbe.class.getName()))
        .redirectErrorStream(true).start();
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    return new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
  }
}
