package io.keelson.dataplane.accesslog;

import io.keelson.bench.jmh.BenchmarkBase;
import io.keelson.dataplane.config.AccessLogConfig;
import io.keelson.dataplane.config.EndpointConfig;
import io.keelson.dataplane.stats.ResponseFlag;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Setup;

/**
 * The access log writer's per-line cost: formatting one record in Envoy's default text format and in a
 * JSON format. It runs on the writer thread, which shares the proxy's cores, so it counts against
 * throughput. In this package to reach the package-private formatter.
 */
public class AccessLogFormatBenchmark extends BenchmarkBase {
  private AccessLogFormat text;
  private AccessLogFormat json;
  private final AccessLogRecord record = new AccessLogRecord();
  private final LineBuffer line = new LineBuffer(512);

  @Setup
  public void setUp() {
    List<String> req = new ArrayList<>();
    List<String> resp = new ArrayList<>();
    text = AccessLogFormat.compile(new AccessLogConfig(null, AccessLogConfig.ENVOY_DEFAULT_FORMAT, null), req, resp);
    json = AccessLogFormat.compile(new AccessLogConfig(null, null, Map.of(
        "start", "%START_TIME%", "method", "%REQ(:METHOD)%", "path", "%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%",
        "code", "%RESPONSE_CODE%", "flags", "%RESPONSE_FLAGS%", "received", "%BYTES_RECEIVED%",
        "sent", "%BYTES_SENT%", "duration", "%DURATION%", "upstream", "%UPSTREAM_HOST%")), req, resp);
    record.requestHeaders = new String[req.size()];
    record.responseHeaders = new String[resp.size()];
    for (int i = 0; i < req.size(); i++) {
      record.requestHeaders[i] = switch (req.get(i)) {
        case ":method" -> "GET";
        case ":path" -> "/productpage";
        case ":authority" -> "productpage:9080";
        case "user-agent" -> "wrk/4.2.0";
        case "x-request-id" -> "5f0b8c1e-8d2a-4a51-9d7e-1c3f6d3b9a10";
        default -> null;
      };
    }
    record.startEpochMillis = System.currentTimeMillis();
    record.durationNanos = 850_000;
    record.method = "GET";
    record.path = "/productpage";
    record.protocol = "HTTP/1.1";
    record.status = 200;
    record.flag = ResponseFlag.NONE;
    record.bytesReceived = 0;
    record.bytesSent = 1_683;
    record.upstreamHost = new EndpointConfig("10.0.0.7", 9080, 1);
    record.upstreamCluster = "outbound|9080||reviews.default.svc.cluster.local";
    record.downstreamRemoteAddress = "10.0.0.1:53412";
    record.routeName = "default";
  }

  @Benchmark
  public int envoyDefaultText() {
    line.setLength(0);
    text.format(record, line);
    return line.length();
  }

  @Benchmark
  public int json() {
    line.setLength(0);
    json.format(record, line);
    return line.length();
  }
}
