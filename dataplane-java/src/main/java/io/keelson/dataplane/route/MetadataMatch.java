package io.keelson.dataplane.route;

import io.keelson.dataplane.filter.DynamicMetadata;
import java.util.List;

/**
 * Envoy's {@code RouteMatch.dynamic_metadata} (a {@code MetadataMatcher}): the value at {@code filter}/{@code path} of
 * the request's dynamic metadata against a value matcher, {@code invert} negating the result. Routes are first chosen
 * before any filter ran, when there is no metadata (an absent value matches nothing, so an inverted matcher matches);
 * a filter that clears the route cache (jwt_authn's {@code clear_route_cache}) has the route chosen again with the
 * metadata it left, as Envoy does. Istio's JWT claim routes read {@code istio_authn} / {@code request.auth.claims}.
 * Immutable and thread-safe; matching allocates nothing.
 */
public record MetadataMatch(String filter, String[] path, Value value, boolean invert) {

  /** Whether the value in {@code metadata} (null: none yet) matches. */
  public boolean matches(DynamicMetadata metadata) {
    Object v = metadata == null ? null : metadata.value(filter, path);
    return value.matches(v) != invert;
  }

  @Override
  public String toString() {
    return "MetadataMatch[" + filter + " " + String.join(".", path) + " " + value + (invert ? " inverted" : "") + "]";
  }

  /** Envoy's ValueMatcher, for the kinds Keelson supports. */
  public sealed interface Value {
    boolean matches(Object value);
  }

  /** string_match: a string value matches; anything else (a list, a number, absent) does not, as Envoy. */
  public record StringValue(ValueMatch match) implements Value {
    @Override
    public boolean matches(Object value) {
      return value instanceof String s && match.matches(s);
    }
  }

  /** bool_match. */
  public record BoolValue(boolean expected) implements Value {
    @Override
    public boolean matches(Object value) {
      return value instanceof Boolean b && b == expected;
    }
  }

  /** present_match: a value is there (true) or absent (false). */
  public record Present(boolean present) implements Value {
    @Override
    public boolean matches(Object value) {
      return (value != null) == present;
    }
  }

  /** list_match.one_of: the value is a list and one of its elements matches. */
  public record OneOf(Value element) implements Value {
    @Override
    public boolean matches(Object value) {
      if (!(value instanceof List<?> list)) {
        return false;
      }
      for (int i = 0, n = list.size(); i < n; i++) {
        if (element.matches(list.get(i))) {
          return true;
        }
      }
      return false;
    }
  }
}
