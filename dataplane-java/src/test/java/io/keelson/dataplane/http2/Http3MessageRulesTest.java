package io.keelson.dataplane.http2;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.keelson.dataplane.testing.H3Client;
import io.keelson.dataplane.testing.ProxyHarness;
import io.keelson.dataplane.testing.TestUpstream;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * What an HTTP/3 request may carry and how it is framed to an HTTP/1.1 backend, with Netty's HTTP/3 client over real
 * QUIC: the header size limit (max_request_headers_kb), connection-specific fields (RFC 9114 §4.2), a late FIN.
 */
class Http3MessageRulesTest extends Http3ListenerFixture {
  private int start(TestUpstream up, String hcmExtra) throws Exception {
    return startH3("{}", ProxyHarness.allTo("backend"), "", hcmExtra,
        ProxyHarness.cluster("backend", "ROUND_ROBIN", up.port())).listenerAddress("h3").getPort();
  }

  @Test
  void twentyKibOfHeadersPassUnderTheDefaultLimitAndAreRefusedOverAConfiguredOne() throws Exception {
    TestUpstream up = proxies.keep(new TestUpstream("backend"));
    String big = "a".repeat(20 * 1024);
    try (H3Client client = new H3Client(start(up, ""))) {
      H3Client.Response r = client.send("GET", "/big", "x-big", big).get(30, TimeUnit.SECONDS);
      assertThat(r.status()).isEqualTo(200);
      assertThat(r.bodyText()).contains("x-big: " + big);
    }
    proxies.close();

    TestUpstream small = proxies.keep(new TestUpstream("backend"));
    try (H3Client client = new H3Client(start(small, "          max_request_headers_kb: 10\n"))) {
      assertThatThrownBy(() -> client.send("GET", "/too-big", "x-big", big).get(30, TimeUnit.SECONDS))
          .as("20 KiB of headers over a 10 KiB limit").isNotNull();
    }
    assertThat(small.requests.get()).isZero();
  }

  @Test
  void aGetWhoseFinComesAfterItsHeadersIsForwardedWithoutTransferEncoding() throws Exception {
    TestUpstream up = proxies.keep(new TestUpstream("backend"));
    try (H3Client client = new H3Client(start(up, ""))) {
      H3Client.Response r = client.sendHeadThenFin("GET", "/late-fin", 30).get(30, TimeUnit.SECONDS);
      assertThat(r.status()).isEqualTo(200);
      assertThat(r.bodyText()).startsWith("GET /late-fin\n").doesNotContain("transfer-encoding").contains("body-bytes: 0");
    }
  }

  @Test
  void connectionSpecificFieldsMakeTheRequestMalformedButTeTrailersPasses() throws Exception {
    TestUpstream up = proxies.keep(new TestUpstream("backend"));
    try (H3Client client = new H3Client(start(up, ""))) {
      for (List<String> field : List.of(List.of("connection", "close"), List.of("keep-alive", "timeout=5"),
          List.of("proxy-connection", "keep-alive"), List.of("transfer-encoding", "chunked"),
          List.of("upgrade", "websocket"), List.of("te", "gzip"))) {
        assertThatThrownBy(() -> client.send("GET", "/" + field.get(0), field.get(0), field.get(1))
            .get(30, TimeUnit.SECONDS)).as(field.get(0)).isNotNull();
      }
      H3Client.Response trailers = client.send("GET", "/te-trailers", "te", "trailers").get(30, TimeUnit.SECONDS);
      assertThat(trailers.status()).isEqualTo(200);
    }
    assertThat(up.requestLines).containsExactly("GET /te-trailers HTTP/1.1");
  }
}
