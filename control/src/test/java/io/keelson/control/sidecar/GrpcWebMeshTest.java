package io.keelson.control.sidecar;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.keelson.control.api.ControlPlane;
import io.keelson.control.ca.CaOptions;
import io.keelson.control.policy.PolicyParser;
import io.keelson.dataplane.config.HttpFilterConfig;
import io.keelson.dataplane.config.ListenerConfig;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A gRPC-Web call from curl through two sidecars to a grpc-java app (which speaks only gRPC over h2c): the Service's
 * port is named {@code grpc-web}, so the control plane puts envoy.filters.http.grpc_web in the caller's outbound and
 * the destination's inbound connection managers, before CORS, fault and the router, as istiod does; the caller's
 * sidecar bridges the call, the sidecars speak HTTP/2 over STRICT mTLS. Unary, server streaming, an error status and
 * -text mode, from HTTP/1.1 and HTTP/2 curl. An ingress gateway's GRPC-Web server bridges calls into the mesh too.
 * A plain GRPC port gets no grpc_web filter.
 */
class GrpcWebMeshTest {
  @TempDir
  Path tmp;

  private static byte[] message(String s) {
    byte[] p = s.getBytes(StandardCharsets.UTF_8);
    byte[] f = new byte[5 + p.length];
    f[4] = (byte) p.length;
    System.arraycopy(p, 0, f, 5, p.length);
    return f;
  }

  /** The frames of a gRPC-Web body: messages as text, the trailer frame as "trailers:" + its lines. */
  private static List<String> frames(byte[] body) {
    List<String> out = new ArrayList<>();
    for (int i = 0; i + 5 <= body.length; ) {
      int len = ((body[i + 1] & 0xff) << 24) | ((body[i + 2] & 0xff) << 16) | ((body[i + 3] & 0xff) << 8) | (body[i + 4] & 0xff);
      String payload = new String(body, i + 5, len, StandardCharsets.ISO_8859_1);
      out.add((body[i] & 0x80) != 0 ? "trailers:" + payload : payload);
      i += 5 + len;
    }
    return out;
  }

  /** curl's answer: its headers (lower-cased lines) and body; {@code http2} for prior-knowledge h2c. */
  private record Curl(String headers, byte[] body) {}

  private Curl curl(int port, boolean http2, String path, String contentType, String accept, byte[] body) throws Exception {
    return curl(port, "grpc-echo", http2, path, contentType, accept, body);
  }

  private Curl curl(int port, String host, boolean http2, String path, String contentType, String accept, byte[] body)
      throws Exception {
    Path in = Files.write(tmp.resolve("in-" + System.nanoTime()), body);
    Path out = tmp.resolve("out-" + System.nanoTime());
    Path head = tmp.resolve("head-" + System.nanoTime());
    List<String> cmd = new ArrayList<>(List.of("curl", "-sS", http2 ? "--http2-prior-knowledge" : "--http1.1", "--max-time", "10",
        "-H", "host: " + host, "-H", "content-type: " + contentType, "-H", "x-grpc-web: 1",
        "--data-binary", "@" + in, "-o", out.toString(), "-D", head.toString()));
    if (accept != null) {
      cmd.addAll(List.of("-H", "accept: " + accept));
    }
    cmd.add("http://127.0.0.1:" + port + path);
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(15, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).as(log).isZero();
    return new Curl(Files.readString(head, StandardCharsets.ISO_8859_1).toLowerCase(java.util.Locale.ROOT), Files.readAllBytes(out));
  }

  private boolean answers(int port) {
    try {
      return frames(curl(port, false, "/test.Echo/Unary", "application/grpc-web+proto", null, message("hi")).body())
          .equals(List.of("v1:hi", "trailers:grpc-status:0\r\n"));
    } catch (Exception | AssertionError e) {
      return false;
    }
  }

  /** The compiled HTTP filters of a sidecar's listener (the router is not among them). */
  private static List<String> filterNames(Sidecar s, String listener) {
    ListenerConfig l = s.server().snapshot().config().listeners().stream().filter(x -> x.name().equals(listener))
        .findFirst().orElseThrow();
    return l.http().httpFilters().stream().map(HttpFilterConfig::name).toList();
  }

  @Test
  void grpcWebCallFromCurlCrossesTwoSidecarsToAGrpcApp() throws Exception {
    try (ControlPlane cp = ControlPlane.start(new ControlPlane.Options("127.0.0.1", 0, 0, null, null, 15001, CaOptions.selfSigned(null), 0));
        GrpcMeshApp app = new GrpcMeshApp("v1", "127.0.0.1", 0);
        Sidecar echo = SidecarMtlsTest.secureSidecar(cp, "grpc-echo", "echo", app.port());
        Sidecar web = SidecarMtlsTest.secureSidecar(cp, "web", "web", 1)) {
      cp.store.apply(PolicyParser.parse("services.yaml", """
          apiVersion: keelson.io/v1alpha1
          kind: Service
          metadata: { name: grpc-echo }
          spec: { ports: [ { name: grpc-web, port: 50051 } ] }
          ---
          apiVersion: keelson.io/v1alpha1
          kind: Service
          metadata: { name: web }
          spec: { ports: [ { name: http, port: 80 } ] }
          ---
          apiVersion: security.istio.io/v1
          kind: PeerAuthentication
          metadata: { name: default, namespace: default }
          spec: { mtls: { mode: STRICT } }
          """).policies(), false);
      int outbound = web.outboundAddress().getPort();
      await().atMost(Duration.ofSeconds(30)).until(() -> answers(outbound) && !SidecarMtlsTest.inbound(echo).plaintextToo());

      // istiod's order: grpc_web before CORS and fault (the router, last, is not among the compiled filters); on the
      // destination's inbound too, after its authorization filters.
      assertThat(filterNames(web, "outbound")).containsExactly("envoy.filters.http.grpc_web", "envoy.filters.http.cors",
          "envoy.filters.http.fault");
      assertThat(filterNames(echo, "inbound")).endsWith("envoy.filters.http.grpc_web");

      Curl unary = curl(outbound, false, "/test.Echo/Unary", "application/grpc-web+proto", null, message("hello"));
      assertThat(unary.headers()).startsWith("http/1.1 200").contains("content-type: application/grpc-web+proto");
      assertThat(frames(unary.body())).containsExactly("v1:hello", "trailers:grpc-status:0\r\n");

      Curl stream = curl(outbound, true, "/test.Echo/Count", "application/grpc-web", null, message("3"));
      assertThat(frames(stream.body())).containsExactly("v1:0", "v1:1", "v1:2", "trailers:grpc-status:0\r\n");

      Curl error = curl(outbound, false, "/test.Echo/Unary", "application/grpc-web+proto", null, message("fail:no such item"));
      assertThat(error.headers()).contains("grpc-status: 5").contains("grpc-message: no such item");

      Curl text = curl(outbound, true, "/test.Echo/Unary", "application/grpc-web-text", "application/grpc-web-text",
          Base64.getEncoder().encode(message("as text")));
      assertThat(text.headers()).contains("content-type: application/grpc-web-text+proto");
      String encoded = new String(text.body(), StandardCharsets.US_ASCII);
      ByteArrayOutputStream decoded = new ByteArrayOutputStream();
      for (int i = 0; i + 4 <= encoded.length(); i += 4) { // padded chunk by chunk, decoded quad by quad
        decoded.writeBytes(Base64.getDecoder().decode(encoded.substring(i, i + 4)));
      }
      assertThat(frames(decoded.toByteArray())).containsExactly("v1:as text", "trailers:grpc-status:0\r\n");
    }
  }

  @Test
  void aGrpcWebGatewayServerBridgesCallsToTheMesh() throws Exception {
    int port = IngressGatewayTest.freePort();
    try (ControlPlane cp = ControlPlane.start(new ControlPlane.Options("127.0.0.1", 0, 0, null, null, 15001, CaOptions.selfSigned(null), 0));
        GrpcMeshApp app = new GrpcMeshApp("v1", "127.0.0.1", 0);
        Sidecar echo = SidecarMtlsTest.secureSidecar(cp, "grpc-echo", "echo", app.port());
        Sidecar gateway = SidecarMtlsTest.secureProxy(cp, "istio-system", "ingress", SidecarBootstrap.gateway(
            "127.0.0.1", cp.security.securePort().port(), "ingress", Map.of("istio", "ingressgateway"), "127.0.0.1", "127.0.0.1", 0))) {
      cp.store.apply(PolicyParser.parse("gateway.yaml", """
          apiVersion: keelson.io/v1alpha1
          kind: Service
          metadata: { name: grpc-echo }
          spec: { ports: [ { name: grpc-web, port: 50051 } ] }
          ---
          apiVersion: networking.istio.io/v1
          kind: Gateway
          metadata: { name: ingress, namespace: istio-system }
          spec:
            selector: { istio: ingressgateway }
            servers:
            - port: { number: %d, name: grpc-web, protocol: GRPC-Web }
              hosts: [ api.example.com ]
          ---
          apiVersion: networking.istio.io/v1
          kind: VirtualService
          metadata: { name: api }
          spec:
            hosts: [ api.example.com ]
            gateways: [ istio-system/ingress ]
            http:
            - route: [ { destination: { host: grpc-echo } } ]
          """.formatted(port)).policies(), false);
      await().atMost(Duration.ofSeconds(30)).until(() -> {
        try {
          return frames(curl(port, "api.example.com", false, "/test.Echo/Unary", "application/grpc-web+proto", null,
              message("hi")).body()).equals(List.of("v1:hi", "trailers:grpc-status:0\r\n"));
        } catch (Exception | AssertionError e) {
          return false;
        }
      });
      assertThat(filterNames(gateway, "127.0.0.1_" + port)).first().isEqualTo("envoy.filters.http.grpc_web");
      Curl stream = curl(port, "api.example.com", true, "/test.Echo/Count", "application/grpc-web-text",
          "application/grpc-web-text", Base64.getEncoder().encode(message("2")));
      assertThat(stream.headers()).contains("content-type: application/grpc-web-text+proto");
      String encoded = new String(stream.body(), StandardCharsets.US_ASCII);
      ByteArrayOutputStream decoded = new ByteArrayOutputStream();
      for (int i = 0; i + 4 <= encoded.length(); i += 4) {
        decoded.writeBytes(Base64.getDecoder().decode(encoded.substring(i, i + 4)));
      }
      assertThat(frames(decoded.toByteArray())).containsExactly("v1:0", "v1:1", "trailers:grpc-status:0\r\n");
    }
  }

  @Test
  void aPlainGrpcPortGetsNoGrpcWebFilter() throws Exception {
    try (ControlPlane cp = ControlPlane.start(new ControlPlane.Options("127.0.0.1", 0, 0, null, null, 15001, CaOptions.selfSigned(null), 0));
        GrpcMeshApp app = new GrpcMeshApp("v1", "127.0.0.1", 0);
        Sidecar web = SidecarMtlsTest.secureSidecar(cp, "web", "web", 1)) {
      cp.store.apply(PolicyParser.parse("services.yaml", """
          apiVersion: keelson.io/v1alpha1
          kind: Service
          metadata: { name: grpc-echo }
          spec: { ports: [ { name: grpc, port: 50051 } ] }
          """).policies(), false);
      await().atMost(Duration.ofSeconds(30)).until(() -> web.server().snapshot().config().listeners().stream()
          .anyMatch(l -> l.name().equals("outbound")) && web.xds().lastSnapshot() != null
          && web.xds().lastSnapshot().clusters().containsKey("grpc-echo"));
      assertThat(filterNames(web, "outbound")).containsExactly("envoy.filters.http.cors", "envoy.filters.http.fault");
    }
  }
}
