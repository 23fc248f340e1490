package io.keelson.dataplane.filter.statefulsession;

import io.keelson.dataplane.config.EndpointConfig;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * One cluster's endpoints as stateful sessions name them: the base64 of the address as Envoy prints it
 * ({@code 10.0.0.1:8080}, {@code [::1]:8080}). A request's value is looked up as sent first (what Envoy and Keelson
 * write), so a sticky request decodes nothing; otherwise it is decoded, leniently: padding optional, and the encoded
 * {@code envoy.Cookie} message newer Envoys write (field 1: the address; its {@code expires}, on Envoy's monotonic
 * clock, is not checked). A value that is not base64 of an address is {@link #NONE} (as if the request carried none),
 * one that names no endpoint {@link #UNKNOWN}; neither is an error. Immutable after construction; built once per
 * cluster and snapshot by the balance stage.
 */
public final class SessionHosts {
  /** The request names no host: no value, or one that does not decode (Envoy then balances even when strict). */
  public static final int NONE = -1;
  /** The request names an address that is not an endpoint of the cluster. */
  public static final int UNKNOWN = -2;

  private final String[] encoded;
  private final Map<String, Integer> byEncoded;
  private final Map<String, Integer> byAddress;

  public SessionHosts(List<EndpointConfig> endpoints) {
    int n = endpoints.size();
    encoded = new String[n];
    byEncoded = HashMap.newHashMap(n);
    byAddress = HashMap.newHashMap(n);
    for (int i = 0; i < n; i++) {
      EndpointConfig e = endpoints.get(i);
      String address = address(e);
      encoded[i] = Base64.getEncoder().encodeToString(address.getBytes(StandardCharsets.UTF_8));
      byEncoded.putIfAbsent(encoded[i], i);
      byAddress.putIfAbsent(address, i);
    }
  }

  private static String address(EndpointConfig e) {
    return (e.host().indexOf(':') >= 0 ? "[" + e.host() + "]" : e.host()) + ":" + e.port();
  }

  /**
   * A retry (balanced without the session's host, as Envoy's) goes to endpoint {@code index} of {@code cluster}: the
   * response tells the client its session's host is that one, when the request has a stateful session. On the
   * connection's event loop.
   */
  public static void retriedOn(io.keelson.dataplane.filter.FilterContext policy,
      io.keelson.dataplane.config.ClusterConfig cluster, int index) {
    if (policy.session() != null && !cluster.isOriginalDst() && index < cluster.endpoints().size()) {
      String address = address(cluster.endpoints().get(index));
      policy.sessionServedBy(Base64.getEncoder().encodeToString(address.getBytes(StandardCharsets.UTF_8)));
    }
  }

  /** The encoded address of endpoint {@code index}. */
  public String encoded(int index) {
    return encoded[index];
  }

  /** The endpoint {@code value} names, {@link #NONE} or {@link #UNKNOWN}. */
  public int indexOf(String value) {
    if (value == null || value.isEmpty()) {
      return NONE;
    }
    Integer i = byEncoded.get(value);
    if (i != null) {
      return i;
    }
    String address = decode(value);
    if (address == null || address.isEmpty()) {
      return NONE;
    }
    i = byAddress.get(address);
    return i == null ? UNKNOWN : i;
  }

  /** The address a value names, or null when it is not base64 of an address or of an envoy.Cookie message. */
  static String decode(String value) {
    byte[] bytes;
    try {
      bytes = Base64.getDecoder().decode(pad(value));
    } catch (IllegalArgumentException e) {
      return null;
    }
    if (bytes.length > 1 && bytes[0] == 0x0a) { // envoy.Cookie: field 1 (address), length-delimited
      int len = bytes[1] & 0xff;
      return len < 0x80 && 2 + len <= bytes.length ? new String(bytes, 2, len, StandardCharsets.UTF_8) : null;
    }
    return new String(bytes, StandardCharsets.UTF_8);
  }

  private static String pad(String v) {
    int rest = v.length() % 4;
    return rest == 2 ? v + "==" : rest == 3 ? v + "=" : v;
  }
}
