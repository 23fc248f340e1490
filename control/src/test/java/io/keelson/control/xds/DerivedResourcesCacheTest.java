package io.keelson.control.xds;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** Per-input derived resources: one instance per (translation instance, variant), bounded by copies held. */
class DerivedResourcesCacheTest {
  private static MeshResources translation() {
    return MeshResources.of(List.of(), List.of(), List.of(), List.of());
  }

  @Test
  void theSameTranslationAndVariantGiveTheSameDerivedInstanceWhileEqualTranslationsDoNot() {
    DerivedResourcesCache cache = new DerivedResourcesCache(8);
    AtomicInteger derived = new AtomicInteger();
    MeshResources a = translation();
    MeshResources first = cache.get(a, "shop", r -> { derived.incrementAndGet(); return translation(); });
    assertThat(cache.get(a, "shop", r -> translation())).isSameAs(first);
    cache.get(a, "bookinfo", r -> { derived.incrementAndGet(); return translation(); });
    cache.get(translation(), "shop", r -> { derived.incrementAndGet(); return translation(); });
    assertThat(derived).as("by identity of the translation, per variant").hasValue(3);
  }

  @Test
  void copiesPastTheBoundAreDroppedLeastRecentlyUsedFirst() {
    DerivedResourcesCache cache = new DerivedResourcesCache(2);
    MeshResources a = translation();
    MeshResources kept = cache.get(a, "ns1", r -> translation());
    cache.get(a, "ns2", r -> translation());
    cache.get(a, "ns1", r -> translation()); // ns1 used again: ns2 is the eldest
    for (int i = 0; i < 50; i++) {
      cache.get(translation(), "ns1", r -> translation()); // replaced translations never pile up
    }
    assertThat(cache.size()).isEqualTo(2);
    cache.clear();
    assertThat(cache.get(a, "ns1", r -> translation())).isNotSameAs(kept);
  }
}
