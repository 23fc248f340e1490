package io.keelson.dataplane.edge;

import io.keelson.dataplane.config.HttpConnectionManagerConfig;
import io.keelson.dataplane.config.InternalAddresses;
import java.net.InetSocketAddress;

/**
 * One downstream connection's half of Envoy's {@code ConnectionManagerUtility::mutateRequestHeaders}, applied to
 * each request head before it is routed: picks the downstream address (the peer with use_remote_address, else
 * the x-forwarded-for entry {@code xff_num_trusted_hops} from the right; the peer's with use_remote_address and
 * trusted hops, the entry before them), decides whether the request is internal (the address is in
 * {@code internal_address_config} and, as in Envoy, x-forwarded-for held a single address or none with
 * use_remote_address), and then:
 * <ul>
 *   <li>removes a client's {@code x-envoy-internal}; sets it to {@code true} on an internal request;
 *   <li>on any other request removes the x-envoy-* headers only an internal client may send
 *       ({@link #INTERNAL_ONLY}, Envoy's {@code cleanInternalHeaders}), so the router never reads them;
 *   <li>on an edge request (use_remote_address and not internal) also removes {@link #EDGE_ONLY} and sets
 *       {@code x-envoy-external-address} to the downstream address, and drops a client's {@code x-request-id} (a
 *       new one is generated) unless preserve_external_request_id;
 *   <li>with use_remote_address appends the peer to x-forwarded-for (unless skip_xff_append) and sets
 *       x-forwarded-proto from the connection (unless trusted hops vouch for the client's); without, sets it
 *       from the connection only when the client sent none.
 * </ul>
 * The peer's internal check is made once per connection (per config); an x-forwarded-for entry is parsed in place.
 * Nothing is allocated unless a header value is built (the x-forwarded-for append, the external address).
 *
 * <p>Threading: the connection's event loop.
 */
public final class DownstreamAddress {
  public static final String XFF = "x-forwarded-for";
  public static final String XFP = "x-forwarded-proto";
  public static final String INTERNAL = "x-envoy-internal";
  public static final String EXTERNAL_ADDRESS = "x-envoy-external-address";
  public static final String REQUEST_ID = "x-request-id";
  private static final String ENVOY_PREFIX = "x-envoy-";

  /** Request headers Envoy removes from every request that is not internal (cleanInternalHeaders). */
  static final String[] INTERNAL_ONLY = {
      "x-envoy-retriable-status-codes", "x-envoy-retriable-header-names", "x-envoy-retry-on", "x-envoy-retry-grpc-on",
      "x-envoy-max-retries", "x-envoy-upstream-alt-stat-name", "x-envoy-upstream-rq-timeout-ms",
      "x-envoy-upstream-rq-per-try-timeout-ms", "x-envoy-upstream-rq-timeout-alt-response",
      "x-envoy-expected-rq-timeout-ms", "x-envoy-force-trace", "x-envoy-ip-tags", "x-envoy-original-url",
      "x-envoy-hedge-on-per-try-timeout"};
  /** Request headers Envoy also removes from an edge request. */
  static final String[] EDGE_ONLY = {
      "x-envoy-decorator-operation", "x-envoy-downstream-service-cluster", "x-envoy-downstream-service-node"};

  private final InetSocketAddress peer;
  private final String peerIp;
  private final IpLiteral literal = new IpLiteral();
  private InternalAddresses checkedFor;
  private boolean peerInternal;

  // ---- the last request's decision
  private String address;
  private boolean fromXff;
  private boolean internal;

  /** @param peer the connection's remote address (null when it has none, e.g. an embedded channel) */
  public DownstreamAddress(InetSocketAddress peer) {
    this.peer = peer;
    this.peerIp = peer == null || peer.getAddress() == null ? null : peer.getAddress().getHostAddress();
    this.address = peerIp;
  }

  /** The last request's downstream address (no port): the peer's or an x-forwarded-for entry. */
  public String address() {
    return address;
  }

  /** The last request's address came from x-forwarded-for (it is not the peer's). */
  public boolean fromXff() {
    return fromXff;
  }

  /** The last request was internal (it carries {@code x-envoy-internal: true}). */
  public boolean internal() {
    return internal;
  }

  /**
   * %DOWNSTREAM_REMOTE_ADDRESS% of the last request: {@code peerWithPort} when the address is the peer's, else the
   * x-forwarded-for address with port 0, as Envoy logs one.
   */
  public String remoteAddressForLog(String peerWithPort) {
    return logAddress(address, fromXff, peerWithPort);
  }

  /** %DOWNSTREAM_REMOTE_ADDRESS% for a decision copied out of {@link #address()} and {@link #fromXff()}. */
  public static String logAddress(String address, boolean fromXff, String peerWithPort) {
    if (!fromXff) {
      return peerWithPort;
    }
    return address.indexOf(':') >= 0 ? "[" + address + "]:0" : address + ":0";
  }

  /**
   * Applies Envoy's rules to one request head (see the class comment).
   *
   * @param tls the downstream connection is TLS (x-forwarded-proto https)
   */
  public <H> void apply(H headers, HeaderAccess<H> access, HttpConnectionManagerConfig hcm, boolean tls) {
    InternalAddresses table = hcm.internalAddresses();
    int hops = hcm.xffNumTrustedHops();
    String xff = access.getAll(headers, XFF);
    String scheme = tls ? "https" : "http";
    address = null;
    fromXff = false;
    boolean chosenInternal = false;
    boolean trustedChecks = false;
    if (hcm.useRemoteAddress()) {
      trustedChecks = xff == null;
      if (hops > 0 && xff != null && fromXff(xff, hops - 1)) {
        chosenInternal = literal.in(table);
      }
      if (address == null) {
        address = peerIp;
        chosenInternal = peerInternal(table);
      }
      if (!hcm.skipXffAppend() && peerIp != null) {
        access.set(headers, XFF, xff == null ? peerIp : xff + "," + peerIp);
      }
      if (hops == 0 || !access.contains(headers, XFP)) {
        access.set(headers, XFP, scheme);
      }
    } else if (xff != null && fromXff(xff, hops)) {
      chosenInternal = literal.in(table);
      trustedChecks = hops == 0 && xff.indexOf(',') < 0; // Envoy: a single address, nothing skipped
    }
    if (!hcm.useRemoteAddress() && !access.contains(headers, XFP)) {
      access.set(headers, XFP, scheme);
    }
    internal = trustedChecks && address != null && chosenInternal;
    if (address == null) {
      address = peerIp; // no usable x-forwarded-for: the peer, for logs
    }
    boolean edge = !internal && hcm.useRemoteAddress();
    if (internal) {
      access.set(headers, INTERNAL, "true");
    } else if (access.containsPrefix(headers, ENVOY_PREFIX)) {
      access.remove(headers, INTERNAL);
      if (edge) {
        removeAll(headers, access, EDGE_ONLY);
      }
      removeAll(headers, access, INTERNAL_ONLY);
    }
    if (edge && address != null) {
      access.set(headers, EXTERNAL_ADDRESS, address); // after the removal above: a client's value never survives
    }
    if (edge && hcm.generateRequestId() && !hcm.preserveExternalRequestId()) {
      access.remove(headers, REQUEST_ID); // an edge request gets an id of ours (generated when it is forwarded)
    }
  }

  private static <H> void removeAll(H headers, HeaderAccess<H> access, String[] names) {
    for (String name : names) {
      access.remove(headers, name);
    }
  }

  /**
   * Envoy's getLastAddressFromXFF: the entry {@code skip} places from the right of {@code xff}, trimmed; when it
   * is an address literal, {@link #address} is set to it (and {@link #literal} holds it).
   */
  private boolean fromXff(String xff, int skip) {
    int end = xff.length();
    for (int i = 0; i < skip; i++) {
      int comma = xff.lastIndexOf(',', end - 1);
      if (comma < 0) {
        return false;
      }
      end = comma;
    }
    int start = xff.lastIndexOf(',', end - 1) + 1;
    while (start < end && isSpace(xff.charAt(start))) {
      start++;
    }
    while (end > start && isSpace(xff.charAt(end - 1))) {
      end--;
    }
    if (start == end || !literal.parse(xff, start, end)) {
      return false;
    }
    address = start == 0 && end == xff.length() ? xff : xff.substring(start, end);
    fromXff = true;
    return true;
  }

  private static boolean isSpace(char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == 0x0b;
  }

  private boolean peerInternal(InternalAddresses table) {
    if (table != checkedFor) {
      checkedFor = table;
      peerInternal = peer != null && peer.getAddress() != null && table.contains(peer.getAddress());
    }
    return peerInternal;
  }
}
