package io.keelson.dataplane.packet.conntrack;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class ConnTrack6Test {
  private static final long VIP_HI = 0x2001_0db8_0000_0000L;
  private static final long VIP_LO = 0x10;
  private static final long SNAT_HI = 0x2001_0db8_0002_0000L;
  private static final long SNAT_LO = 0x2;

  private record Flow(int id, long clientHi, long clientLo, int clientPort, long backendLo, int snatPort) {}

  private static Flow create(ConnTrack6 t, long clientHi, long clientLo, int clientPort, long backendLo, int snatPort, long now) {
    int id = t.create(clientHi, clientLo, clientPort, VIP_HI, VIP_LO, 80, SNAT_HI, backendLo, 8080, SNAT_HI, SNAT_LO,
        snatPort, 6, ConnTrack.TCP_ESTABLISHED, now, 1, 0);
    return new Flow(id, clientHi, clientLo, clientPort, backendLo, snatPort);
  }

  private static int forward(ConnTrack6 t, Flow f) {
    return t.lookup(f.clientHi, f.clientLo, VIP_HI, VIP_LO, f.clientPort, 80, 6);
  }

  private static int reverse(ConnTrack6 t, Flow f) {
    return t.lookup(SNAT_HI, f.backendLo, SNAT_HI, SNAT_LO, 8080, f.snatPort, 6);
  }

  @Test
  void findsAFlowByBothTuplesWithItsFields() {
    ConnTrack6 t = new ConnTrack6(16);
    Flow f = create(t, 0x2001_0db8_0001_0000L, 7, 40000, 0x11, 20001, 5);
    assertThat(forward(t, f)).isEqualTo(f.id << 1 | ConnTrack.FORWARD);
    assertThat(reverse(t, f)).isEqualTo(f.id << 1 | ConnTrack.REVERSE);
    assertThat(t.lookup(f.clientHi, f.clientLo, VIP_HI, VIP_LO, 40000, 80, 17)).as("other protocol").isEqualTo(-1);
    assertThat(t.lookup(f.clientHi, f.clientLo + 1, VIP_HI, VIP_LO, 40000, 80, 6)).isEqualTo(-1);
    assertThat(t.clientLo(f.id)).isEqualTo(7);
    assertThat(t.backendLo(f.id)).isEqualTo(0x11);
    assertThat(t.snatPort(f.id)).isEqualTo(20001);
    assertThat(t.clientPort(f.id)).isEqualTo(40000);
    assertThat(t.vipPort(f.id)).isEqualTo(80);
    assertThat(t.backendPort(f.id)).isEqualTo(8080);
    assertThat(t.forwardPort(f.id)).isEqualTo(1);
    assertThat(t.reversePort(f.id)).isZero();
  }

  @Test
  void randomCreatesAndRemovesKeepEveryLiveFlowFindable() {
    Random random = new Random(42);
    ConnTrack6 t = new ConnTrack6(2048);
    List<Flow> live = new ArrayList<>();
    for (int step = 0; step < 20_000; step++) {
      if (!live.isEmpty() && (live.size() == 2048 || random.nextInt(3) == 0)) {
        Flow gone = live.remove(random.nextInt(live.size()));
        t.remove(gone.id);
        assertThat(forward(t, gone)).isEqualTo(-1);
        assertThat(reverse(t, gone)).isEqualTo(-1);
      } else {
        // Few distinct high halves: many keys differ only in the low half (and collide in probing).
        Flow f = create(t, 0x2001_0db8_0001_0000L + random.nextInt(4), random.nextLong(), random.nextInt(65536),
            random.nextInt(8), 10_000 + step, step);
        assertThat(f.id).isNotNegative();
        live.add(f);
      }
    }
    assertThat(t.size()).isEqualTo(live.size());
    for (Flow f : live) {
      assertThat(forward(t, f)).isEqualTo(f.id << 1 | ConnTrack.FORWARD);
      assertThat(reverse(t, f)).isEqualTo(f.id << 1 | ConnTrack.REVERSE);
    }
  }

  @Test
  void refusesFlowsWhenFullAndExpiresIdleOnes() {
    ConnTrack6 t = new ConnTrack6(4);
    t.timeouts(100, 10, 10, 50);
    for (int i = 0; i < 4; i++) {
      assertThat(create(t, 1, i, 1000 + i, 0x11, 2000 + i, 0).id).isNotNegative();
    }
    assertThat(create(t, 1, 9, 1009, 0x11, 2009, 0).id).isEqualTo(-1);
    t.touch(0, 90);
    assertThat(t.isExpired(1, 101)).isTrue();
    assertThat(t.isExpired(0, 101)).isFalse();
    assertThat(t.expire(101, 4)).isEqualTo(3);
    assertThat(t.size()).isEqualTo(1);
    assertThat(create(t, 1, 9, 1009, 0x11, 2009, 101).id).isNotNegative();
  }
}
