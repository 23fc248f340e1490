package io.keelson.dataplane.accesslog;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.keelson.dataplane.config.AccessLogFilterConfig;
import io.keelson.dataplane.config.HeaderMutations;
import io.keelson.dataplane.config.LocalReplyConfig;
import io.keelson.dataplane.config.LocalReplyConfig.BodyFormat;
import io.keelson.dataplane.config.LocalReplyConfig.Mapper;
import io.keelson.dataplane.route.HeaderMatch;
import io.keelson.dataplane.route.TestRequest;
import io.keelson.dataplane.stats.ResponseFlag;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The local_reply_config logic of Envoy's local_reply.cc: mapper choice, status rewrite, body, format and content type. */
class LocalReplyRendererTest {
  private static final AccessLogFilterConfig IS_404 = new AccessLogFilterConfig.StatusCode(AccessLogFilterConfig.Op.EQ, 404);
  private static final BodyFormat JSON = new BodyFormat(null, Map.of("code", "%RESPONSE_CODE%"), null);

  private static LocalReplyRenderer.Reply render(LocalReplyConfig c, int status, String body, TestRequest request) {
    return LocalReplyRenderer.compile(c).render(status, body.getBytes(StandardCharsets.UTF_8), ResponseFlag.NONE, request,
        request == null ? null : request.path(), "HTTP/1.1");
  }

  private static Map<String, String> ordered(String... keysAndValues) {
    Map<String, String> m = new java.util.LinkedHashMap<>();
    for (int i = 0; i < keysAndValues.length; i += 2) {
      m.put(keysAndValues[i], keysAndValues[i + 1]);
    }
    return m;
  }

  private static String body(LocalReplyRenderer.Reply r) {
    return new String(r.body, StandardCharsets.UTF_8);
  }

  @Test
  void rewritesNothingWithoutMappersOrBodyFormat() {
    assertThat(LocalReplyRenderer.compile(LocalReplyConfig.NONE)).isNull();
  }

  @Test
  void firstMatchingMapperRewritesStatusBodyAndHeadersAndFormatsWithTheNewCode() {
    var teapot = new Mapper(IS_404, 418, "short and stout",
        new BodyFormat("%LOCAL_REPLY_BODY% %RESPONSE_CODE% %REQ(:path)%", null, null),
        List.of(new HeaderMutations.HeaderValue("x-mapped", "yes", true)));
    var never = new Mapper(IS_404, 500, "second", null, List.of());
    var r = render(new LocalReplyConfig(List.of(teapot, never), JSON), 404, "", TestRequest.get("/nothing"));
    assertThat(r.status).isEqualTo(418);
    assertThat(body(r)).isEqualTo("short and stout 418 /nothing");
    assertThat(r.contentType).isEqualTo("text/plain");
    assertThat(r.headerLines).isEqualTo("x-mapped: yes\r\n");
  }

  @Test
  void unmatchedReplyGetsTheConfigBodyFormatAsJsonWithItsBodyKept() {
    var c = new LocalReplyConfig(List.of(new Mapper(IS_404, 418, null, null, List.of())),
        new BodyFormat(null, ordered("code", "%RESPONSE_CODE%", "path", "%REQ(:path)%", "message", "%LOCAL_REPLY_BODY%"), null));
    var r = render(c, 503, "no healthy upstream", TestRequest.get("/x"));
    assertThat(r.status).isEqualTo(503);
    assertThat(body(r)).isEqualTo("{\"code\":503,\"path\":\"/x\",\"message\":\"no healthy upstream\"}\n");
    assertThat(r.contentType).isEqualTo("application/json");
    assertThat(r.headerLines).isNull();
    assertThat(r.replacesContentType).isTrue(); // a new body: its type replaces a route's or a filter's
  }

  @Test
  void aMapperSettingContentTypeOrAnUnchangedBodyKeepsTheRepliesOwnContentType() {
    var typed = new Mapper(IS_404, 0, "x", null, List.of(new HeaderMutations.HeaderValue("content-type", "text/csv", false)));
    assertThat(render(new LocalReplyConfig(List.of(typed), null), 404, "", TestRequest.get("/")).replacesContentType).isFalse();
    var statusOnly = new Mapper(IS_404, 410, null, null, List.of());
    var r = render(new LocalReplyConfig(List.of(statusOnly), null), 404, "not here", TestRequest.get("/"));
    assertThat(r.status).isEqualTo(410);
    assertThat(r.replacesContentType).isFalse();
  }

  @Test
  void mapperWithoutAnyFormatKeepsItsBodyAsTextAndAnExplicitContentTypeWins() {
    var plain = new LocalReplyConfig(List.of(new Mapper(IS_404, 0, "gone", null, List.of())), null);
    var r = render(plain, 404, "", TestRequest.get("/"));
    assertThat(r.status).isEqualTo(404);
    assertThat(body(r)).isEqualTo("gone");
    assertThat(r.contentType).isEqualTo("text/plain");
    var html = new LocalReplyConfig(List.of(), new BodyFormat("<p>%LOCAL_REPLY_BODY%</p>", null, "text/html"));
    r = render(html, 503, "down", TestRequest.get("/"));
    assertThat(body(r)).isEqualTo("<p>down</p>");
    assertThat(r.contentType).isEqualTo("text/html");
  }

  @Test
  void headerFilterReadsTheRequestAndAReplyWithoutRequestMatchesNothingThere() {
    var debug = new Mapper(new AccessLogFilterConfig.Header(HeaderMatch.presence("x-debug", true, false)), 0, "debugging",
        null, List.of());
    var c = new LocalReplyConfig(List.of(debug), null);
    assertThat(body(render(c, 503, "down", TestRequest.get("/").header("x-debug", "1")))).isEqualTo("debugging");
    assertThat(body(render(c, 503, "down", TestRequest.get("/")))).isEqualTo("down");
    assertThat(body(render(c, 400, "bad", null))).isEqualTo("bad");
  }

  @Test
  void responseFlagFilterSeesTheReplysFlag() {
    var c = new LocalReplyConfig(List.of(new Mapper(new AccessLogFilterConfig.ResponseFlags(java.util.Set.of("UF")), 502,
        null, null, List.of())), null);
    var renderer = LocalReplyRenderer.compile(c);
    assertThat(renderer.render(503, new byte[0], ResponseFlag.UF, null, null, "HTTP/2").status).isEqualTo(502);
    assertThat(renderer.render(503, new byte[0], ResponseFlag.UH, null, null, "HTTP/2").status).isEqualTo(503);
  }

  @Test
  void refusesResponseHeaderOperatorsAndUnknownOperatorsNamingTheField() {
    assertThatThrownBy(() -> LocalReplyRenderer.compile(new LocalReplyConfig(List.of(), new BodyFormat("%RESP(x-a)%", null, null))))
        .hasMessageContaining("body_format").hasMessageContaining("%RESP(...)%");
    var bad = new Mapper(IS_404, 0, null, new BodyFormat("%NOPE%", null, null), List.of());
    assertThatThrownBy(() -> LocalReplyRenderer.compile(new LocalReplyConfig(List.of(bad), null)))
        .hasMessageContaining("mappers[0].body_format_override").hasMessageContaining("%NOPE%");
  }
}
