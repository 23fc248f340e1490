package io.keelson.control.xds;

import io.keelson.control.policy.Policy;
import io.keelson.control.policy.PolicyParser;
import io.keelson.control.store.PolicyStore;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/** Test helpers: the canary example and a registry of two workloads. Stateless. */
public final class Mesh {
  private Mesh() {}

  /** The shared (plain sidecar) translation of {@link #registry}(9001, 9002) plus {@code yaml}. */
  public static MeshResources translateWithRegistry(String yaml) throws Exception {
    List<Policy> all = new ArrayList<>(PolicyParser.parse("registry.yaml", registry(9001, 9002)).policies());
    all.addAll(PolicyParser.parse("policy.yaml", yaml).policies());
    return new MeshTranslator(15001, false).translate(io.keelson.control.store.PolicySet.EMPTY.with(all), List.of());
  }

  /** What a plaintext gateway proxy with {@code labels} is pushed for {@code state} (no identity, no policies). */
  public static MeshResources gateway(io.keelson.control.store.PolicySet state, java.util.Map<String, String> labels) {
    return GatewayTranslator.translate(new MeshTranslator(15001, false).translate(state, List.of()), state, labels,
        "0.0.0.0", null, false);
  }

  /** The cluster named {@code name} in {@code r}; fails when there is none. */
  public static io.envoyproxy.envoy.config.cluster.v3.Cluster cluster(MeshResources r, String name) {
    return r.clusters().stream().filter(c -> c.getName().equals(name)).findFirst().orElseThrow();
  }

  /**
   * The data plane's own translation of the control plane's resources (every route configuration and endpoint
   * assignment passed as xDS would deliver them), so a test sees what a Keelson proxy would run, or the NACK.
   */
  public static io.keelson.dataplane.config.ProxySnapshot dataPlane(MeshResources r) throws Exception {
    java.util.Map<String, io.envoyproxy.envoy.config.route.v3.RouteConfiguration> routes = new java.util.HashMap<>();
    r.routes().forEach(rc -> routes.put(rc.getName(), rc));
    java.util.Map<String, io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment> eps = new java.util.HashMap<>();
    r.endpoints().forEach(e -> eps.put(e.getClusterName(), e));
    return io.keelson.dataplane.config.envoy.XdsSnapshotTranslator.translate("v1",
        io.envoyproxy.envoy.config.bootstrap.v3.Bootstrap.StaticResources.getDefaultInstance(), r.listeners(), routes,
        r.clusters(), eps);
  }

  /**
   * {@link #dataPlane} for a proxy whose workload identity is {@code serviceAccount} of {@code namespace} (signed by a
   * fresh self-signed mesh CA), so that its mesh mTLS (SDS) sockets resolve.
   */
  public static io.keelson.dataplane.config.ProxySnapshot dataPlaneWithIdentity(MeshResources r, String namespace,
      String serviceAccount) throws Exception {
    io.keelson.control.ca.MeshCa ca = io.keelson.control.ca.CaLoader.load(io.keelson.control.ca.CaOptions.selfSigned(null));
    java.security.KeyPair kp = io.keelson.dataplane.security.CertificateRequests.newKeyPair();
    var chain = ca.sign(io.keelson.dataplane.security.CertificateRequests.csr(kp), ca.identity(namespace, serviceAccount),
        null);
    var source = new io.keelson.dataplane.security.StaticCertificateSource(
        new io.keelson.dataplane.security.WorkloadCertificate(kp.getPrivate(), chain.subList(0, chain.size() - 1)), ca.roots());
    return io.keelson.dataplane.tls.LocalSecrets.with(source, () -> dataPlane(r));
  }

  public static String resource(String path) {
    try (InputStream in = Mesh.class.getResourceAsStream(path)) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException | NullPointerException e) {
      throw new IllegalStateException("test resource " + path, e);
    }
  }

  /** Service product-service on port 80 with workloads v1 and v2 on 127.0.0.1. */
  public static String registry(int v1Port, int v2Port) {
    return """
        apiVersion: keelson.io/v1alpha1
        kind: Service
        metadata: { name: product-service }
        spec:
          ports: [ { name: http, port: 80 } ]
        ---
        apiVersion: keelson.io/v1alpha1
        kind: Workload
        metadata: { name: product-v1 }
        spec: { service: product-service, address: 127.0.0.1, port: %d, labels: { version: v1 } }
        ---
        apiVersion: keelson.io/v1alpha1
        kind: Workload
        metadata: { name: product-v2 }
        spec: { service: product-service, address: 127.0.0.1, port: %d, labels: { version: v2 } }
        """.formatted(v1Port, v2Port);
  }

  public static String split(int v1, int v2) {
    return resource("/canary/virtual-service.yaml").replace("weight: 90", "weight: " + v1)
        .replace("weight: 10", "weight: " + v2);
  }

  /** Applies the registry and the Istio canary (DestinationRule + 90/10 VirtualService) as one set. */
  public static void applyCanary(PolicyStore store, int v1Port, int v2Port) throws Exception {
    List<Policy> all = new ArrayList<>();
    all.addAll(PolicyParser.parse("registry.yaml", registry(v1Port, v2Port)).policies());
    all.addAll(PolicyParser.parse("destination-rule.yaml", resource("/canary/destination-rule.yaml")).policies());
    all.addAll(PolicyParser.parse("virtual-service.yaml", resource("/canary/virtual-service.yaml")).policies());
    store.apply(all, false);
  }
}
