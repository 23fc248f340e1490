package io.keelson.dataplane.stats;

import io.keelson.dataplane.edge.HeaderAccess;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * The metric overrides of one HTTP connection manager (Istio's {@code istio.stats} filter, {@code stats.PluginConfig}
 * {@code metrics[]}): per standard metric, whether it is dropped, which tags are removed ({@code tags_to_remove}; the
 * series that differed only by them are merged at scrape time) and which are set ({@code dimensions}: an
 * {@link IstioTagExpression} per tag, added after Istio's labels or replacing one of them). Entries apply in order;
 * a name of {@code ""} applies to every metric.
 *
 * <p>A request's evaluated tags are a {@code long} key: each expression evaluated per request has an id per distinct
 * value (at most {@link #MAX_VALUES}; later values count as {@code unknown}, id 0), packed 10 bits each. A value seen
 * before costs a hash lookup and no allocation, except request.url_path with a query (its path part is cut out per
 * request); destination.port and source.address build their text once per port and per connection. source.address is
 * Envoy's, the client's address with its (ephemeral) port: each connection is a new value, so past {@link #MAX_VALUES}
 * connections it reports {@code unknown} for the process's life (translation warns). One canonical instance per distinct config ({@link StatsRegistry#istioMetrics}), so
 * series and value ids survive new snapshots. Thread-safe.
 */
public final class IstioMetricsConfig {
  /** Distinct values kept apart per evaluated expression; further ones are {@code unknown}. */
  public static final int MAX_VALUES = 1000;
  /** Expressions evaluated per request, at most (their ids share one long). */
  public static final int MAX_EVALUATED = 6;
  private static final int ID_BITS = 10;

  /** Istio's standard metrics Keelson reports, by their PluginConfig name: the HTTP ones first, then the TCP ones. */
  public enum Metric {
    REQUESTS("requests_total"), DURATION("request_duration_milliseconds"), REQUEST_BYTES("request_bytes"),
    RESPONSE_BYTES("response_bytes"), TCP_SENT("tcp_sent_bytes_total"), TCP_RECEIVED("tcp_received_bytes_total"),
    TCP_OPENED("tcp_connections_opened_total"), TCP_CLOSED("tcp_connections_closed_total");

    public final String configName;

    Metric(String configName) {
      this.configName = configName;
    }
  }

  /** The {@link #keepMask} bits of the HTTP metrics. */
  private static final int HTTP_MASK = 0xF;

  /** Every metric name an override may name: Keelson's ({@link Metric}) and Istio's gRPC message ones. */
  public static final Set<String> NAMES = Set.of("requests_total", "request_duration_milliseconds", "request_bytes",
      "response_bytes", "tcp_sent_bytes_total", "tcp_received_bytes_total", "tcp_connections_opened_total",
      "tcp_connections_closed_total", "request_messages_total", "response_messages_total");

  /**
   * One {@code metrics[]} entry.
   *
   * @param name         the metric's PluginConfig name, or "" for every metric
   * @param drop         the metric is not recorded
   * @param tagsToRemove tags left out
   * @param dimensions   tags set, in order
   */
  public record Override(String name, boolean drop, List<String> tagsToRemove, Map<String, IstioTagExpression> dimensions) {
    public Override {
      tagsToRemove = List.copyOf(tagsToRemove);
      dimensions = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(dimensions));
    }

    boolean names(String metric) {
      return name.isEmpty() || name.equals(metric);
    }
  }

  private static final IstioTagExpression REMOVED = new IstioTagExpression(IstioTagExpression.Kind.LITERAL, "\0removed");

  final List<Override> overrides;
  /** Process-wide unique, for keys that must tell configs apart. */
  private static final java.util.concurrent.atomic.AtomicInteger IDS = new java.util.concurrent.atomic.AtomicInteger();
  final int id = IDS.incrementAndGet();
  /** Bit per {@link Metric} ordinal: recorded. */
  final int keepMask;
  /** Per {@link Metric}: tag to its expression, or {@link #REMOVED}. */
  private final List<Map<String, IstioTagExpression>> tags = new ArrayList<>();
  private final IstioTagExpression[] evaluated;
  private final TagValues[] values;
  private final boolean needsAddresses;

  IstioMetricsConfig(List<Override> overrides) {
    this.overrides = List.copyOf(overrides);
    int keep = 0;
    List<IstioTagExpression> eval = new ArrayList<>();
    for (Metric m : Metric.values()) {
      boolean drop = false;
      Map<String, IstioTagExpression> t = new LinkedHashMap<>();
      for (Override o : this.overrides) {
        if (!o.names(m.configName)) {
          continue;
        }
        drop |= o.drop();
        o.tagsToRemove().forEach(tag -> t.put(tag, REMOVED));
        o.dimensions().forEach((tag, e) -> {
          t.remove(tag); // re-set: the tag moves to the end, where a new one goes
          t.put(tag, e);
          if (!e.constant() && !eval.contains(e)) {
            eval.add(e);
          }
        });
      }
      keep |= drop ? 0 : 1 << m.ordinal();
      tags.add(t);
    }
    if (eval.size() > MAX_EVALUATED) {
      throw new IllegalArgumentException(eval.size() + " tag values are evaluated per request; at most "
          + MAX_EVALUATED + " distinct ones are supported");
    }
    this.keepMask = keep;
    this.evaluated = eval.toArray(new IstioTagExpression[0]);
    this.values = new TagValues[evaluated.length];
    boolean addresses = false;
    for (int i = 0; i < evaluated.length; i++) {
      values[i] = new TagValues();
      addresses |= evaluated[i].needsAddresses();
    }
    this.needsAddresses = addresses;
  }

  /**
   * Checks that {@code overrides} make a config.
   *
   * @throws IllegalArgumentException more than {@link #MAX_EVALUATED} distinct expressions are evaluated per request
   */
  public static void check(List<Override> overrides) {
    new IstioMetricsConfig(overrides);
  }

  /** True when no HTTP metric is recorded. */
  public boolean dropsAll() {
    return (keepMask & HTTP_MASK) == 0;
  }

  /** True when {@code m} is reported. */
  boolean keeps(Metric m) {
    return (keepMask & (1 << m.ordinal())) != 0;
  }

  /** True when {@link #key} reads the connection's addresses (callers may pass null otherwise). */
  public boolean needsAddresses() {
    return needsAddresses;
  }

  /** The request's evaluated tags as one key (0 when none is evaluated). No allocation for a value seen before. */
  public <H> long key(HeaderAccess<H> access, H headers, String method, String path, InetSocketAddress remote,
      InetSocketAddress local) {
    long key = 0;
    for (int i = 0; i < evaluated.length; i++) {
      IstioTagExpression e = evaluated[i];
      String v = switch (e.kind()) {
        case HOST -> host(access, headers);
        case METHOD -> method;
        case PATH -> path;
        case URL_PATH -> urlPath(path);
        case HEADER -> access.getAll(headers, e.arg());
        case DESTINATION_PORT -> local == null ? null : portName(local.getPort());
        case SOURCE_ADDRESS -> remote == null ? null : addressName(remote);
        case LITERAL -> e.arg();
      };
      key |= (long) values[i].id(v) << (ID_BITS * i);
    }
    return key;
  }

  /** The last destination port's text: a listener's port rarely changes, so it is built once, not per request. */
  private volatile PortName lastPort = new PortName(-1, null);
  /** The last downstream address's text: built once per connection (its address object), not per request. */
  private volatile AddressName lastAddress = new AddressName(null, null);

  private record PortName(int port, String name) {}

  private record AddressName(InetSocketAddress address, String name) {}

  private String portName(int port) {
    PortName p = lastPort;
    if (p.port != port) {
      p = new PortName(port, Integer.toString(port));
      lastPort = p;
    }
    return p.name;
  }

  private String addressName(InetSocketAddress remote) {
    AddressName a = lastAddress;
    if (a.address != remote) {
      a = new AddressName(remote, remote.getAddress().getHostAddress() + ":" + remote.getPort());
      lastAddress = a;
    }
    return a.name;
  }

  private static <H> String host(HeaderAccess<H> access, H headers) {
    String authority = access.getAll(headers, ":authority");
    return authority != null ? authority : access.getAll(headers, "host");
  }

  private static String urlPath(String path) {
    if (path == null) {
      return null;
    }
    int q = path.indexOf('?');
    return q < 0 ? path : path.substring(0, q);
  }

  /**
   * {@code labels} (name, value pairs) as metric {@code m} reports them for the request tags {@code key}: removed tags
   * left out, set ones replaced in place or appended in order. A TCP metric has no request: its key is 0 and the values
   * evaluated per request are {@code unknown}.
   */
  String[] labels(Metric m, String[] labels, long key) {
    Map<String, IstioTagExpression> t = tags.get(m.ordinal());
    if (t.isEmpty()) {
      return labels;
    }
    List<String> out = new ArrayList<>(labels.length + 2 * t.size());
    for (int i = 0; i < labels.length; i += 2) {
      IstioTagExpression e = t.get(labels[i]);
      if (e == REMOVED) {
        continue;
      }
      out.add(labels[i]);
      out.add(e == null ? labels[i + 1] : value(e, key));
    }
    t.forEach((tag, e) -> {
      if (e != REMOVED && !containsName(labels, tag)) {
        out.add(tag);
        out.add(value(e, key));
      }
    });
    return out.toArray(new String[0]);
  }

  private static boolean containsName(String[] labels, String name) {
    for (int i = 0; i < labels.length; i += 2) {
      if (labels[i].equals(name)) {
        return true;
      }
    }
    return false;
  }

  private String value(IstioTagExpression e, long key) {
    if (e.constant()) {
      return e.arg();
    }
    for (int i = 0; i < evaluated.length; i++) {
      if (evaluated[i].equals(e)) {
        return values[i].value((int) ((key >>> (ID_BITS * i)) & ((1 << ID_BITS) - 1)));
      }
    }
    return MeshIdentity.UNKNOWN;
  }

  @java.lang.Override
  public String toString() {
    return "IstioMetricsConfig" + overrides;
  }

  /** Ids of one expression's distinct values: 0 is unknown (no value, or past {@link #MAX_VALUES}). Thread-safe. */
  private static final class TagValues {
    private final ConcurrentHashMap<String, Integer> ids = new ConcurrentHashMap<>();
    private final AtomicReferenceArray<String> byId = new AtomicReferenceArray<>(MAX_VALUES + 1);
    private int next = 1; // guarded by this

    int id(String v) {
      if (v == null) {
        return 0;
      }
      Integer id = ids.get(v);
      if (id != null) {
        return id;
      }
      synchronized (this) {
        id = ids.get(v);
        if (id != null) {
          return id;
        }
        if (next > MAX_VALUES) {
          return 0;
        }
        byId.set(next, v);
        ids.put(v, next);
        return next++;
      }
    }

    String value(int id) {
      String v = id == 0 ? null : byId.get(id);
      return v == null ? MeshIdentity.UNKNOWN : v;
    }
  }
}
