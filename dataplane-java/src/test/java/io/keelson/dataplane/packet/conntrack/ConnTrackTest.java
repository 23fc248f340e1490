package io.keelson.dataplane.packet.conntrack;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class ConnTrackTest {
  private static final long SECOND = 1_000_000_000L;
  private static final int TCP = 6;
  private static final int CLIENT = 0xC633_6407;
  private static final int VIP = 0xC000_0264;
  private static final int BACKEND = 0x0A01_000B;
  private static final int SNAT = 0x0A01_0002;

  private static ConnTrack table(int capacity) {
    return new ConnTrack(capacity, 300 * SECOND, 30 * SECOND, 10 * SECOND, 60 * SECOND);
  }

  @Test
  void findsAFlowByItsClientTupleAndByItsReturnTuple() {
    ConnTrack ct = table(16);
    int flow = ct.create(CLIENT, 40000, VIP, 80, TCP, BACKEND, 8080, SNAT, 20001, ConnTrack.TCP_OPENING, 5);
    assertThat(ct.lookup(CLIENT, VIP, 40000, 80, TCP)).isEqualTo(flow << 1 | ConnTrack.FORWARD);
    assertThat(ct.lookup(BACKEND, SNAT, 8080, 20001, TCP)).isEqualTo(flow << 1 | ConnTrack.REVERSE);
    assertThat(ct.lookup(CLIENT, VIP, 40001, 80, TCP)).isEqualTo(-1);
    assertThat(ct.lookup(CLIENT, VIP, 40000, 80, 17)).as("protocol is part of the key").isEqualTo(-1);
    assertThat(ct.lookup(VIP, CLIENT, 80, 40000, TCP)).as("direction matters").isEqualTo(-1);
    assertThat(ct.clientIp(flow)).isEqualTo(CLIENT);
    assertThat(ct.clientPort(flow)).isEqualTo(40000);
    assertThat(ct.vipIp(flow)).isEqualTo(VIP);
    assertThat(ct.vipPort(flow)).isEqualTo(80);
    assertThat(ct.backendIp(flow)).isEqualTo(BACKEND);
    assertThat(ct.backendPort(flow)).isEqualTo(8080);
    assertThat(ct.snatIp(flow)).isEqualTo(SNAT);
    assertThat(ct.snatPort(flow)).isEqualTo(20001);
    assertThat(ct.state(flow)).isEqualTo(ConnTrack.TCP_OPENING);
    assertThat(ct.lastSeen(flow)).isEqualTo(5);
    assertThat(ct.size()).isEqualTo(1);
  }

  @Test
  void refusesNewFlowsWhenFullAndAcceptsAgainOnceOneIsGone() {
    ConnTrack ct = table(4);
    int[] flows = new int[4];
    for (int i = 0; i < 4; i++) {
      flows[i] = ct.create(CLIENT, 1000 + i, VIP, 80, TCP, BACKEND, 8080, SNAT, 20000 + i, ConnTrack.TCP_ESTABLISHED, 0);
      assertThat(flows[i]).isNotNegative();
    }
    assertThat(ct.create(CLIENT, 2000, VIP, 80, TCP, BACKEND, 8080, SNAT, 21000, ConnTrack.TCP_OPENING, 0)).isEqualTo(-1);
    // Existing flows are untouched by the refusal.
    for (int i = 0; i < 4; i++) {
      assertThat(ct.lookup(CLIENT, VIP, 1000 + i, 80, TCP) >> 1).isEqualTo(flows[i]);
    }
    ct.remove(flows[2]);
    assertThat(ct.lookup(CLIENT, VIP, 1002, 80, TCP)).isEqualTo(-1);
    assertThat(ct.lookup(BACKEND, SNAT, 8080, 20002, TCP)).isEqualTo(-1);
    assertThat(ct.create(CLIENT, 2000, VIP, 80, TCP, BACKEND, 8080, SNAT, 21000, ConnTrack.TCP_OPENING, 0)).isNotNegative();
  }

  @Test
  void expiresEachStateAfterItsOwnIdleTimeout() {
    ConnTrack ct = table(8);
    int opening = ct.create(CLIENT, 1, VIP, 80, TCP, BACKEND, 8080, SNAT, 20001, ConnTrack.TCP_OPENING, 0);
    int established = ct.create(CLIENT, 2, VIP, 80, TCP, BACKEND, 8080, SNAT, 20002, ConnTrack.TCP_ESTABLISHED, 0);
    int closing = ct.create(CLIENT, 3, VIP, 80, TCP, BACKEND, 8080, SNAT, 20003, ConnTrack.TCP_CLOSING, 0);
    int udp = ct.create(CLIENT, 4, VIP, 53, 17, BACKEND, 53, SNAT, 20004, ConnTrack.UDP, 0);

    assertThat(ct.expire(10 * SECOND, 8)).isZero();
    assertThat(ct.expire(10 * SECOND + 1, 8)).isEqualTo(1);
    assertThat(ct.state(closing)).isEqualTo(ConnTrack.FREE);
    assertThat(ct.expire(30 * SECOND + 1, 8)).isEqualTo(1);
    assertThat(ct.state(opening)).isEqualTo(ConnTrack.FREE);
    ct.touch(established, 100 * SECOND);
    assertThat(ct.expire(60 * SECOND + 1, 8)).isEqualTo(1);
    assertThat(ct.state(udp)).isEqualTo(ConnTrack.FREE);
    assertThat(ct.expire(400 * SECOND, 8)).isZero();
    assertThat(ct.isExpired(established, 400 * SECOND + 1)).isTrue();
    assertThat(ct.expire(400 * SECOND + 1, 8)).isEqualTo(1);
    assertThat(ct.size()).isZero();
    assertThat(ct.lookup(CLIENT, VIP, 2, 80, TCP)).isEqualTo(-1);
  }

  @Test
  void sweepExaminesABoundedSliceAndResumesWhereItStopped() {
    ConnTrack ct = table(8);
    for (int i = 0; i < 8; i++) {
      ct.create(CLIENT, 1000 + i, VIP, 80, TCP, BACKEND, 8080, SNAT, 20000 + i, ConnTrack.TCP_CLOSING, 0);
    }
    long late = 3600 * SECOND;
    assertThat(ct.expire(late, 3)).isEqualTo(3);
    assertThat(ct.size()).isEqualTo(5);
    assertThat(ct.expire(late, 3)).isEqualTo(3);
    assertThat(ct.expire(late, 3)).isEqualTo(2);
    assertThat(ct.size()).isZero();
  }

  @Test
  void randomInsertsAndRemovalsAgreeWithAReferenceMap() {
    ConnTrack ct = table(512);
    SplittableRandom random = new SplittableRandom(99);
    Map<Long, Integer> reference = new HashMap<>();
    List<Integer> live = new ArrayList<>();
    for (int step = 0; step < 50_000; step++) {
      if (live.size() < 512 && (live.isEmpty() || random.nextInt(3) != 0)) {
        int clientPort = random.nextInt(1, 256); // few distinct ports: long probe runs, many collisions
        int client = random.nextInt(4);
        long key = ((long) client << 16) | clientPort;
        if (reference.containsKey(key)) {
          continue;
        }
        int flow = ct.create(client, clientPort, VIP, 80, TCP, BACKEND, 8080, SNAT, (int) (key & 0xFFFF) ^ client << 8, ConnTrack.TCP_OPENING, 0);
        assertThat(flow).isNotNegative();
        reference.put(key, flow);
        live.add(flow);
      } else {
        int flow = live.remove(random.nextInt(live.size()));
        reference.remove(((long) ct.clientIp(flow) << 16) | ct.clientPort(flow));
        ct.remove(flow);
      }
      if (step % 997 == 0) {
        for (Map.Entry<Long, Integer> e : reference.entrySet()) {
          int client = (int) (e.getKey() >>> 16);
          int port = (int) (e.getKey() & 0xFFFF);
          assertThat(ct.lookup(client, VIP, port, 80, TCP)).isEqualTo(e.getValue() << 1);
        }
        assertThat(ct.size()).isEqualTo(reference.size());
      }
    }
  }

  @Test
  void theFlowCacheNeverAnswersForARemovedFlow() {
    ConnTrack ct = table(64);
    for (int round = 0; round < 200; round++) {
      int port = 1000 + round % 7;
      int flow = ct.create(CLIENT, port, VIP, 80, TCP, BACKEND, 8080, SNAT, 20000 + round, ConnTrack.TCP_OPENING, 0);
      assertThat(ct.lookup(CLIENT, VIP, port, 80, TCP)).isEqualTo(flow << 1);
      assertThat(ct.lookup(CLIENT, VIP, port, 80, TCP)).as("second lookup, from the cache").isEqualTo(flow << 1);
      assertThat(ct.lookup(BACKEND, SNAT, 8080, 20000 + round, TCP)).isEqualTo(flow << 1 | ConnTrack.REVERSE);
      int before = ct.modifications();
      ct.remove(flow);
      assertThat(ct.modifications()).as("a removal is a modification").isNotEqualTo(before);
      assertThat(ct.lookup(CLIENT, VIP, port, 80, TCP)).isEqualTo(-1);
      assertThat(ct.lookup(BACKEND, SNAT, 8080, 20000 + round, TCP)).isEqualTo(-1);
    }
  }

  @Test
  void lookupsAfterEveryChangeAgreeWithAReferenceMap() {
    ConnTrack ct = table(256); // small cache too: its slots collide and are replaced all the time
    SplittableRandom random = new SplittableRandom(7);
    Map<Integer, Integer> reference = new HashMap<>();
    List<Integer> live = new ArrayList<>();
    for (int step = 0; step < 20_000; step++) {
      int port = random.nextInt(1, 400);
      if (live.size() < 256 && !reference.containsKey(port) && random.nextInt(3) != 0) {
        int flow = ct.create(CLIENT, port, VIP, 80, TCP, BACKEND, 8080, SNAT, 20000 + port, ConnTrack.TCP_OPENING, 0);
        reference.put(port, flow);
        live.add(flow);
      } else if (!live.isEmpty() && random.nextInt(2) == 0) {
        int flow = live.remove(random.nextInt(live.size()));
        reference.remove(ct.clientPort(flow));
        ct.remove(flow);
      }
      for (int k = 0; k < 4; k++) {
        int probe = random.nextInt(1, 400);
        Integer expected = reference.get(probe);
        assertThat(ct.lookup(CLIENT, VIP, probe, 80, TCP)).isEqualTo(expected == null ? -1 : expected << 1);
      }
    }
  }
}
