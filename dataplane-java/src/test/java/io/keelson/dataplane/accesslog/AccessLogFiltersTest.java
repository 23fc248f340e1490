package io.keelson.dataplane.accesslog;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.keelson.dataplane.cel.CelSyntaxException;
import io.keelson.dataplane.config.AccessLogFilterConfig;
import io.keelson.dataplane.config.AccessLogFilterConfig.Op;
import io.keelson.dataplane.route.HeaderMatch;
import io.keelson.dataplane.route.ValueMatch;
import io.keelson.dataplane.stats.ResponseFlag;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class AccessLogFiltersTest {
  private final LogFields fields = new LogFields();

  private AccessLogFilter compile(AccessLogFilterConfig c) {
    return AccessLogFilters.compile(c, fields);
  }

  private AccessLogFilter cel(String expression) {
    return compile(new AccessLogFilterConfig.Cel(expression));
  }

  /** A record with the request and response header values given as name, value pairs in the logger's slots. */
  private AccessLogRecord record(int status, String... headers) {
    AccessLogRecord r = new AccessLogRecord();
    r.status = status;
    r.method = "GET";
    r.path = "/api/items?page=2";
    r.protocol = "HTTP/1.1";
    r.logType = AccessLogRecord.DOWNSTREAM_END;
    r.requestHeaders = new String[fields.requestHeaders.size()];
    r.responseHeaders = new String[fields.responseHeaders.size()];
    for (int i = 0; i < headers.length; i += 2) {
      String name = headers[i];
      boolean response = name.startsWith("resp:");
      List<String> names = response ? fields.responseHeaders : fields.requestHeaders;
      int slot = names.indexOf(response ? name.substring(5) : name);
      if (slot >= 0) {
        (response ? r.responseHeaders : r.requestHeaders)[slot] = headers[i + 1];
      }
    }
    return r;
  }

  @Test
  void statusCodeComparesAsEnvoyWithZeroWithoutAResponse() {
    AccessLogFilter ge = compile(new AccessLogFilterConfig.StatusCode(Op.GE, 400));
    assertThat(ge.test(record(404))).isTrue();
    assertThat(ge.test(record(200))).isFalse();
    assertThat(compile(new AccessLogFilterConfig.StatusCode(Op.EQ, 0)).test(record(0))).isTrue();
    assertThat(compile(new AccessLogFilterConfig.StatusCode(Op.LE, 299)).test(record(503))).isFalse();
  }

  @Test
  void durationComparesWholeMilliseconds() {
    AccessLogFilter slow = compile(new AccessLogFilterConfig.Duration(Op.GE, 100));
    AccessLogRecord r = record(200);
    r.durationNanos = 99_999_999;
    assertThat(slow.test(r)).isFalse();
    r.durationNanos = 100_000_000;
    assertThat(slow.test(r)).isTrue();
  }

  @Test
  void healthCheckAndTraceableFiltersBehaveAsEnvoyWithoutHealthChecksOrForcedTraces() {
    assertThat(compile(new AccessLogFilterConfig.NotHealthCheck()).test(record(200))).isTrue();
    assertThat(compile(new AccessLogFilterConfig.Traceable()).test(record(200))).isFalse();
  }

  @Test
  void headerFilterReusesTheRouteHeaderMatcher() {
    AccessLogFilter f = compile(new AccessLogFilterConfig.Header(
        HeaderMatch.value("X-User", ValueMatch.prefix("ali", false), false, false)));
    assertThat(fields.requestHeaders).containsExactly("x-user");
    assertThat(f.test(record(200, "x-user", "alice"))).isTrue();
    assertThat(f.test(record(200, "x-user", "bob"))).isFalse();
    assertThat(f.test(record(200))).isFalse();
    AccessLogFilter path = compile(new AccessLogFilterConfig.Header(
        HeaderMatch.value(":path", ValueMatch.exact("/api/items?page=2", false), false, false)));
    assertThat(path.test(record(200))).isTrue();
    assertThat(new AccessLogFilterConfig.Header(HeaderMatch.value("x-user", ValueMatch.prefix("ali", false), false, false)))
        .as("equal configs compare equal: an unchanged listener is not rebuilt").isEqualTo(new AccessLogFilterConfig.Header(
            HeaderMatch.value("X-User", ValueMatch.prefix("ali", false), false, false)));
  }

  @Test
  void responseFlagFilterMatchesNamedFlagsOrAnyFlag() {
    AccessLogRecord uf = record(503);
    uf.flag = ResponseFlag.UF;
    AccessLogRecord none = record(200);
    assertThat(compile(new AccessLogFilterConfig.ResponseFlags(Set.of())).test(uf)).isTrue();
    assertThat(compile(new AccessLogFilterConfig.ResponseFlags(Set.of())).test(none)).isFalse();
    assertThat(compile(new AccessLogFilterConfig.ResponseFlags(Set.of("UH", "UF"))).test(uf)).isTrue();
    assertThat(compile(new AccessLogFilterConfig.ResponseFlags(Set.of("NR"))).test(uf)).isFalse();
  }

  @Test
  void grpcStatusFilterReadsTheStatusOrInfersItFromHttp() {
    AccessLogFilter unavailable = compile(new AccessLogFilterConfig.GrpcStatus(Set.of(14), false));
    assertThat(fields.grpcStatus).isTrue();
    AccessLogRecord r = record(200);
    r.grpcStatus = "14";
    assertThat(unavailable.test(r)).isTrue();
    r.grpcStatus = "0";
    assertThat(unavailable.test(r)).isFalse();
    assertThat(unavailable.test(record(503))).isTrue(); // no grpc-status: 503 is UNAVAILABLE
    AccessLogFilter notOk = compile(new AccessLogFilterConfig.GrpcStatus(Set.of(0), true));
    assertThat(notOk.test(r)).isFalse();
    assertThat(notOk.test(record(200))).isTrue(); // 200 without grpc-status infers UNKNOWN
  }

  @Test
  void logTypeFilterSelectsTcpEntries() {
    AccessLogFilter end = compile(new AccessLogFilterConfig.LogType(Set.of(AccessLogRecord.TCP_CONNECTION_END), false));
    AccessLogRecord r = record(0);
    r.logType = AccessLogRecord.TCP_PERIODIC;
    assertThat(end.test(r)).isFalse();
    r.logType = AccessLogRecord.TCP_CONNECTION_END;
    assertThat(end.test(r)).isTrue();
  }

  @Test
  void andAndOrCombine() {
    AccessLogFilterConfig errors = new AccessLogFilterConfig.StatusCode(Op.GE, 500);
    AccessLogFilterConfig notFound = new AccessLogFilterConfig.StatusCode(Op.EQ, 404);
    AccessLogFilter or = compile(new AccessLogFilterConfig.Or(List.of(errors, notFound)));
    assertThat(or.test(record(404))).isTrue();
    assertThat(or.test(record(403))).isFalse();
    AccessLogFilter and = compile(new AccessLogFilterConfig.And(List.of(errors, new AccessLogFilterConfig.StatusCode(Op.LE, 502))));
    assertThat(and.test(record(502))).isTrue();
    assertThat(and.test(record(503))).isFalse();
  }

  @Test
  void celComparesAttributesAndHeaders() {
    AccessLogFilter f = cel("response.code >= 400 && request.headers['x-user'] == 'alice'");
    assertThat(f.test(record(503, "x-user", "alice"))).isTrue();
    assertThat(f.test(record(503, "x-user", "bob"))).isFalse();
    assertThat(f.test(record(200, "x-user", "alice"))).isFalse();
    assertThat(cel("request.method in ['GET', 'HEAD'] && request.url_path.startsWith('/api/')").test(record(200))).isTrue();
    assertThat(cel("request.path.endsWith('page=2') && !request.url_path.contains('page')").test(record(200))).isTrue();
    assertThat(cel("response.code in [404, 503]").test(record(503))).isTrue();
    assertThat(cel("'x-debug' in request.headers || has(response.headers.server)").test(record(200, "resp:server", "envoy"))).isTrue();
    AccessLogRecord slow = record(200);
    slow.durationNanos = 1_500_000_000L;
    assertThat(cel("request.duration > duration('1s')").test(slow)).isTrue();
    assertThat(cel("request.duration > duration('1m')").test(slow)).isFalse();
  }

  @Test
  void celConnectionAndUpstreamAttributes() {
    AccessLogRecord r = record(200);
    r.downstreamRemoteAddress = "10.0.0.7:51000";
    r.downstreamLocalAddress = new InetSocketAddress("127.0.0.1", 8080);
    r.downstreamPeerUriSan = "spiffe://cluster.local/ns/default/sa/client";
    r.upstreamCluster = "backend";
    assertThat(cel("source.address.startsWith('10.0.0.7:') && source.port == 51000").test(r)).isTrue();
    assertThat(cel("destination.port == 8080 && destination.address == '127.0.0.1:8080'").test(r)).isTrue();
    assertThat(cel("connection.mtls && xds.cluster_name == 'backend'").test(r)).isTrue();
    r.flag = ResponseFlag.UF;
    assertThat(cel("response.flags == 32").test(r)).isTrue(); // Envoy's UpstreamConnectionFailure bit
  }

  @Test
  void celErrorsFollowCelLogicAndDoNotLog() {
    // a missing header is an error: alone it does not log; && false and || true absorb it
    assertThat(cel("request.headers['x-user'] == 'alice'").test(record(200))).isFalse();
    assertThat(cel("!(request.headers['x-user'] == 'alice')").test(record(200))).isFalse();
    assertThat(cel("request.headers['x-user'] == 'alice' || response.code == 200").test(record(200))).isTrue();
    assertThat(cel("response.code == 404 && request.headers['x-user'] == 'alice'").test(record(200))).isFalse();
    assertThat(cel("response.code >= 400").test(record(0))).isFalse(); // no response code (TCP): missing
  }

  @Test
  void celRefusesUnsupportedFormsWithTheColumn() {
    assertThatThrownBy(() -> cel("response.cod >= 400")).isInstanceOf(CelSyntaxException.class)
        .hasMessageStartingWith("CEL expression 'response.cod >= 400' at column 1: attribute 'response.cod' is not supported;"
            + " expected one of response.code,");
    assertThatThrownBy(() -> cel("response.code >= '400'"))
        .hasMessage("CEL expression 'response.code >= '400'' at column 15: no matching overload for int >= string;"
            + " expected both sides of one type");
    assertThatThrownBy(() -> cel("response.code"))
        .hasMessage("CEL expression 'response.code' at column 1: expected a bool expression, got int");
    assertThatThrownBy(() -> cel("request.path.matches('^/a')"))
        .hasMessageContaining("at column 13: method .matches() is not supported");
    assertThatThrownBy(() -> cel("size(request.path) > 3"))
        .hasMessageContaining("at column 1: function size() is not supported");
    assertThatThrownBy(() -> cel("request.headers[request.path] == 'a'"))
        .hasMessageContaining("at column 17: expected a header name as a string literal");
  }
}
