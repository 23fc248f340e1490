package io.keelson.dataplane.filter;

import io.keelson.dataplane.edge.HeaderAccess;

/**
 * A filter's choice, made on the request, to transform the response body (Envoy's compressor and decompressor
 * encoder halves): on the response head it decides, from the headers as earlier codings left them, whether this
 * response is transformed, rewrites the headers, and returns the per-exchange body stage. Immutable and thread-safe.
 */
public interface ResponseCoding {
  /**
   * Changes the forwarded request's headers the coding needs (compressor: remove accept-encoding; decompressor:
   * advertise its encoding). Called once per try, on the connection's event loop.
   */
  <H> void onForwardedRequest(HeaderAccess<H> access, H headers);

  /**
   * Decides on a final response head that has a body to come; rewrites {@code headers} and returns the body stage
   * when the body is transformed, else null (counting why, as Envoy's stats do).
   */
  <H> BodyStage onResponseHead(HeaderAccess<H> access, H headers, int status);

  /** Whether a header's comma-separated value (null: absent) holds {@code lowerToken}, blanks trimmed, case ignored. */
  static boolean listContains(String list, String lowerToken) {
    return list != null && io.keelson.dataplane.http1.codec.Http1Headers.listContains(list, lowerToken);
  }
}
