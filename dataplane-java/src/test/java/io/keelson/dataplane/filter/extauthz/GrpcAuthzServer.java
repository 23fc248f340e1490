package io.keelson.dataplane.filter.extauthz;

import com.google.protobuf.BoolValue;
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
import java.io.IOException;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

/**
 * A real gRPC authorization server (grpc-java's envoy.service.auth.v3.Authorization on loopback) for ext_authz
 * grpc_service tests: a path containing {@code /deny} is denied with 401, a body and a header; {@code /role} is allowed
 * with {@code x-role: admin} set upstream; anything else is
 * allowed with bad fields besides {@code x-user: mallory} for {@code /hostile}; allowed with framing changes
 * (content-length, transfer-encoding set and removed) for {@code /reframe}; anything else is
 * allowed with an {@code x-user} header to set and an {@code x-drop} header to remove upstream. A network check (no
 * HTTP request: envoy.filters.network.ext_authz) is allowed when its source port is in {@link #allowedSourcePorts} or
 * its source principal in {@link #allowedPrincipals}, else denied (PERMISSION_DENIED). Records every CheckRequest.
 * Public for the tcp_proxy tests.
 */
public final class GrpcAuthzServer implements AutoCloseable {
  /** An HTTP filter list entry (10 columns in, as ProxyHarness.bootstrap's filters): ext_authz asking cluster {@code authz}. */
  public static final String FILTER = """
      - name: envoy.filters.http.ext_authz
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthz
          grpc_service:
            envoy_grpc: { cluster_name: authz }
            timeout: 5s
      """.indent(10);
  public final List<CheckRequest> checks = new CopyOnWriteArrayList<>();
  public final java.util.Set<Integer> allowedSourcePorts = java.util.concurrent.ConcurrentHashMap.newKeySet();
  public final java.util.Set<String> allowedPrincipals = java.util.concurrent.ConcurrentHashMap.newKeySet();
  /** How long a network check waits before its answer (0: at once). */
  public volatile long networkDelayMillis;
  private final java.util.concurrent.ScheduledExecutorService timer =
      java.util.concurrent.Executors.newSingleThreadScheduledExecutor(r -> Thread.ofPlatform().daemon().unstarted(r));
  private final Server server;

  public GrpcAuthzServer() throws IOException {
    server = Grpc.newServerBuilderForPort(0, InsecureServerCredentials.create()).addService(new AuthorizationGrpc.AuthorizationImplBase() {
      @Override
      public void check(CheckRequest request, StreamObserver<CheckResponse> out) {
        checks.add(request);
        if (!request.getAttributes().getRequest().hasHttp()) {
          var source = request.getAttributes().getSource();
          boolean allowed = allowedSourcePorts.contains(source.getAddress().getSocketAddress().getPortValue())
              || allowedPrincipals.contains(source.getPrincipal());
          Runnable answer = () -> {
            out.onNext(CheckResponse.newBuilder().setStatus(com.google.rpc.Status.newBuilder().setCode(allowed ? 0 : 7)).build());
            out.onCompleted();
          };
          long delay = networkDelayMillis;
          if (delay > 0) {
            timer.schedule(answer, delay, TimeUnit.MILLISECONDS);
          } else {
            answer.run();
          }
          return;
        }
        String path = request.getAttributes().getRequest().getHttp().getPath();
        CheckResponse.Builder r = CheckResponse.newBuilder();
        if (path.contains("/deny")) {
          r.setStatus(com.google.rpc.Status.newBuilder().setCode(7)).setDeniedResponse(DeniedHttpResponse.newBuilder()
              .setStatus(HttpStatus.newBuilder().setCode(StatusCode.Unauthorized))
              .addHeaders(header("x-deny-reason", "grpc says no", false)).setBody("denied over grpc"));
        } else if (path.contains("/role")) { // a role for the filters after ext_authz to read
          r.setStatus(com.google.rpc.Status.newBuilder().setCode(0)).setOkResponse(OkHttpResponse.newBuilder()
              .addHeaders(header("x-role", "admin", false)));
        } else if (path.contains("/reframe")) { // a body framed anew: its bytes would become a request of their own
          r.setStatus(com.google.rpc.Status.newBuilder().setCode(0)).setOkResponse(OkHttpResponse.newBuilder()
              .addHeaders(header("content-length", "0", false)).addHeaders(header("transfer-encoding", "identity", false))
              .addHeadersToRemove("content-length").addHeadersToRemove("transfer-encoding"));
        } else if (path.contains("/hostile")) { // fields no proxy may apply: a pseudo-header, Host, a smuggled line
          r.setStatus(com.google.rpc.Status.newBuilder().setCode(0)).setOkResponse(OkHttpResponse.newBuilder()
              .addHeaders(header(":path", "/admin", false)).addHeaders(header("host", "evil.example", false))
              .addHeaders(header("x-injected", "a\r\nx-evil: 1", false)).addHeaders(header("x-user", "mallory", false)));
        } else {
          r.setStatus(com.google.rpc.Status.newBuilder().setCode(0)).setOkResponse(OkHttpResponse.newBuilder()
              .addHeaders(header("x-user", "bob", false)).addHeadersToRemove("x-drop"));
        }
        out.onNext(r.build());
        out.onCompleted();
      }
    }).build().start();
  }

  private static HeaderValueOption header(String name, String value, boolean append) {
    return HeaderValueOption.newBuilder().setHeader(HeaderValue.newBuilder().setKey(name).setValue(value))
        .setAppend(BoolValue.of(append)).build();
  }

  public int port() {
    return server.getPort();
  }

  @Override
  public void close() throws InterruptedException {
    timer.shutdownNow();
    server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
  }
}
