package io.keelson.dataplane.config;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * A listener's filter chains selected by the application protocol Envoy's {@code envoy.filters.listener.http_inspector}
 * detects in the first bytes ({@code http/1.0}, {@code http/1.1}, {@code h2c}, or none), as
 * {@code filter_chain_match.application_protocols}: the first chain that names the detected protocol, else the first
 * chain that names none (Istio's tcp_proxy chain of a port with no declared protocol), else none (the connection is
 * closed). Each chain is a listener config of its own. Immutable.
 *
 * @param chains            the chains, in source order
 * @param timeout           the listener's {@code listener_filters_timeout}: how long the inspector waits for bytes that
 *                          decide; {@link Duration#ZERO} waits without bound (Envoy: 0 disables the timeout)
 * @param continueOnTimeout {@code continue_on_listener_filters_timeout}: at the timeout the connection is served by the
 *                          chain for no detected protocol (a server-first protocol, whose client sends nothing, works);
 *                          false closes it
 */
public record ProtocolChains(List<Entry> chains, Duration timeout, boolean continueOnTimeout) {
  /** What the http_inspector reports for an HTTP/1.0 request line (Envoy's name). */
  public static final String HTTP10 = "http/1.0";
  /** What the http_inspector reports for an HTTP/1.1 request line. */
  public static final String HTTP11 = "http/1.1";
  /** What the http_inspector reports for the HTTP/2 prior-knowledge preface. */
  public static final String H2C = "h2c";
  /**
   * Every protocol the http_inspector reports, in Envoy's (and istiod's) order: what an HTTP chain lists in
   * {@code application_protocols}, and all a chain may list.
   */
  public static final List<String> HTTP_PROTOCOLS = List.of(HTTP10, HTTP11, H2C);

  /**
   * @param applicationProtocols the protocols this chain is for; empty for any (the chain for "none detected")
   * @param chain                what serves the matching connections
   */
  public record Entry(List<String> applicationProtocols, ListenerConfig chain) {
    public Entry {
      applicationProtocols = List.copyOf(applicationProtocols);
    }
  }

  public ProtocolChains {
    chains = List.copyOf(chains);
    if (timeout == null || timeout.isNegative()) {
      throw new IllegalArgumentException("listener_filters_timeout must be zero or positive, not " + timeout);
    }
  }

  /** The chain for a connection whose detected protocol is {@code detected} (null: none detected), or null. */
  public ListenerConfig select(String detected) {
    if (detected != null) {
      for (Entry e : chains) {
        if (e.applicationProtocols().contains(detected)) {
          return e.chain();
        }
      }
    }
    for (Entry e : chains) {
      if (e.applicationProtocols().isEmpty()) {
        return e.chain();
      }
    }
    return null;
  }

  /** Every chain config, in source order. */
  public List<ListenerConfig> all() {
    List<ListenerConfig> out = new ArrayList<>();
    chains.forEach(e -> out.add(e.chain()));
    return out;
  }
}
