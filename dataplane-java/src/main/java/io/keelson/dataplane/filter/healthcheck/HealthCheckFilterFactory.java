package io.keelson.dataplane.filter.healthcheck;

import com.google.protobuf.Message;
import io.envoyproxy.envoy.extensions.filters.http.health_check.v3.HealthCheck;
import io.keelson.dataplane.config.envoy.MatchTranslator;
import io.keelson.dataplane.filter.ConfigErrors;
import io.keelson.dataplane.filter.FilterResources;
import io.keelson.dataplane.filter.HttpFilter;
import io.keelson.dataplane.filter.HttpFilterFactory;
import io.keelson.dataplane.route.HeaderMatch;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code envoy.filters.http.health_check}: translates HealthCheck into {@link HealthCheckConfig} and compiles
 * {@link HealthCheckFilter} over the process's {@link io.keelson.dataplane.stats.ServerState}. Stateless.
 */
public final class HealthCheckFilterFactory implements HttpFilterFactory {
  @Override
  public String filterName() {
    return "envoy.filters.http.health_check";
  }

  @Override
  public Class<? extends Message> configType() {
    return HealthCheck.class;
  }

  @Override
  public Object translate(Message message, String path, ConfigErrors errors) {
    HealthCheck c = (HealthCheck) message;
    boolean ok = true;
    if (!c.hasPassThroughMode()) {
      errors.error(path + ".pass_through_mode", "pass_through_mode is required (Envoy requires it too); expected true or false");
      ok = false;
    }
    List<HeaderMatch> headers = new ArrayList<>();
    for (int i = 0; i < c.getHeadersCount(); i++) {
      HeaderMatch m = MatchTranslator.headerMatch(c.getHeaders(i), path + ".headers[" + i + "]", errors);
      if (m == null) {
        ok = false;
      } else {
        headers.add(m);
      }
    }
    return ok ? new HealthCheckConfig(c.getPassThroughMode().getValue(), headers) : null;
  }

  @Override
  public HttpFilter create(Object settings, FilterResources resources) {
    return new HealthCheckFilter((HealthCheckConfig) settings, resources.stats().server());
  }
}
