package io.keelson.dataplane.server;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class StartupHeapTest {
  @AfterEach
  void clearProperty() {
    System.clearProperty(StartupHeap.PROPERTY);
  }

  @Test
  void settleRunsAGarbageCollection() {
    long before = StartupHeap.collections();
    assertThat(StartupHeap.settle()).isTrue();
    assertThat(StartupHeap.collections()).isGreaterThan(before);
  }

  @Test
  void settleIsSkippedWhenThePropertySaysFalse() {
    System.setProperty(StartupHeap.PROPERTY, "false");
    long before = StartupHeap.collections();
    assertThat(StartupHeap.settle()).isFalse();
    // Nothing here allocates enough to trigger a collection of its own.
    assertThat(StartupHeap.collections()).isEqualTo(before);
  }
}
