package io.keelson.control.sidecar;

import static io.keelson.control.sidecar.SidecarMtlsTest.secureSidecar;
import static io.keelson.control.sidecar.SidecarMtlsTest.served;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.BoolValue;
import com.sun.net.httpserver.HttpServer;
import io.envoyproxy.envoy.config.core.v3.HeaderValue;
import io.envoyproxy.envoy.config.core.v3.HeaderValueOption;
import io.envoyproxy.envoy.service.auth.v3.AuthorizationGrpc;
import io.envoyproxy.envoy.service.auth.v3.CheckRequest;
import io.envoyproxy.envoy.service.auth.v3.CheckResponse;
import io.envoyproxy.envoy.service.auth.v3.DeniedHttpResponse;
import io.envoyproxy.envoy.service.auth.v3.OkHttpResponse;
import io.envoyproxy.envoy.type.v3.HttpStatus;
import io.envoyproxy.envoy.type.v3.StatusCode;
import io.grpc.Grpc;
import io.grpc.InsecureServerCredentials;
import io.grpc.Server;
import io.grpc.stub.StreamObserver;
import io.keelson.control.api.ControlPlane;
import io.keelson.control.ca.CaOptions;
import io.keelson.control.policy.PolicyParser;
import io.keelson.control.security.ExtensionProviders;
import io.keelson.dataplane.testing.RawHttp;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * End to end: AuthorizationPolicy action CUSTOM with the control plane's extension providers (Istio meshConfig
 * {@code extensionProviders}). Two sidecars with identities; the server's sidecar asks a real authorizer (a JDK HTTP
 * server, or a grpc-java envoy.service.auth.v3 server) about the requests the CUSTOM rule matches ({@code /admin/*}) and
 * never about the others.
 */
class SidecarExtAuthzTest {
  private static final String POLICY = """
      apiVersion: security.istio.io/v1
      kind: AuthorizationPolicy
      metadata: { name: ext, namespace: default }
      spec:
        selector: { matchLabels: { app: product } }
        action: CUSTOM
        provider: { name: %s }
        rules: [ { to: [ { operation: { paths: [ "/admin/*" ] } } ] } ]
      """;

  /** The app: echoes the x-user header the authorizer set (or "-"). */
  private static HttpServer app() throws IOException {
    HttpServer app = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    app.createContext("/", ex -> {
      String user = ex.getRequestHeaders().getFirst("x-user");
      byte[] body = ("user=" + (user == null ? "-" : user)).getBytes(StandardCharsets.UTF_8);
      ex.getResponseHeaders().add("x-served-by", "product-v1");
      ex.sendResponseHeaders(200, body.length);
      ex.getResponseBody().write(body);
      ex.close();
    });
    app.start();
    return app;
  }

  private static RawHttp.Response get(int port, String path, String extraHeaders) throws IOException {
    try (RawHttp http = new RawHttp(port)) {
      return http.send("GET " + path + " HTTP/1.1\r\nHost: product-service\r\n" + extraHeaders + "\r\n").read();
    }
  }

  private static int status(int port, String path, String extraHeaders) {
    try {
      return get(port, path, extraHeaders).status();
    } catch (IOException e) {
      return -1;
    }
  }

  @Test
  void httpProviderChecksOnlyTheRequestsTheCustomRuleMatches() throws Exception {
    List<String> checked = new CopyOnWriteArrayList<>();
    HttpServer authz = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    authz.createContext("/", ex -> {
      checked.add(ex.getRequestURI().getPath());
      boolean allow = "yes".equals(ex.getRequestHeaders().getFirst("x-allow"));
      byte[] body = (allow ? "" : "denied by authz").getBytes(StandardCharsets.UTF_8);
      if (allow) {
        ex.getResponseHeaders().add("x-user", "alice");
      } else {
        ex.getResponseHeaders().add("x-deny-reason", "no x-allow");
        ex.getResponseHeaders().add("x-internal", "secret");
      }
      ex.sendResponseHeaders(allow ? 200 : 403, body.length == 0 ? -1 : body.length);
      ex.getResponseBody().write(body);
      ex.close();
    });
    authz.start();
    HttpServer app = app();
    ExtensionProviders providers = ExtensionProviders.parse("mesh.yaml", """
        extensionProviders:
        - name: authz-http
          envoyExtAuthzHttp:
            service: 127.0.0.1
            port: %d
            timeout: 2s
            pathPrefix: /check
            includeRequestHeadersInCheck: [ x-allow ]
            headersToUpstreamOnAllow: [ x-user ]
            headersToDownstreamOnDeny: [ x-deny-reason ]
        """.formatted(authz.getAddress().getPort()));
    try (ControlPlane cp = ControlPlane.start(new ControlPlane.Options("127.0.0.1", 0, 0, null, null, 15001,
            CaOptions.selfSigned(null), 0).withExtensionProviders(providers));
        Sidecar product = secureSidecar(cp, "product-service", "product", app.getAddress().getPort(),
            Map.of("app", "product"));
        Sidecar web = secureSidecar(cp, "web", "web", 1)) {
      cp.store.apply(PolicyParser.parse("services.yaml", SidecarMtlsTest.SERVICES).policies(), false);
      int outbound = web.outboundAddress().getPort();
      await().atMost(Duration.ofSeconds(15)).until(() -> served(outbound, "product-service").equals("product-v1"));
      // An unknown provider is refused at apply, with the field and the providers there are.
      HttpResponse<String> refused = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
              URI.create("http://127.0.0.1:" + cp.api.port() + "/v1/apply?file=ext.yaml"))
          .POST(HttpRequest.BodyPublishers.ofString(POLICY.formatted("opa"))).build(), HttpResponse.BodyHandlers.ofString());
      assertThat(refused.statusCode()).isEqualTo(400);
      assertThat(refused.body()).contains("spec.provider.name").contains("'opa' is not defined")
          .contains("[authz-http]");
      cp.store.apply(PolicyParser.parse("ext.yaml", POLICY.formatted("authz-http")).policies(), false);
      await().atMost(Duration.ofSeconds(15)).until(() -> status(outbound, "/admin/x", "") == 403);
      RawHttp.Response denied = get(outbound, "/admin/x", "");
      assertThat(denied.body()).isEqualTo("denied by authz");
      assertThat(denied.header("x-deny-reason")).isEqualTo("no x-allow");
      assertThat(denied.header("x-internal")).isNull();
      RawHttp.Response allowed = get(outbound, "/admin/x", "x-allow: yes\r\n");
      assertThat(allowed.status()).isEqualTo(200);
      assertThat(allowed.body()).isEqualTo("user=alice"); // headersToUpstreamOnAllow reached the app
      int before = checked.size();
      RawHttp.Response open = get(outbound, "/public", "");
      assertThat(open.status()).isEqualTo(200);
      assertThat(open.body()).isEqualTo("user=-");
      assertThat(checked).hasSize(before).allMatch(p -> p.equals("/check/admin/x"));
      assertThat(checked).isNotEmpty();
      // The policy gone: /admin is no longer checked.
      cp.store.delete("AuthorizationPolicy", "default", "ext", false);
      await().atMost(Duration.ofSeconds(15)).until(() -> status(outbound, "/admin/x", "") == 200);
      int after = checked.size();
      assertThat(status(outbound, "/admin/y", "")).isEqualTo(200);
      assertThat(checked).hasSize(after);
    } finally {
      authz.stop(0);
      app.stop(0);
    }
  }

  @Test
  void grpcProviderChecksTheMatchedRequestsOverGrpc() throws Exception {
    List<CheckRequest> checks = new CopyOnWriteArrayList<>();
    Server grpc = Grpc.newServerBuilderForPort(0, InsecureServerCredentials.create())
        .addService(new AuthorizationGrpc.AuthorizationImplBase() {
          @Override
          public void check(CheckRequest request, StreamObserver<CheckResponse> out) {
            checks.add(request);
            boolean allow = "yes".equals(request.getAttributes().getRequest().getHttp().getHeadersMap().get("x-allow"));
            CheckResponse.Builder r = CheckResponse.newBuilder();
            if (allow) {
              r.setStatus(com.google.rpc.Status.newBuilder().setCode(0)).setOkResponse(OkHttpResponse.newBuilder()
                  .addHeaders(header("x-user", "bob")));
            } else {
              r.setStatus(com.google.rpc.Status.newBuilder().setCode(7)).setDeniedResponse(DeniedHttpResponse.newBuilder()
                  .setStatus(HttpStatus.newBuilder().setCode(StatusCode.Forbidden)).setBody("denied over grpc"));
            }
            out.onNext(r.build());
            out.onCompleted();
          }
        }).build().start();
    HttpServer app = app();
    ExtensionProviders providers = ExtensionProviders.parse("mesh.yaml", """
        extensionProviders:
        - name: authz-grpc
          envoyExtAuthzGrpc: { service: 127.0.0.1, port: %d, timeout: 2s }
        """.formatted(grpc.getPort()));
    try (ControlPlane cp = ControlPlane.start(new ControlPlane.Options("127.0.0.1", 0, 0, null, null, 15001,
            CaOptions.selfSigned(null), 0).withExtensionProviders(providers));
        Sidecar product = secureSidecar(cp, "product-service", "product", app.getAddress().getPort(),
            Map.of("app", "product"));
        Sidecar web = secureSidecar(cp, "web", "web", 1)) {
      cp.store.apply(PolicyParser.parse("services.yaml", SidecarMtlsTest.SERVICES).policies(), false);
      int outbound = web.outboundAddress().getPort();
      await().atMost(Duration.ofSeconds(15)).until(() -> served(outbound, "product-service").equals("product-v1"));
      cp.store.apply(PolicyParser.parse("ext.yaml", POLICY.formatted("authz-grpc")).policies(), false);
      await().atMost(Duration.ofSeconds(15)).until(() -> status(outbound, "/admin/x", "") == 403);
      assertThat(get(outbound, "/admin/x", "").body()).isEqualTo("denied over grpc");
      RawHttp.Response allowed = get(outbound, "/admin/x", "x-allow: yes\r\n");
      assertThat(allowed.status()).isEqualTo(200);
      assertThat(allowed.body()).isEqualTo("user=bob");
      int before = checks.size();
      assertThat(status(outbound, "/public", "")).isEqualTo(200);
      assertThat(checks).hasSize(before).isNotEmpty()
          .allMatch(c -> c.getAttributes().getRequest().getHttp().getPath().equals("/admin/x"));
    } finally {
      grpc.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      app.stop(0);
    }
  }

  private static HeaderValueOption header(String name, String value) {
    return HeaderValueOption.newBuilder().setHeader(HeaderValue.newBuilder().setKey(name).setValue(value))
        .setAppend(BoolValue.of(false)).build();
  }
}
