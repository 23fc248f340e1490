package io.keelson.dataplane.config.envoy;

import io.envoyproxy.envoy.config.core.v3.SubstitutionFormatString;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.LocalReplyConfig;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.ResponseMapper;
import io.keelson.dataplane.accesslog.LocalReplyRenderer;
import io.keelson.dataplane.config.AccessLogFilterConfig;
import io.keelson.dataplane.config.HeaderMutations;
import java.util.ArrayList;
import java.util.List;

/**
 * Translates the connection manager's {@code local_reply_config}: mapper filters are access-log filters and body formats
 * are access-log formats (with {@code %LOCAL_REPLY_BODY%}); body data sources are read here, once. Stateless.
 */
final class LocalReplyTranslator {
  private LocalReplyTranslator() {}

  /** The config ({@link io.keelson.dataplane.config.LocalReplyConfig#NONE} when absent), or null after reporting. */
  static io.keelson.dataplane.config.LocalReplyConfig translate(LocalReplyConfig c, String path, Problems problems) {
    int before = problems.count();
    List<io.keelson.dataplane.config.LocalReplyConfig.Mapper> mappers = new ArrayList<>();
    for (int i = 0; i < c.getMappersCount(); i++) {
      var m = mapper(c.getMappers(i), path + ".mappers[" + i + "]", problems);
      if (m != null) {
        mappers.add(m);
      }
    }
    var body = c.hasBodyFormat() ? bodyFormat(c.getBodyFormat(), path + ".body_format", problems) : null;
    if (problems.count() != before) {
      return null;
    }
    var config = new io.keelson.dataplane.config.LocalReplyConfig(mappers, body);
    try {
      LocalReplyRenderer.compile(config);
    } catch (IllegalArgumentException e) {
      problems.error(path, e.getMessage());
      return null;
    }
    return config;
  }

  private static io.keelson.dataplane.config.LocalReplyConfig.Mapper mapper(ResponseMapper m, String at, Problems problems) {
    if (!m.hasFilter()) {
      problems.error(at + ".filter", "a mapper needs a filter (an access log filter, e.g. status_code_filter)");
      return null;
    }
    AccessLogFilterConfig filter = AccessLogFilterTranslator.translate(m.getFilter(), at + ".filter", problems);
    int status = 0;
    if (m.hasStatusCode()) {
      status = m.getStatusCode().getValue();
      if (status < 200 || status > 599) {
        problems.error(at + ".status_code", status + " is out of range; expected 200-599");
      }
    }
    String body = m.hasBody() ? DataSources.text(m.getBody(), at + ".body", problems) : null;
    var format = m.hasBodyFormatOverride() ? bodyFormat(m.getBodyFormatOverride(), at + ".body_format_override", problems) : null;
    List<HeaderMutations.HeaderValue> headers =
        HeaderMutationTranslator.additions(m.getHeadersToAddList(), at + ".headers_to_add",
            HeaderMutationTranslator.LOCAL_REPLY_REFUSED, problems);
    for (int i = 0; i < m.getHeadersToAddCount(); i++) { // by the field's own index (refused entries are left out)
      if (m.getHeadersToAdd(i).getHeader().getValue().indexOf('%') >= 0) {
        problems.error(at + ".headers_to_add[" + i + "].header.value",
            "command operators (%...%) in a local reply header are not supported; expected a plain value");
      }
    }
    return filter == null ? null : new io.keelson.dataplane.config.LocalReplyConfig.Mapper(filter, status, body, format, headers);
  }

  private static io.keelson.dataplane.config.LocalReplyConfig.BodyFormat bodyFormat(SubstitutionFormatString f, String at,
      Problems problems) {
    if (f.getFormatCase() == SubstitutionFormatString.FormatCase.FORMAT_NOT_SET) {
      problems.error(at, "expected one of text_format, text_format_source or json_format");
      return null;
    }
    var log = AccessLogTranslator.format(null, f, at, problems);
    return log == null ? null
        : new io.keelson.dataplane.config.LocalReplyConfig.BodyFormat(log.textFormat(), log.jsonFormat(), f.getContentType());
  }
}
