package io.keelson.dataplane.internal.ffm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The shim through the FFM bindings on DPDK's virtual devices, in this JVM's one EAL. */
class DpdkBindingsTest {

  @BeforeEach
  void eal() {
    TestEal.assumeStarted();
    Dpdk.registerThread();
  }

  private static Mempool pool(String name) {
    return Mempool.create(name + "-" + System.nanoTime(), 2047, 32, 2048 + 128, Mempool.SOCKET_ANY);
  }

  private static DpdkPort startedPort(String device, String args, Mempool pool) {
    Dpdk.createVdev(device, args);
    DpdkPort port = DpdkPort.byName(device);
    port.configure(PortSettings.simple(512), pool);
    port.start();
    return port;
  }

  @Test
  void nullDeviceForwardsBurstsAndCountsThemInPortStats() {
    try (Mempool pool = pool("fwd");
        RxBurst burst = new RxBurst(32)) {
      String rxName = TestEal.uniqueDevice("net_null");
      String txName = TestEal.uniqueDevice("net_null");
      DpdkPort rx = startedPort(rxName, "", pool);
      DpdkPort tx = startedPort(txName, "", pool);
      assertThat(rx.name()).isEqualTo(rxName);
      assertThat(rx.driver()).isEqualTo("net_null");

      long forwarded = 0;
      for (int i = 0; i < 100; i++) {
        int n = rx.rxBurst(0, burst);
        assertThat(n).isBetween(0, 32);
        forwarded += tx.txBurst(0, burst);
        assertThat(burst.count()).isZero();
      }
      // net_null always has a full burst to give and always takes a full burst.
      assertThat(forwarded).isEqualTo(100L * 32);
      assertThat(rx.stats().ipackets()).isEqualTo(100L * 32);
      assertThat(tx.stats().opackets()).isEqualTo(100L * 32);
      // Nothing leaked: every mbuf is back (net_null's TX frees what it takes).
      assertThat(pool.available()).isEqualTo(2047);
      stop(rx, rxName);
      stop(tx, txName);
    }
  }

  @Test
  void mbufFieldsAreReadAndRewrittenInPlace() {
    try (Mempool pool = pool("fields");
        RxBurst burst = new RxBurst(8)) {
      String name = TestEal.uniqueDevice("net_null");
      // net_null's packet size is a devarg: the flyweight must see exactly that length.
      DpdkPort port = startedPort(name, "size=100", pool);
      int n = port.rxBurst(0, burst);
      assertThat(n).isEqualTo(8);
      for (int i = 0; i < n; i++) {
        PacketBuffer p = burst.packet(i);
        assertThat(p.length()).isEqualTo(100);
        assertThat(p.capacity()).isGreaterThanOrEqualTo(2048);
        assertThat(p.nativeHandle()).isEqualTo(burst.mbuf(i));
        p.putInt(0, 0xCAFEBABE);
        assertThat(p.getInt(0)).isEqualTo(0xCAFEBABE);
      }
      // A rewrite that changes the length reaches the mbuf when the packet is batched for TX.
      burst.packet(0).length(60);
      try (MbufBatch batch = new MbufBatch(8)) {
        batch.add(burst.packet(0));
        PacketBuffer view = batch.packet(0, new PacketBuffer());
        assertThat(view.length()).isEqualTo(60);
        assertThat(view.getInt(0)).isEqualTo(0xCAFEBABE);
        for (int i = 1; i < n; i++) {
          batch.add(burst.packet(i));
        }
        burst.clear();
        assertThat(port.txBurst(0, batch)).isEqualTo(8);
      }
      assertThat(port.stats().opackets()).isEqualTo(8);
      assertThat(pool.available()).isEqualTo(2047);
      stop(port, name);
    }
  }

  @Test
  void thePoolsMemoryRangeHoldsEveryMbufAndItsDataBelowTwoToThe48() {
    try (Mempool pool = pool("range");
        RxBurst burst = new RxBurst(32)) {
      assertThat(pool.memoryEnd()).isGreaterThan(pool.memoryStart());
      // 2,047 mbufs of 2,176 bytes of data room each, at the least.
      assertThat(pool.memoryEnd() - pool.memoryStart()).isGreaterThanOrEqualTo(2047L * 2176);
      // Every mbuf of the pool, header and whole data room, lies in the range the packet path checked (Mempool.create
      // refused a range past ADDRESS_LIMIT, so this is what makes the masked reads safe).
      int all = pool.available();
      try (MbufBatch everything = new MbufBatch(all)) {
        assertThat(pool.allocate(everything, all)).isTrue();
        PacketBuffer view = new PacketBuffer();
        for (int i = 0; i < all; i++) {
          long mbuf = everything.packet(i, view).nativeHandle();
          long data = MbufLayout.dataAddress(mbuf);
          assertThat(mbuf).isBetween(pool.memoryStart(), pool.memoryEnd() - 1);
          assertThat(data).isGreaterThan(mbuf).isGreaterThanOrEqualTo(pool.memoryStart());
          assertThat(data + MbufLayout.capacity(mbuf)).isLessThanOrEqualTo(pool.memoryEnd());
        }
        assertThat(pool.available()).isZero();
        everything.freeAll();
      }
      String name = TestEal.uniqueDevice("net_null");
      DpdkPort port = startedPort(name, "size=1500", pool);
      int n = port.rxBurst(0, burst);
      assertThat(n).isPositive();
      for (int i = 0; i < n; i++) {
        long mbuf = burst.mbuf(i);
        long data = MbufLayout.dataAddress(mbuf);
        assertThat(mbuf).isBetween(pool.memoryStart(), pool.memoryEnd() - 1);
        assertThat(data).isBetween(pool.memoryStart(), pool.memoryEnd() - 1500);
      }
      burst.freeAll();
      stop(port, name);
    }
  }

  @Test
  void ringDeviceCarriesOurBytesFromTxToRx() {
    try (Mempool pool = pool("ring");
        RxBurst burst = new RxBurst(32);
        MbufBatch batch = new MbufBatch(32)) {
      String name = TestEal.uniqueDevice("net_ring");
      // "nodeaction=NAME:0:ATTACH"-less net_ring: one ring that loops TX back to RX.
      DpdkPort port = startedPort(name, "", pool);
      assertThat(pool.allocate(batch, 4)).isTrue();
      PacketBuffer view = new PacketBuffer();
      try (MbufBatch sized = new MbufBatch(4)) {
        for (int i = 0; i < 4; i++) {
          PacketBuffer p = batch.packet(i, view);
          p.length(64);
          p.putInt(0, 1000 + i);
          sized.add(p); // writes the new length into the mbuf
        }
        batch.clear(); // the same mbufs now belong to `sized`
        assertThat(port.txBurst(0, sized)).isEqualTo(4);
      }
      int n = port.rxBurst(0, burst);
      assertThat(n).isEqualTo(4);
      List<Integer> seen = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        assertThat(burst.packet(i).length()).isEqualTo(64);
        seen.add(burst.packet(i).getInt(0));
      }
      assertThat(seen).containsExactly(1000, 1001, 1002, 1003);
      MbufBatch drop = new MbufBatch(32);
      for (int i = 0; i < n; i++) {
        drop.add(burst.packet(i));
      }
      burst.clear();
      drop.freeAll();
      drop.close();
      assertThat(pool.available()).isEqualTo(2047);
      stop(port, name);
    }
  }

  @Test
  void portReportsMacAndLinkAndOffloads() {
    try (Mempool pool = pool("mac")) {
      String name = TestEal.uniqueDevice("net_null");
      DpdkPort port = startedPort(name, "", pool);
      assertThat(port.mac()).isNotZero();
      assertThat(port.link().up()).isTrue();
      assertThat(port.offloadCapabilities()).hasSize(2);
      stop(port, name);
    }
  }

  @Test
  void failuresCarryDpdksReasonAndErrno() {
    assertThatThrownBy(() -> DpdkPort.byName("net_null_does_not_exist"))
        .isInstanceOf(DpdkException.class)
        .hasMessageContaining("dp_port_by_name(net_null_does_not_exist)");
    assertThatThrownBy(() -> Dpdk.createVdev("net_nonexistent_driver0", ""))
        .isInstanceOf(DpdkException.class)
        .hasMessageContaining("dp_vdev_create");
  }

  @Test
  void registeredThreadHasAnLcoreId() {
    assertThat(Dpdk.lcoreId()).isGreaterThanOrEqualTo(0);
  }

  private static void stop(DpdkPort port, String name) {
    port.stop();
    port.close();
    Dpdk.removeVdev(name);
  }
}
