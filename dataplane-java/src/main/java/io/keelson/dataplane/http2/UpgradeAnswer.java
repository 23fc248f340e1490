package io.keelson.dataplane.http2;

import io.keelson.dataplane.edge.HopByHopHeaders;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http2.HttpConversionUtil.ExtensionHeaderNames;
import java.util.Iterator;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The upstream's answer to an upgrade carried into the answer its client gets across a change of HTTP version (the
 * {@code :status 200} of an RFC 8441 extended CONNECT for an HTTP/1.1 101, the 101 for a 200), as Envoy passes the
 * handshake's headers on: {@code sec-websocket-protocol}, {@code sec-websocket-extensions}, {@code set-cookie} and
 * every other field, but not the hop-by-hop ones (with those the Connection header names), pseudo-headers and Netty's
 * conversion headers, nor those the change of protocol replaces ({@code upgrade}, {@code sec-websocket-accept}: RFC 8441
 * has no key exchange, the HTTP/1.1 side computes its own) or that frame a message ({@code content-length}). Stateless.
 */
final class UpgradeAnswer {
  /** Besides the hop-by-hop ones: the fields the protocol change replaces or that frame a message. */
  private static final Set<String> REPLACED = Set.of("content-length", "host", "sec-websocket-accept");

  private UpgradeAnswer() {}

  /** Adds the fields of {@code from} (HTTP/2 or HTTP/1.1 names) that cross the protocol change to {@code to}. */
  static void copy(Iterator<Map.Entry<CharSequence, CharSequence>> from, Iterable<Map.Entry<CharSequence, CharSequence>> again,
      HttpHeaders to) {
    String connection = connectionOptions(again);
    while (from.hasNext()) {
      Map.Entry<CharSequence, CharSequence> e = from.next();
      String name = e.getKey().toString().toLowerCase(Locale.ROOT);
      if (name.startsWith(":") || HopByHopHeaders.isHopByHop(name, connection) || REPLACED.contains(name)
          || isConversionHeader(name)) {
        continue;
      }
      to.add(name, e.getValue());
    }
  }

  /** {@link #copy} from Netty HTTP/1.1-model headers (e.g. an HTTP/1.1 101, or an HTTP/2 answer Netty converted). */
  static void copy(HttpHeaders from, HttpHeaders to) {
    copy(from.iteratorCharSequence(), from::iteratorCharSequence, to);
  }

  /** {@link #copy} from HTTP/2 headers (pseudo-headers skipped). */
  static void copy(io.netty.handler.codec.http2.Http2Headers from, HttpHeaders to) {
    copy(from.iterator(), from, to);
  }

  /** The Connection values joined with ',' when they name more than the fixed set (see HopByHopHeaders#options). */
  private static String connectionOptions(Iterable<Map.Entry<CharSequence, CharSequence>> headers) {
    String joined = null;
    for (Map.Entry<CharSequence, CharSequence> e : headers) {
      if (HttpHeaderNames.CONNECTION.contentEqualsIgnoreCase(e.getKey())) {
        String v = e.getValue().toString();
        joined = joined == null ? v : joined + "," + v;
      }
    }
    return HopByHopHeaders.options(joined);
  }

  /**
   * A refused upgrade's header fields as the client gets them with its status and body (as {@code name: value} lines,
   * see PolicyVerdicts#replaceResponseHeaders), or null: the end-to-end ones, not the hop-by-hop ones, the framing the
   * reply redoes ({@code content-length}) nor {@code server} (the proxy's own, as Envoy overwrites it).
   */
  static String refusalLines(HttpHeaders refusal) {
    if (refusal == null) {
      return null;
    }
    String connection = HopByHopHeaders.options(refusal.get(HttpHeaderNames.CONNECTION) == null ? null
        : String.join(",", refusal.getAll(HttpHeaderNames.CONNECTION)));
    StringBuilder lines = new StringBuilder();
    for (Map.Entry<String, String> e : refusal) {
      String name = e.getKey().toLowerCase(Locale.ROOT);
      if (!HopByHopHeaders.isHopByHop(name, connection) && !name.equals("content-length") && !name.equals("server")
          && !isConversionHeader(name)) {
        lines.append(name).append(": ").append(e.getValue()).append("\r\n");
      }
    }
    return lines.isEmpty() ? null : lines.toString();
  }

  private static boolean isConversionHeader(String name) {
    for (ExtensionHeaderNames n : ExtensionHeaderNames.values()) {
      if (n.text().toString().equals(name)) {
        return true;
      }
    }
    return false;
  }
}
