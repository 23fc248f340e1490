package io.keelson.dataplane.http2;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.awaitility.Awaitility.await;

import io.grpc.CallOptions;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.stub.ClientCalls;
import io.keelson.dataplane.pipeline.PipelineMode;
import io.keelson.dataplane.testing.ProxyHarness;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Access-log filters that read the gRPC status, with grpc-java on both ends of a proxy: an OK call carries its
 * grpc-status in the trailers (after the message), a failed one in a trailers-only answer (the response head); both
 * reach {@code grpc_status_filter} and CEL's {@code response.grpc_status}, in both wirings.
 */
class GrpcAccessLogFilterTest {
  private static final String CODE = "%RESPONSE_CODE%\\n";
  @TempDir Path dir;

  private static String log(Path file, String filter) {
    return ProxyHarness.filteredFileLog(file, filter, "%RESPONSE_CODE% %RESP(GRPC-STATUS)%\\n");
  }

  @Test
  void grpcStatusFromTrailersAndFromATrailersOnlyAnswerSelectEntries() throws Exception {
    Path ok = dir.resolve("ok.log");
    Path failed = dir.resolve("failed.log");
    Path notFound = dir.resolve("not-found.log");
    String routes = """
                    - name: main
                      domains: ["*"]
                      routes:
                      - match: { prefix: "/" }
                        route: { cluster: c, timeout: 10s }
        """;
    for (PipelineMode mode : PipelineMode.values()) {
      for (Path p : List.of(ok, failed, notFound)) {
        Files.deleteIfExists(p);
      }
      try (GrpcEcho echo = new GrpcEcho()) {
        String cluster = ProxyHarness.cluster("c", "ROUND_ROBIN", echo.port())
            .replace("    type: STATIC\n", "    type: STATIC\n    http2_protocol_options: {}\n");
        String yaml = ProxyHarness.withHcm(ProxyHarness.bootstrap(routes, cluster), "access_log:\n"
            + log(ok, "{ grpc_status_filter: { statuses: [OK] } }")
            + log(failed, "{ grpc_status_filter: { statuses: [OK], exclude: true } }")
            + log(notFound, "{ extension_filter: { name: envoy.access_loggers.extension_filters.cel, typed_config: {"
                + " \"@type\": type.googleapis.com/envoy.extensions.access_loggers.filters.cel.v3.ExpressionFilter,"
                + " expression: \"response.grpc_status == 5\" } } }"));
        try (ProxyHarness proxy = new ProxyHarness(yaml, mode)) {
          ManagedChannel channel = Grpc.newChannelBuilderForAddress("127.0.0.1", proxy.port(),
              InsecureChannelCredentials.create()).build();
          try {
            CallOptions deadline = CallOptions.DEFAULT.withDeadlineAfter(10, TimeUnit.SECONDS);
            assertThat(ClientCalls.blockingUnaryCall(channel, GrpcEcho.UNARY, deadline, "a")).isEqualTo("a");
            Status s = Status.fromThrowable(catchThrowable(
                () -> ClientCalls.blockingUnaryCall(channel, GrpcEcho.UNARY, deadline, "fail:gone")));
            assertThat(s.getCode()).isEqualTo(Status.Code.NOT_FOUND);
            assertThat(ClientCalls.blockingUnaryCall(channel, GrpcEcho.UNARY, deadline, "b")).isEqualTo("b");
          } finally {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
          }
          await().atMost(Duration.ofSeconds(10)).until(() -> lines(ok).size() == 2 && lines(failed).size() == 1
              && lines(notFound).size() == 1);
          // the OK calls' status came in the trailers (%RESP% reads the head only, as Envoy's)
          assertThat(lines(ok)).as(mode.name()).containsExactly("200 -", "200 -");
          assertThat(lines(failed)).as(mode.name()).containsExactly("200 5");
          assertThat(lines(notFound)).as(mode.name()).containsExactly("200 5");
        }
      }
    }
  }

  /**
   * A call no route matches gets the proxy's own trailers-only answer, UNIMPLEMENTED (12): the logs see that code, not
   * UNKNOWN inferred from the HTTP 200.
   */
  @Test
  void theProxysOwnTrailersOnlyAnswerIsLoggedWithItsGrpcStatus() throws Exception {
    Path unimplemented = dir.resolve("unimplemented.log");
    Path cel = dir.resolve("cel.log");
    String routes = """
                    - name: main
                      domains: ["*"]
                      routes:
                      - match: { prefix: "/not.the.Service/" }
                        route: { cluster: c, timeout: 10s }
        """;
    try (GrpcEcho echo = new GrpcEcho()) {
      String yaml = ProxyHarness.withHcm(ProxyHarness.bootstrap(routes, ProxyHarness.cluster("c", "ROUND_ROBIN",
          echo.port())), "access_log:\n"
          + ProxyHarness.filteredFileLog(unimplemented, "{ grpc_status_filter: { statuses: [UNIMPLEMENTED] } }", CODE)
          + ProxyHarness.filteredFileLog(cel, "{ extension_filter: { name: envoy.access_loggers.extension_filters.cel, typed_config: {"
              + " \"@type\": type.googleapis.com/envoy.extensions.access_loggers.filters.cel.v3.ExpressionFilter,"
              + " expression: \"response.grpc_status == 12\" } } }", CODE));
      try (ProxyHarness proxy = new ProxyHarness(yaml, PipelineMode.INLINE)) {
        ManagedChannel channel = Grpc.newChannelBuilderForAddress("127.0.0.1", proxy.port(),
            InsecureChannelCredentials.create()).build();
        try {
          Status s = Status.fromThrowable(catchThrowable(() -> ClientCalls.blockingUnaryCall(channel, GrpcEcho.UNARY,
              CallOptions.DEFAULT.withDeadlineAfter(10, TimeUnit.SECONDS), "a")));
          assertThat(s.getCode()).isEqualTo(Status.Code.UNIMPLEMENTED);
        } finally {
          channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> lines(unimplemented).size() == 1 && lines(cel).size() == 1);
        assertThat(lines(unimplemented)).containsExactly("200");
        assertThat(lines(cel)).containsExactly("200");
      }
    }
  }

  private static List<String> lines(Path p) throws java.io.IOException {
    return Files.exists(p) ? Files.readAllLines(p) : List.of();
  }
}
