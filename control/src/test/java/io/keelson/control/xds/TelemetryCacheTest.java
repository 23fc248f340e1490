package io.keelson.control.xds;

import static org.assertj.core.api.Assertions.assertThat;

import io.keelson.control.telemetry.MeshTelemetry;
import io.keelson.control.telemetry.TelemetryResolver.ProxyTelemetry;
import io.keelson.control.telemetry.TelemetryResolver.Side;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Proxies of one translation in different localities are sent different resources instances with the same listeners
 * ({@link LocalityAssignments}): the cache keeps what it assembled for each, so that proxies of alternating localities
 * share results instead of assembling (and snapshotting) anew for every proxy.
 */
class TelemetryCacheTest {
  private static final ProxyTelemetry LOGGED = new ProxyTelemetry(new Side(true, false, 0), new Side(true, false, 0));
  private static final MeshTelemetry MESH = MeshTelemetry.fromFlags("/dev/stdout", null, null, null, null, null);

  @Test
  void eachResourcesInstanceOfOneTranslationKeepsItsAssembledResultUntilTheNextTranslation() {
    TelemetryCache cache = new TelemetryCache();
    MeshResources zoneA = MeshResources.of(List.of(), List.of(), List.of(), List.of());
    MeshResources zoneB = zoneA.withEndpoints(List.of(), "zone-b"); // same listeners, other endpoints
    assertThat(zoneB.listenersVersion()).isEqualTo(zoneA.listenersVersion());

    MeshResources a = cache.apply(zoneA, LOGGED, MESH, "svc.default", null);
    MeshResources b = cache.apply(zoneB, LOGGED, MESH, "svc.default", null);
    assertThat(b).isNotSameAs(a);
    assertThat(b.endpointsVersion()).isEqualTo("zone-b");
    // Alternating callers get the instances already assembled for them.
    assertThat(cache.apply(zoneA, LOGGED, MESH, "svc.default", null)).isSameAs(a);
    assertThat(cache.apply(zoneB, LOGGED, MESH, "svc.default", null)).isSameAs(b);

    cache.translated();
    assertThat(cache.apply(zoneA, LOGGED, MESH, "svc.default", null)).isNotSameAs(a).isEqualTo(a);
    assertThat(cache.apply(zoneA, ProxyTelemetry.OFF, MESH, "svc.default", null)).isSameAs(zoneA);
  }
}
