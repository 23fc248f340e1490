package io.keelson.dataplane.security;

import java.util.Objects;
import java.util.regex.Pattern;

/**
 * A workload identity in Istio's SPIFFE shape, {@code spiffe://<trust-domain>/ns/<namespace>/sa/<service-account>}.
 * Immutable.
 */
public record SpiffeId(String trustDomain, String namespace, String serviceAccount) {
  private static final Pattern DOMAIN = Pattern.compile("[a-z0-9._-]{1,255}");
  private static final Pattern SEGMENT = Pattern.compile("[A-Za-z0-9._-]{1,253}");
  public static final String SCHEME = "spiffe://";

  public SpiffeId {
    Objects.requireNonNull(trustDomain, "trustDomain");
    Objects.requireNonNull(namespace, "namespace");
    Objects.requireNonNull(serviceAccount, "serviceAccount");
    if (!DOMAIN.matcher(trustDomain).matches()) {
      throw new IllegalArgumentException("trust domain '" + trustDomain
          + "' is not valid; expected lower-case letters, digits, '.', '-' or '_'");
    }
    check("namespace", namespace);
    check("service account", serviceAccount);
  }

  private static void check(String what, String value) {
    if (!SEGMENT.matcher(value).matches() || value.equals(".") || value.equals("..")) {
      throw new IllegalArgumentException(what + " '" + value
          + "' is not valid in a SPIFFE ID; expected letters, digits, '.', '-' or '_'");
    }
  }

  /** Parses {@code spiffe://td/ns/NS/sa/SA}; anything else is an IllegalArgumentException naming what was expected. */
  public static SpiffeId parse(String uri) {
    if (uri == null || !uri.startsWith(SCHEME)) {
      throw new IllegalArgumentException("'" + uri + "' is not a SPIFFE ID; expected spiffe://<trust-domain>/ns/<ns>/sa/<sa>");
    }
    String[] parts = uri.substring(SCHEME.length()).split("/", -1);
    if (parts.length != 5 || !parts[1].equals("ns") || !parts[3].equals("sa")) {
      throw new IllegalArgumentException("'" + uri + "' is not a SPIFFE ID; expected spiffe://<trust-domain>/ns/<ns>/sa/<sa>");
    }
    return new SpiffeId(parts[0], parts[2], parts[4]);
  }

  /** The URI, e.g. {@code spiffe://cluster.local/ns/default/sa/web}. */
  public String uri() {
    return SCHEME + trustDomain + "/ns/" + namespace + "/sa/" + serviceAccount;
  }

  /** The principal form Istio's AuthorizationPolicy uses: the URI without its scheme. */
  public String principal() {
    return trustDomain + "/ns/" + namespace + "/sa/" + serviceAccount;
  }

  @Override
  public String toString() {
    return uri();
  }
}
