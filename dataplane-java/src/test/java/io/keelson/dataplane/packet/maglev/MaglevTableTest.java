package io.keelson.dataplane.packet.maglev;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class MaglevTableTest {
  private static final int KEYS = 200_000;

  private static long[] backendKeys(int first, int count) {
    long[] keys = new long[count];
    for (int i = 0; i < count; i++) {
      int ip = 0x0A00_0100 + first + i; // 10.0.1.x
      keys[i] = ((long) ip << 16) | 8080;
    }
    return keys;
  }

  private static long[] flowHashes(int count, long seed) {
    SplittableRandom random = new SplittableRandom(seed);
    long[] hashes = new long[count];
    for (int i = 0; i < count; i++) {
      hashes[i] = MaglevTable.hash5(random.nextInt(), 0xC0A8_0064, random.nextInt(1024, 65536), 443, 6);
    }
    return hashes;
  }

  private static long[] concat(long[] a, long[] b) {
    long[] out = Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }

  @Test
  void spreadsKeysWithinFivePercentOfEven() {
    for (int n : new int[] {3, 10, 37}) {
      MaglevTable table = MaglevTable.build(backendKeys(0, n), null, MaglevTable.DEFAULT_SIZE);
      int[] hits = new int[n];
      for (long h : flowHashes(KEYS, n)) {
        hits[table.lookup(h)]++;
      }
      double even = (double) KEYS / n;
      for (int i = 0; i < n; i++) {
        assertThat(hits[i] / even).as("backend %d of %d", i, n).isBetween(0.95, 1.05);
        // Maglev's own guarantee: table entries differ by at most one round.
        assertThat(table.entriesOf(i)).isBetween(MaglevTable.DEFAULT_SIZE / n, MaglevTable.DEFAULT_SIZE / n + 1);
      }
    }
  }

  @Test
  void sharesEntriesInProportionToWeight() {
    MaglevTable table = MaglevTable.build(backendKeys(0, 3), new int[] {1, 2, 5}, MaglevTable.DEFAULT_SIZE);
    double unit = MaglevTable.DEFAULT_SIZE / 8.0;
    assertThat(table.entriesOf(0) / unit).isBetween(0.99, 1.01);
    assertThat(table.entriesOf(1) / (2 * unit)).isBetween(0.99, 1.01);
    assertThat(table.entriesOf(2) / (5 * unit)).isBetween(0.99, 1.01);
  }

  @Test
  void zeroWeightBackendTakesNoEntriesAndEmptyTableAnswersMinusOne() {
    MaglevTable table = MaglevTable.build(backendKeys(0, 2), new int[] {0, 3}, MaglevTable.DEFAULT_SIZE);
    assertThat(table.entriesOf(0)).isZero();
    assertThat(table.entriesOf(1)).isEqualTo(MaglevTable.DEFAULT_SIZE);
    MaglevTable empty = MaglevTable.build(new long[0], null, MaglevTable.DEFAULT_SIZE);
    assertThat(empty.lookup(12345L)).isEqualTo(-1);
  }

  @Test
  void addingABackendMovesKeysOnlyToItExceptForAtMostOnePercent() {
    long[] before = backendKeys(0, 10);
    long[] after = concat(before, backendKeys(100, 1));
    MaglevTable t0 = MaglevTable.build(before, null, MaglevTable.DEFAULT_SIZE);
    MaglevTable t1 = MaglevTable.build(after, null, MaglevTable.DEFAULT_SIZE);
    int movedToNew = 0;
    int movedElsewhere = 0;
    for (long h : flowHashes(KEYS, 7)) {
      int a = t0.lookup(h);
      int b = t1.lookup(h);
      if (b == 10) {
        movedToNew++;
      } else if (a != b) {
        movedElsewhere++;
      }
    }
    // The new backend takes its fair share (1/11), and what does not go to it mostly stays put.
    assertThat(movedToNew / (double) KEYS).isBetween(0.95 / 11, 1.05 / 11);
    assertThat(movedElsewhere / (double) KEYS).isLessThanOrEqualTo(0.01);
  }

  @Test
  void removingABackendMovesItsKeysAndDisturbsAtMostOnePercentOfTheOthers() {
    long[] before = backendKeys(0, 10);
    long[] after = new long[9];
    System.arraycopy(before, 0, after, 0, 4);
    System.arraycopy(before, 5, after, 4, 5); // backend 4 removed; indices above it shift down by one
    MaglevTable t0 = MaglevTable.build(before, null, MaglevTable.DEFAULT_SIZE);
    MaglevTable t1 = MaglevTable.build(after, null, MaglevTable.DEFAULT_SIZE);
    int survivors = 0;
    int survivorsMoved = 0;
    for (long h : flowHashes(KEYS, 11)) {
      int a = t0.lookup(h);
      long keyAfter = after[t1.lookup(h)];
      assertThat(keyAfter).isNotEqualTo(before[4]);
      if (a != 4) {
        survivors++;
        if (keyAfter != before[a]) {
          survivorsMoved++;
        }
      }
    }
    assertThat(survivorsMoved / (double) survivors).isLessThanOrEqualTo(0.01);
  }

  @Test
  void sameBackendsBuildTheSameTableWhateverTheirOrderMeansIdentityNotIndex() {
    long[] keys = backendKeys(0, 5);
    long[] reversed = {keys[4], keys[3], keys[2], keys[1], keys[0]};
    MaglevTable a = MaglevTable.build(keys, null, MaglevTable.DEFAULT_SIZE);
    MaglevTable b = MaglevTable.build(reversed, null, MaglevTable.DEFAULT_SIZE);
    int same = 0;
    for (long h : flowHashes(50_000, 3)) {
      if (keys[a.lookup(h)] == reversed[b.lookup(h)]) {
        same++;
      }
    }
    // Order only changes who wins contested slots in a round: the bulk stays identical.
    assertThat(same / 50_000.0).isGreaterThan(0.97);
  }

  @Test
  void rejectsNonPrimeOrTooSmallTableSizes() {
    assertThatThrownBy(() -> MaglevTable.build(backendKeys(0, 2), null, 65_536))
        .hasMessageContaining("65536").hasMessageContaining("prime");
    assertThatThrownBy(() -> MaglevTable.build(backendKeys(0, 2), null, 251))
        .hasMessageContaining("prime");
    assertThat(MaglevTable.isPrime(MaglevTable.MAX_SIZE)).isTrue();
    assertThat(MaglevTable.build(backendKeys(0, 2), null, 131_071).size()).isEqualTo(131_071);
  }

  @Test
  void hashSpreadsNeighbouringPorts() {
    long h1 = MaglevTable.hash5(0x0A000001, 0x0A000002, 1000, 80, 6);
    long h2 = MaglevTable.hash5(0x0A000001, 0x0A000002, 1001, 80, 6);
    assertThat(Long.bitCount(h1 ^ h2)).isBetween(16, 48);
  }
}
