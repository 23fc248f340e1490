package io.keelson.control.security;

import io.envoyproxy.envoy.config.rbac.v3.Principal;
import io.envoyproxy.envoy.type.matcher.v3.ListMatcher;
import io.envoyproxy.envoy.type.matcher.v3.MetadataMatcher;
import io.envoyproxy.envoy.type.matcher.v3.RegexMatcher;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import io.envoyproxy.envoy.type.matcher.v3.ValueMatcher;
import java.util.ArrayList;
import java.util.List;

/**
 * RBAC principals on a verified JWT, as Istio writes them: metadata matchers on the {@code istio_authn}
 * namespace ({@code request.auth.principal} = {@code iss/sub}, {@code request.auth.audiences},
 * {@code request.auth.presenter}; {@code request.auth.claims} with one path key per {@code [name]},
 * matched as a list). Values use Istio's wildcards: {@code *} = present, {@code prefix*}, {@code *suffix}.
 * Stateless.
 */
final class JwtPrincipals {
  static final String ISTIO_AUTHN = "istio_authn";

  private JwtPrincipals() {}

  /** {@code requestPrincipals} / {@code notRequestPrincipals} values ({@code iss/sub}). */
  static Principal requestPrincipal(String v) {
    return attribute("request.auth.principal", v);
  }

  /** A {@code when} on {@code request.auth.principal}, {@code .audiences} or {@code .presenter}. */
  static Principal attribute(String key, String v) {
    return metadata(List.of(key), ValueMatcher.newBuilder().setStringMatch(string(v)).build());
  }

  /** A {@code when} on {@code request.auth.claims[a][b]...}: one of the claim's values matches. */
  static Principal claim(String key, String v) {
    List<String> path = new ArrayList<>();
    path.add("request.auth.claims");
    String rest = key.substring("request.auth.claims".length());
    while (rest.startsWith("[")) {
      int end = rest.indexOf(']');
      path.add(rest.substring(1, end));
      rest = rest.substring(end + 1);
    }
    return metadata(path, ValueMatcher.newBuilder().setListMatch(ListMatcher.newBuilder()
        .setOneOf(ValueMatcher.newBuilder().setStringMatch(string(v)))).build());
  }

  private static Principal metadata(List<String> path, ValueMatcher value) {
    MetadataMatcher.Builder m = MetadataMatcher.newBuilder().setFilter(ISTIO_AUTHN).setValue(value);
    path.forEach(k -> m.addPath(MetadataMatcher.PathSegment.newBuilder().setKey(k)));
    return Principal.newBuilder().setMetadata(m).build();
  }

  private static StringMatcher string(String v) {
    if (v.equals("*")) {
      return StringMatcher.newBuilder().setSafeRegex(RegexMatcher.newBuilder().setRegex(".+")).build();
    }
    if (v.startsWith("*")) {
      return StringMatcher.newBuilder().setSuffix(v.substring(1)).build();
    }
    if (v.endsWith("*")) {
      return StringMatcher.newBuilder().setPrefix(v.substring(0, v.length() - 1)).build();
    }
    return StringMatcher.newBuilder().setExact(v).build();
  }
}
