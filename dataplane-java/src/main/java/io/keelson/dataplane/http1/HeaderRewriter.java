package io.keelson.dataplane.http1;

import io.keelson.dataplane.config.HeaderMutations;
import io.keelson.dataplane.edge.HopByHopHeaders;
import io.keelson.dataplane.http1.codec.Http1Headers;
import java.util.List;

/**
 * Header rules a proxy applies on every hop: hop-by-hop headers out (RFC 9110 §7.6.1, including those
 * the Connection header names), then Envoy's header mutations. Stateless.
 */
final class HeaderRewriter {
  private HeaderRewriter() {}

  /** One pass over the headers ({@link HopByHopHeaders}); the common Connection values need no tokenizing. */
  static void removeHopByHop(Http1Headers headers) {
    String connection = HopByHopHeaders.options(headers.getAll("connection"));
    for (int i = headers.size() - 1; i >= 0; i--) {
      if (HopByHopHeaders.isHopByHop(headers.name(i), connection)) {
        headers.removeAt(i);
      }
    }
  }

  /** Applies removals, then additions (append or overwrite), as Envoy does. */
  static void apply(Http1Headers headers, HeaderMutations mutations) {
    if (mutations == null || mutations.isEmpty()) {
      return;
    }
    List<String> remove = mutations.remove();
    for (int i = 0; i < remove.size(); i++) {
      headers.remove(remove.get(i));
    }
    List<HeaderMutations.HeaderValue> add = mutations.add();
    for (int i = 0; i < add.size(); i++) {
      HeaderMutations.HeaderValue h = add.get(i);
      if (h.append()) {
        headers.add(h.name(), h.value());
      } else {
        headers.set(h.name(), h.value());
      }
    }
  }
}
