package io.keelson.dataplane.hw;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class HardwareProfilesTest {
  private static final Map<String, String> VARS =
      Map.of("iface", "veth-gw0", "tap", "ktap0", "pcap", "/tmp/flows.pcap", "pci", "0000:3b:00.0",
          "outside", "veth-o", "inside", "veth-i");

  @Test
  void everyShippedProfileLoadsAndRealNicsAreMarkedUnverified() {
    assertThat(HardwareProfiles.known())
        .contains("null", "ring", "pcap-replay", "af-packet", "tap", "mlx5-cx6dx", "ice-e810", "ena", "virtio-net", "af-packet-pair");
    for (String name : HardwareProfiles.known()) {
      HardwareProfile p = HardwareProfiles.load(name, VARS);
      assertThat(p.name()).as(name).isEqualTo(name);
      assertThat(p.ports()).as(name).isNotEmpty();
      assertThat(p.cores()).as(name).hasSizeGreaterThanOrEqualTo(p.queues().rx());
      if (p.ports().stream().anyMatch(port -> port.pci() != null)) {
        assertThat(p.verified()).as(name).isFalse();
        assertThat(p.note()).as(name).contains("not verified on hardware");
      } else {
        assertThat(p.verified()).as(name).isTrue();
      }
    }
  }

  @Test
  void afPacketProfileBuildsEalArgumentsWithTheInterfaceSubstituted() {
    HardwareProfile p = HardwareProfiles.load("af-packet", VARS);
    assertThat(p.driver()).isEqualTo("net_af_packet");
    assertThat(p.ealArguments(java.util.List.of("--file-prefix", "x")))
        .containsSubsequence("--no-huge", "--vdev", "net_af_packet0,iface=veth-gw0,blocksz=4096,framesz=2048,framecnt=512,qpairs=1",
            "--vdev", "net_tap0,iface=ktap0", "--file-prefix", "x");
    assertThat(p.idle().strategy()).isEqualTo(IdleProfile.Strategy.PARK);
    assertThat(p.port("exception").optional()).isTrue();
    assertThat(p.promiscuous()).isTrue();
  }

  @Test
  void offloadAndRssNamesBecomeDpdkBits() {
    HardwareProfile p = HardwareProfiles.load("mlx5-cx6dx", VARS);
    assertThat(p.rxOffloads()).isEqualTo((1L << 1) | (1L << 3) | (1L << 2) | (1L << 19));
    assertThat(p.txOffloads() & (1L << 16)).isNotZero();
    assertThat(p.rssHash() & (1L << 4)).isNotZero();
    assertThat(p.ports().get(0).ealArguments()).containsExactly("-a", "0000:3b:00.0,mprq_en=1,rxq_cqe_comp_en=1,dv_flow_en=1");
  }

  @Test
  void missingVariableNamesFileFieldAndFlag() {
    assertThatThrownBy(() -> HardwareProfiles.load("af-packet", Map.of()))
        .hasMessageContaining("af-packet.yaml")
        .hasMessageContaining("ports[0].args")
        .hasMessageContaining("--var iface=VALUE");
  }

  @Test
  void unknownProfileListsTheKnownOnes() {
    assertThatThrownBy(() -> HardwareProfiles.load("cx9000", VARS))
        .hasMessageContaining("cx9000")
        .hasMessageContaining("null");
  }

  @Test
  void badFieldsAreReportedWithFileAndField(@TempDir Path dir) throws IOException {
    String good = Files.readString(HardwareProfiles.directory().resolve("null.yaml"));
    assertError(dir, good.replace("burst_size: 32", "burst_size: 0"), "burst_size", "[1, 512]");
    assertError(dir, good.replace("strategy: spin", "strategy: nap"), "idle.strategy", "spin, yield, park");
    assertError(dir, good.replace("rx: []", "rx: [warp_drive]"), "offloads.rx", "warp_drive");
    assertError(dir, good.replace("verified: true", "verified: maybe"), "verified", "true or false");
    assertError(dir, good.replace("vdev: net_null0", "pci: \"0000:00:01.0\"\n    vdev: net_null0"), "ports[0]", "exactly one of vdev");
    assertError(dir, good + "\nturbo: on\n", "turbo", "unknown field");
  }

  private static void assertError(Path dir, String yaml, String field, String expected) throws IOException {
    Path file = dir.resolve("bad-" + field.replaceAll("\\W", "_") + ".yaml");
    Files.writeString(file, yaml);
    assertThatThrownBy(() -> HardwareProfiles.load(file.toString(), VARS))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining(file.toString())
        .hasMessageContaining("'" + field + "'")
        .hasMessageContaining(expected);
  }
}
