package io.keelson.bench.e2e;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

class ChartsTest {
  @Test
  void writesBarChartsAndALatencyCurvePerScenarioAsPngs(@TempDir Path dir) throws Exception {
    BenchResults r = Fixtures.results();

    List<String> files = Charts.write(r.summaries(), r.machine(), dir);

    assertThat(files).containsExactly("requests-per-second.png", "p99-latency.png", "latency-http1-keepalive.png");
    for (String f : files) {
      Path png = dir.resolve(f);
      assertThat(Files.size(png)).as(f).isGreaterThan(1000);
      BufferedImage img = ImageIO.read(png.toFile());
      assertThat(img).as(f + " decodes as an image").isNotNull();
      assertThat(img.getWidth()).isEqualTo(900);
    }
  }

  @Test
  void writesNoChartsWithoutScenarios(@TempDir Path dir) throws Exception {
    assertThat(Charts.write(List.of(), Fixtures.results().machine(), dir)).isEmpty();
    try (var listing = Files.list(dir)) {
      assertThat(listing).isEmpty();
    }
  }

  @Test
  void percentileAxisCountsNines() {
    assertThat(Charts.nines(90)).isCloseTo(1.0, within(1e-9));
    assertThat(Charts.nines(99.9)).isCloseTo(3.0, within(1e-9));
    assertThat(Charts.percentileLabel(0)).isEqualTo("0%");
    assertThat(Charts.percentileLabel(2)).isEqualTo("99%");
    assertThat(Charts.percentileLabel(4)).isEqualTo("99.99%");
    assertThat(Charts.percentileLabel(2.5)).isEmpty();
  }
}
