package io.keelson.control.xds;

import static org.assertj.core.api.Assertions.assertThat;

import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.controlplane.cache.Response;
import io.envoyproxy.controlplane.cache.Watch;
import io.envoyproxy.controlplane.cache.XdsRequest;
import io.envoyproxy.controlplane.cache.v3.Snapshot;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

/**
 * An SDS request over ADS for a secret the control plane does not have yet stays open through snapshots that still
 * lack it, and is answered by the first that has it (java-control-plane's SimpleCache dropped it unanswered at the
 * next snapshot, and the proxy, which does not ask again, waited for ever).
 */
class WatchKeepingCacheTest {
  private static final Node NODE = Node.newBuilder().setId("gateway").build();

  @Test
  void aRequestForAMissingSecretIsAnsweredOnceASnapshotHasItEvenAfterSnapshotsWithout() {
    WatchKeepingCache<String> cache = new WatchKeepingCache<>(Node::getId);
    cache.setSnapshot("gateway", secrets("1", "kubernetes://ca-a"));
    List<Response> answers = new CopyOnWriteArrayList<>();
    cache.createWatch(true, XdsRequest.create(DiscoveryRequest.newBuilder().setNode(NODE)
        .setTypeUrl(Resources.V3.SECRET_TYPE_URL).addResourceNames("kubernetes://ca-b").setVersionInfo("1").build()),
        Set.of("kubernetes://ca-a"), answers::add, false, false);
    assertThat(answers).as("ca-b is not there: no answer (Envoy waits)").isEmpty();

    cache.setSnapshot("gateway", secrets("2", "kubernetes://ca-a")); // another change, ca-b still held back
    assertThat(answers).isEmpty();

    cache.setSnapshot("gateway", secrets("3", "kubernetes://ca-a", "kubernetes://ca-b"));
    assertThat(answers).as("the open request is answered with ca-b").hasSize(1);
    assertThat(answers.get(0).version()).isEqualTo("3");
    assertThat(answers.get(0).resources()).extracting(r -> ((Secret) r).getName()).containsExactly("kubernetes://ca-b");
  }

  @Test
  void aFirstRequestNamingAnAppliedAndAMissingSecretIsAnsweredOnceBothAreThere() {
    WatchKeepingCache<String> cache = new WatchKeepingCache<>(Node::getId);
    cache.setSnapshot("gateway", secrets("1", "a"));
    List<Response> answers = new CopyOnWriteArrayList<>();
    // a gateway's first SDS request: two credentialName secrets, none sent before; a is there, b is not
    cache.createWatch(true, sds("", "a", "b"), Set.of(), answers::add, false, false);
    assertThat(answers).as("b is missing: no answer").isEmpty();

    cache.setSnapshot("gateway", secrets("2", "a", "b"));
    assertThat(answers).as("the watch stayed open and is answered with both").hasSize(1);
    assertThat(answers.get(0).resources()).extracting(r -> ((Secret) r).getName()).containsExactlyInAnyOrder("a", "b");
  }

  @Test
  void anEdsRequestAfterAClusterChangeNamingAMissingAssignmentIsAnsweredOnceItIsThere() {
    WatchKeepingCache<String> cache = new WatchKeepingCache<>(Node::getId);
    cache.setSnapshot("gateway", endpoints("1", "a"));
    List<Response> answers = new CopyOnWriteArrayList<>();
    cache.createWatch(true, XdsRequest.create(DiscoveryRequest.newBuilder().setNode(NODE)
        .setTypeUrl(Resources.V3.ENDPOINT_TYPE_URL).addResourceNames("a").addResourceNames("b").setVersionInfo("1")
        .build()), Set.of("a", "b"), answers::add, true, false);
    assertThat(answers).isEmpty();

    cache.setSnapshot("gateway", endpoints("2", "a", "b"));
    assertThat(answers).hasSize(1);
  }

  @Test
  void aCancelledWatchIsNotPutBack() {
    WatchKeepingCache<String> cache = new WatchKeepingCache<>(Node::getId);
    cache.setSnapshot("gateway", secrets("1", "a"));
    List<Response> answers = new CopyOnWriteArrayList<>();
    Watch watch = cache.createWatch(true, sds("1", "b"), Set.of("b"), answers::add, false, false);
    cache.setSnapshot("gateway", secrets("2", "a")); // visited and put back
    watch.cancel();
    cache.setSnapshot("gateway", secrets("3", "a", "b"));
    assertThat(answers).isEmpty();
    assertThat(cache.statusInfo("gateway").numWatches()).isZero();
  }

  private static XdsRequest sds(String version, String... names) {
    return XdsRequest.create(DiscoveryRequest.newBuilder().setNode(NODE).setTypeUrl(Resources.V3.SECRET_TYPE_URL)
        .addAllResourceNames(List.of(names)).setVersionInfo(version).build());
  }

  private static Snapshot endpoints(String version, String... names) {
    List<ClusterLoadAssignment> cla = java.util.Arrays.stream(names)
        .map(n -> ClusterLoadAssignment.newBuilder().setClusterName(n).build()).toList();
    return Snapshot.create(List.of(), cla, List.of(), List.of(), List.of(), version);
  }

  private static Snapshot secrets(String version, String... names) {
    List<Secret> secrets = java.util.Arrays.stream(names).map(n -> Secret.newBuilder().setName(n).build()).toList();
    return Snapshot.create(List.of(), List.of(), List.of(), List.of(), secrets, version);
  }
}
