package io.keelson.dataplane.filter.csrf;

import com.google.protobuf.Message;
import io.envoyproxy.envoy.extensions.filters.http.csrf.v3.CsrfPolicy;
import io.keelson.dataplane.config.envoy.MatchTranslator;
import io.keelson.dataplane.filter.ConfigErrors;
import io.keelson.dataplane.filter.FilterResources;
import io.keelson.dataplane.filter.HttpFilter;
import io.keelson.dataplane.filter.HttpFilterFactory;
import io.keelson.dataplane.filter.Percents;
import io.keelson.dataplane.route.ValueMatch;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code envoy.filters.http.csrf}: a CsrfPolicy as the filter's typed_config and as a route's or virtual host's
 * typed_per_filter_config (the most specific replaces the others, as in Envoy). filter_enabled is required (as Envoy's
 * validation requires it); runtime keys are warned about by the field walk (default_value applies). Stateless.
 */
public final class CsrfFilterFactory implements HttpFilterFactory {
  @Override
  public String filterName() {
    return "envoy.filters.http.csrf";
  }

  @Override
  public Class<? extends Message> configType() {
    return CsrfPolicy.class;
  }

  @Override
  public Object translate(Message config, String path, ConfigErrors errors) {
    CsrfPolicy p = (CsrfPolicy) config;
    if (!p.hasFilterEnabled()) {
      errors.error(path + ".filter_enabled", "required (Envoy requires it): the share of requests to enforce the policy on");
      return null;
    }
    List<ValueMatch> origins = new ArrayList<>();
    boolean ok = true;
    for (int i = 0; i < p.getAdditionalOriginsCount(); i++) {
      ValueMatch m = MatchTranslator.stringMatcher(p.getAdditionalOrigins(i), path + ".additional_origins[" + i + "]", errors);
      ok &= m != null;
      if (m != null) {
        origins.add(m);
      }
    }
    if (!ok) {
      return null;
    }
    return new CsrfConfig(Percents.of(p.getFilterEnabled().getDefaultValue()),
        p.hasShadowEnabled() ? Percents.of(p.getShadowEnabled().getDefaultValue()) : null, origins);
  }

  @Override
  public HttpFilter create(Object settings, FilterResources resources) {
    return new CsrfFilter((CsrfConfig) settings, CsrfStats.of(resources), resources.random());
  }
}
