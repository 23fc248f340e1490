package io.keelson.dataplane.filter.csrf;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** The host-and-port the CSRF filter compares, read as Envoy's hostAndPort reads an Origin or Referer value. */
class OriginHostTest {
  @Test
  void anAbsoluteUrlGivesItsAuthorityWithThePortAsWritten() {
    assertThat(OriginHost.of("https://app.example.com")).isEqualTo("app.example.com");
    assertThat(OriginHost.of("http://app.example.com:8080")).isEqualTo("app.example.com:8080");
    assertThat(OriginHost.of("https://app.example.com:443/")).isEqualTo("app.example.com:443");
    assertThat(OriginHost.of("http://[::1]:8080")).isEqualTo("[::1]:8080");
  }

  @Test
  void aRefererLosesItsPathQueryFragmentAndUserinfo() {
    assertThat(OriginHost.of("https://app.example.com/form/page?x=1")).isEqualTo("app.example.com");
    assertThat(OriginHost.of("https://app.example.com?x=1")).isEqualTo("app.example.com");
    assertThat(OriginHost.of("https://app.example.com#top")).isEqualTo("app.example.com");
    assertThat(OriginHost.of("https://user:pw@app.example.com:8443/x")).isEqualTo("app.example.com:8443");
  }

  @Test
  void aValueThatIsNotAnAbsoluteUrlIsComparedWhole() {
    assertThat(OriginHost.of("null")).isEqualTo("null");
    assertThat(OriginHost.of("app.example.com")).isEqualTo("app.example.com");
    assertThat(OriginHost.of("://app.example.com")).isEqualTo("://app.example.com");
    assertThat(OriginHost.of("1http://x")).isEqualTo("1http://x");
    assertThat(OriginHost.of("http://")).isEqualTo("http://");
    assertThat(OriginHost.of("http://a b")).isEqualTo("http://a b");
  }

  @Test
  void anAuthorityWithACharacterOutsideRfc3986IsComparedWhole() {
    // Envoy's URL parser fails on these; a split at the last '@' would make them same-origin with example.com
    assertThat(OriginHost.of("http://evil.com\\@example.com")).isEqualTo("http://evil.com\\@example.com");
    assertThat(OriginHost.of("https://a\"b@example.com")).isEqualTo("https://a\"b@example.com");
    assertThat(OriginHost.of("https://a{b}@example.com")).isEqualTo("https://a{b}@example.com");
    assertThat(OriginHost.of("https://é@example.com")).isEqualTo("https://é@example.com");
    assertThat(OriginHost.of("https://u%40x!$&'()*+,;=~_-.:pw@example.com:8443"))
        .isEqualTo("example.com:8443");
  }

  @Test
  void theSpanPointsIntoTheValueWithoutCopying() {
    String v = "https://app.example.com:8443/path";
    long span = OriginHost.span(v);
    assertThat(v.substring(OriginHost.from(span), OriginHost.to(span))).isEqualTo("app.example.com:8443");
  }
}
