package io.keelson.control.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.keelson.dataplane.config.ProxySnapshot;
import io.keelson.dataplane.config.envoy.BootstrapLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** Every Envoy bootstrap shipped under examples/ loads without errors or warnings. */
class ExamplesTest {
  @Test
  void everyExampleConfigLoadsCleanly() throws Exception {
    Path examples = Path.of("..", "examples");
    List<Path> configs;
    try (Stream<Path> files = Files.walk(examples)) {
      configs = files.filter(p -> p.getFileName().toString().startsWith("envoy-") && p.toString().endsWith(".yaml")).toList();
    }
    assertThat(configs).isNotEmpty();
    for (Path config : configs) {
      ProxySnapshot snapshot = BootstrapLoader.load(config);
      assertThat(snapshot.warnings()).as(config.toString()).isEmpty();
      assertThat(snapshot.listeners()).as(config.toString()).isNotEmpty();
    }
  }
}
