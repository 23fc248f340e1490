package io.keelson.dataplane.filter.extauthz;

import io.envoyproxy.envoy.type.matcher.v3.MetadataMatcher;
import io.keelson.dataplane.config.envoy.MatchTranslator;
import io.keelson.dataplane.filter.ConfigErrors;
import io.keelson.dataplane.filter.DynamicMetadata;
import io.keelson.dataplane.route.ValueMatch;

/**
 * ext_authz's {@code filter_enabled_metadata}: the filter checks a request only when the value at
 * {@code filter}/{@code path} of the request's dynamic metadata matches (Istio's CUSTOM action enables it from
 * the shadow RBAC filter's {@code istio_ext_authz_shadow_effective_policy_id}). Supports string_match,
 * bool_match and present_match, with invert. Immutable and thread-safe; matching allocates nothing.
 */
record EnabledMetadata(String filter, String[] path, ValueMatch string, Boolean bool, Boolean present, boolean invert) {

  boolean matches(DynamicMetadata metadata) {
    Object v = metadata == null ? null : metadata.value(filter, path);
    boolean m;
    if (string != null) {
      m = v instanceof String s && string.matches(s);
    } else if (bool != null) {
      m = v instanceof Boolean b && b.booleanValue() == bool;
    } else {
      m = (v != null) == present;
    }
    return m != invert;
  }

  /** The matcher, or null after reporting what is wrong. */
  static EnabledMetadata from(MetadataMatcher m, String path, ConfigErrors errors) {
    boolean ok = true;
    if (m.getFilter().isEmpty()) {
      errors.error(path + ".filter", "a filter namespace is required, e.g. envoy.filters.http.rbac");
      ok = false;
    }
    if (m.getPathCount() == 0) {
      errors.error(path + ".path", "at least one key is required");
      ok = false;
    }
    String[] keys = new String[m.getPathCount()];
    for (int i = 0; i < keys.length; i++) {
      if (!m.getPath(i).hasKey()) {
        errors.error(path + ".path[" + i + "]", "a key is required");
        ok = false;
      }
      keys[i] = m.getPath(i).getKey();
    }
    var v = m.getValue();
    switch (v.getMatchPatternCase()) {
      case STRING_MATCH -> {
        ValueMatch s = MatchTranslator.stringMatcher(v.getStringMatch(), path + ".value.string_match", errors);
        return ok && s != null ? new EnabledMetadata(m.getFilter(), keys, s, null, null, m.getInvert()) : null;
      }
      case BOOL_MATCH -> {
        return ok ? new EnabledMetadata(m.getFilter(), keys, null, v.getBoolMatch(), null, m.getInvert()) : null;
      }
      case PRESENT_MATCH -> {
        return ok ? new EnabledMetadata(m.getFilter(), keys, null, null, v.getPresentMatch(), m.getInvert()) : null;
      }
      default -> {
        errors.error(path + ".value", "expected string_match, bool_match or present_match");
        return null;
      }
    }
  }
}
