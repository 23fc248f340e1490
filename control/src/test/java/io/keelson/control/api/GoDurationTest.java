package io.keelson.control.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;

/** Go duration text: the longest Go duration parses exactly, a longer one is refused (never wrapped), naming the field. */
class GoDurationTest {
  @Test
  void parsesUpToGosLongestDurationAndRefusesLongerOnes() {
    assertThat(GoDuration.parse("1m30s")).isEqualTo(Duration.ofSeconds(90));
    assertThat(GoDuration.parse("2562047h47m16.854775807s")).isEqualTo(Duration.ofNanos(Long.MAX_VALUE));
    assertThatThrownBy(() -> GoDuration.parse("5124096h")).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("'5124096h' is out of range");
    assertThatThrownBy(() -> GoDuration.parse("2562047h47m16.854775808s")).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("out of range");
    assertThatThrownBy(() -> MeshConfigFile.parse("mesh.yaml", "protocolDetectionTimeout: 5124096h\n"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("mesh.yaml: protocolDetectionTimeout: '5124096h' is out of range");
  }
}
