package io.keelson.dataplane.accesslog;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.keelson.dataplane.config.AccessLogConfig;
import io.keelson.dataplane.config.EndpointConfig;
import io.keelson.dataplane.stats.ResponseFlag;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The byte formatter of the writer thread: exact lines, UTF-8, JSON escaping, the cached start time. */
class AccessLogFormatTest {
  private final List<String> req = new ArrayList<>();
  private final List<String> resp = new ArrayList<>();

  private AccessLogRecord record(long startMillis) {
    AccessLogRecord r = new AccessLogRecord();
    r.requestHeaders = new String[req.size()];
    r.responseHeaders = new String[resp.size()];
    for (int i = 0; i < req.size(); i++) {
      r.requestHeaders[i] = switch (req.get(i)) {
        case ":method" -> "GET";
        case ":path" -> "/héllo?q=\"x\"";
        case ":authority" -> "svc:8080";
        case "user-agent" -> "wrk";
        default -> null;
      };
    }
    for (int i = 0; i < resp.size(); i++) {
      r.responseHeaders[i] = resp.get(i).equals("x-envoy-upstream-service-time") ? "3" : null;
    }
    r.startEpochMillis = startMillis;
    r.durationNanos = 12_345_678;
    r.protocol = "HTTP/1.1";
    r.status = 503;
    r.flag = ResponseFlag.NONE;
    r.bytesReceived = 0;
    r.bytesSent = 1234567890123L;
    r.upstreamHost = new EndpointConfig("10.0.0.7", 9080, 1);
    r.upstreamCluster = "up";
    r.downstreamRemoteAddress = "10.1.2.3:5555";
    return r;
  }

  @Test
  void downstreamLocalAddressIsTheOriginalDestinationAsRecorded() {
    AccessLogFormat f = AccessLogFormat.compile(new AccessLogConfig(null,
        "%DOWNSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT%\n", null), req, resp);
    AccessLogRecord r = record(0);
    r.downstreamLocalAddress = new java.net.InetSocketAddress("10.96.0.5", 80);
    assertThat(f.format(r)).isEqualTo("10.96.0.5:80 10.96.0.5\n");
    r.downstreamLocalAddress = new java.net.InetSocketAddress("2001:db8::5", 8080);
    assertThat(f.format(r)).isEqualTo("[2001:db8:0:0:0:0:0:5]:8080 2001:db8:0:0:0:0:0:5\n");
    r.downstreamLocalAddress = null;
    assertThat(f.format(r)).isEqualTo("- -\n");
  }

  @Test
  void envoyDefaultTextFormatIsWrittenAsUtf8() {
    AccessLogFormat f = AccessLogFormat.compile(new AccessLogConfig(null, AccessLogConfig.ENVOY_DEFAULT_FORMAT, null), req, resp);
    long start = Instant.parse("2026-12-05T16:40:59.007Z").toEpochMilli();
    String line = f.format(record(start));
    assertThat(line).isEqualTo("[2026-12-05T16:40:59.007Z] \"GET /héllo?q=\"x\" HTTP/1.1\" 503 - 0 1234567890123 12 3"
        + " \"-\" \"wrk\" \"-\" \"svc:8080\" \"10.0.0.7:9080\"\n");
  }

  @Test
  void startTimeFollowsTheClockAcrossSecondsAndBackwards() {
    AccessLogFormat f = AccessLogFormat.compile(new AccessLogConfig(null, "%START_TIME% %START_TIME:10%\n", null), req, resp);
    LineBuffer b = new LineBuffer(16); // grows
    for (String t : List.of("2026-12-05T16:40:59.999Z", "2026-12-05T16:41:00.000Z", "2026-12-05T16:41:00.120Z",
        "2026-12-05T16:40:59.500Z", "1969-12-31T23:59:59.900Z")) {
      b.setLength(0);
      f.format(record(Instant.parse(t).toEpochMilli()), b);
      assertThat(new String(b.array(), 0, b.length(), StandardCharsets.UTF_8)).isEqualTo(t + " " + t.substring(0, 10) + "\n");
    }
  }

  @Test
  void jsonValuesAreEscapedAndNumbersAndAbsentValuesAreBare() throws Exception {
    Map<String, String> json = new LinkedHashMap<>();
    json.put("path", "%REQ(:PATH)%");
    json.put("code", "%RESPONSE_CODE%");
    json.put("sent", "%BYTES_SENT%");
    json.put("missing", "%REQ(X-NOPE)%");
    json.put("mixed", "%REQ(:METHOD)% \"%UPSTREAM_HOST%\"\t%REQ(X-NOPE)%");
    json.put("remote", "%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%");
    json.put("k\"ey", "lit");
    json.put("cut", "%UPSTREAM_CLUSTER:1%");
    AccessLogFormat f = AccessLogFormat.compile(new AccessLogConfig(null, null, json), req, resp);
    String line = f.format(record(0));
    assertThat(line).endsWith("}\n");
    JsonNode n = new ObjectMapper().readTree(line);
    assertThat(n.get("path").asText()).isEqualTo("/héllo?q=\"x\"");
    assertThat(n.get("code").isNumber()).isTrue();
    assertThat(n.get("code").asInt()).isEqualTo(503);
    assertThat(n.get("sent").asLong()).isEqualTo(1234567890123L);
    assertThat(n.get("missing").isNull()).isTrue();
    assertThat(n.get("mixed").asText()).isEqualTo("GET \"10.0.0.7:9080\"\t-");
    assertThat(n.get("remote").asText()).isEqualTo("10.1.2.3");
    assertThat(n.get("k\"ey").asText()).isEqualTo("lit");
    assertThat(n.get("cut").asText()).isEqualTo("u");
  }

  @Test
  void manyLinesAccumulateInOneBufferWithoutAllocatingPerLine() {
    AccessLogFormat f = AccessLogFormat.compile(new AccessLogConfig(null, AccessLogConfig.ENVOY_DEFAULT_FORMAT, null), req, resp);
    AccessLogRecord r = record(System.currentTimeMillis());
    r.requestHeaders[req.indexOf(":path")] = "/plain";
    LineBuffer b = new LineBuffer(1 << 20);
    var mx = (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
    for (int i = 0; i < 50_000; i++) { // warm-up (JIT)
      b.setLength(0);
      f.format(r, b);
    }
    int one = b.length();
    b.setLength(0);
    long before = mx.getCurrentThreadAllocatedBytes();
    for (int i = 0; i < 1000; i++) {
      f.format(r, b);
    }
    long allocated = mx.getCurrentThreadAllocatedBytes() - before;
    assertThat(b.length()).isEqualTo(1000 * one);
    assertThat(allocated / 1000.0).as("bytes allocated per formatted line").isLessThan(1.0);
  }
}
