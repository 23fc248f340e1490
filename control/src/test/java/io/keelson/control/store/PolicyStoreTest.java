package io.keelson.control.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.keelson.control.policy.Policy;
import io.keelson.control.policy.PolicyException;
import io.keelson.control.policy.PolicyParser;
import io.keelson.control.xds.Mesh;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PolicyStoreTest {
  @TempDir
  Path tmp;

  private static List<Policy> parse(String file, String yaml) throws PolicyException {
    return PolicyParser.parse(file, yaml).policies();
  }

  @Test
  void aSetWithOneBrokenReferenceIsRejectedWholeAndNothingIsApplied() throws Exception {
    PolicyStore store = new PolicyStore();
    store.apply(parse("registry.yaml", Mesh.registry(8081, 8082)), false);
    PolicySet before = store.current();
    List<Policy> set = new ArrayList<>(parse("dr.yaml", Mesh.resource("/canary/destination-rule.yaml")));
    set.addAll(parse("vs.yaml", Mesh.resource("/canary/virtual-service.yaml").replace("subset: v2", "subset: v3")));
    assertThatThrownBy(() -> store.apply(set, false))
        .isInstanceOf(PolicyException.class)
        .hasMessage("vs.yaml: VirtualService/product-service: spec.http[0].route[1].destination.subset: no "
            + "DestinationRule defines subset 'v3' of service 'product-service'; apply the DestinationRule with the "
            + "subsets first, or in the same set");
    assertThat(store.current()).isSameAs(before);
    assertThat(store.current().get("DestinationRule", "product-service")).isNull();
  }

  @Test
  void dryRunReportsTheChangeWithoutApplyingIt() throws Exception {
    PolicyStore store = new PolicyStore();
    var change = store.apply(parse("registry.yaml", Mesh.registry(8081, 8082)), true);
    assertThat(change.created()).containsExactly("Service/product-service", "Workload/product-v1", "Workload/product-v2");
    assertThat(store.current().all()).isEmpty();
    store.apply(parse("registry.yaml", Mesh.registry(8081, 8082)), false);
    var again = store.apply(parse("registry.yaml", Mesh.registry(8081, 9999)), true);
    assertThat(again.configured()).containsExactly("Workload/product-v2");
    assertThat(again.unchanged()).containsExactly("Service/product-service", "Workload/product-v1");
  }

  @Test
  void deletingAServiceOthersReferToIsRefused() throws Exception {
    PolicyStore store = new PolicyStore();
    store.apply(parse("registry.yaml", Mesh.registry(8081, 8082)), false);
    assertThatThrownBy(() -> store.delete("Service", "product-service", false))
        .hasMessageContaining("registry.yaml: Workload/product-v1: spec.service: would break if Service/product-service "
            + "were deleted: no Service 'product-service' is registered");
    store.delete("Workload", "product-v2", false);
    assertThat(store.current().get("Workload", "product-v2")).isNull();
    assertThatThrownBy(() -> store.delete("Workload", "product-v2", false)).hasMessage("request: Workload/product-v2: : not found");
  }

  @Test
  void stateInTheDataDirSurvivesARestart() throws Exception {
    Path data = tmp.resolve("data");
    PolicyStore first = new PolicyStore(new DataDir(data));
    Mesh.applyCanary(first, 8081, 8082);
    first.delete("Workload", "product-v2", false);
    PolicyStore second = new PolicyStore(new DataDir(data));
    assertThat(second.current().byKey().keySet()).isEqualTo(first.current().byKey().keySet())
        .contains("VirtualService/product-service", "DestinationRule/product-service", "Workload/product-v1")
        .doesNotContain("Workload/product-v2");
    assertThat(second.current().get("VirtualService", "product-service").meta().file()).isEqualTo("virtual-service.yaml");
    assertThat(second.current().get("VirtualService", "product-service"))
        .isEqualTo(first.current().get("VirtualService", "product-service"));
  }

  @Test
  void theConfigDirIsWatchedAndABadFileKeepsThePreviousState() throws Exception {
    Path dir = Files.createDirectories(tmp.resolve("config"));
    Files.writeString(dir.resolve("registry.yaml"), Mesh.registry(8081, 8082));
    PolicyStore store = new PolicyStore();
    try (ConfigDirWatcher watcher = new ConfigDirWatcher(dir, store).start(Duration.ofMillis(50))) {
      assertThat(store.current().get("Workload", "product-v1")).isNotNull();

      Files.writeString(dir.resolve("dr.yaml"), Mesh.resource("/canary/destination-rule.yaml"));
      await().atMost(Duration.ofSeconds(5)).until(() -> store.current().get("DestinationRule", "product-service") != null);

      PolicySet good = store.current();
      Files.writeString(dir.resolve("registry.yaml"), Mesh.registry(8081, 8082).replace("port: 8082", "port: 0"));
      await().atMost(Duration.ofSeconds(5)).until(() -> watcher.lastError() != null);
      assertThat(watcher.lastError()).isEqualTo(dir.resolve("registry.yaml") + ": Workload/product-v2: spec.port: "
          + "expected a whole number from 1 to 65535, got 0");
      assertThat(store.current()).isSameAs(good);

      Files.writeString(dir.resolve("registry.yaml"), Mesh.registry(8081, 9090));
      await().atMost(Duration.ofSeconds(5)).until(() ->
          ((Policy.Workload) store.current().get("Workload", "product-v2")).port() == 9090);
      assertThat(watcher.lastError()).isNull();

      Files.delete(dir.resolve("dr.yaml"));
      await().atMost(Duration.ofSeconds(5)).until(() -> store.current().get("DestinationRule", "product-service") == null);
      assertThat(store.current().get("Service", "product-service")).isNotNull();
    }
  }

  static final String SAME_NAME_TWO_NAMESPACES = """
      apiVersion: security.istio.io/v1
      kind: AuthorizationPolicy
      metadata: { name: allow-web, namespace: shop }
      spec:
        action: ALLOW
        rules: [ { from: [ { source: { principals: [ "cluster.local/ns/shop/sa/web" ] } } ] } ]
      ---
      apiVersion: security.istio.io/v1
      kind: AuthorizationPolicy
      metadata: { name: allow-web, namespace: billing }
      spec:
        action: ALLOW
        rules: [ { from: [ { source: { principals: [ "cluster.local/ns/billing/sa/web" ] } } ] } ]
      """;

  @Test
  void documentsOfTheSameKindAndNameInTwoNamespacesBothLiveBothApplyAndDeleteRemovesOnlyOne() throws Exception {
    PolicyStore store = new PolicyStore(new DataDir(tmp.resolve("data")));
    var change = store.apply(parse("authz.yaml", SAME_NAME_TWO_NAMESPACES), false);
    assertThat(change.created()).containsExactly("AuthorizationPolicy/billing/allow-web", "AuthorizationPolicy/shop/allow-web");
    assertThat(rules(store.current(), "shop")).containsExactly("ns[shop]-policy[allow-web]-rule[0]");
    assertThat(rules(store.current(), "billing")).containsExactly("ns[billing]-policy[allow-web]-rule[0]");
    // Both survive a restart (the data directory).
    assertThat(new PolicyStore(new DataDir(tmp.resolve("data"))).current().byKey().keySet())
        .containsExactly("AuthorizationPolicy/billing/allow-web", "AuthorizationPolicy/shop/allow-web");

    assertThatThrownBy(() -> store.delete("AuthorizationPolicy", "allow-web", false))
        .hasMessageContaining("exists in namespaces [billing, shop]");
    var deleted = store.delete("AuthorizationPolicy", "shop", "allow-web", false);
    assertThat(deleted.deleted()).containsExactly("AuthorizationPolicy/shop/allow-web");
    assertThat(store.current().byKey().keySet()).containsExactly("AuthorizationPolicy/billing/allow-web");
    assertThat(rules(store.current(), "billing")).containsExactly("ns[billing]-policy[allow-web]-rule[0]");
    assertThat(io.keelson.control.security.AuthorizationTranslator.http("shop", java.util.Map.of(),
        store.current().ofType(Policy.AuthorizationPolicy.class), "istio-system").isEmpty()).isTrue();
    // With one left, the namespace may be omitted.
    assertThat(store.delete("AuthorizationPolicy", "allow-web", false).deleted())
        .containsExactly("AuthorizationPolicy/billing/allow-web");
    assertThatThrownBy(() -> store.delete("AuthorizationPolicy", "shop", "allow-web", false))
        .hasMessageContaining("AuthorizationPolicy/shop/allow-web").hasMessageEndingWith("not found");
  }

  private static java.util.Set<String> rules(PolicySet state, String namespace) {
    return io.keelson.control.security.AuthorizationTranslator.http(namespace, java.util.Map.of(),
        state.ofType(Policy.AuthorizationPolicy.class), "istio-system").allow().getPoliciesMap().keySet();
  }
}
