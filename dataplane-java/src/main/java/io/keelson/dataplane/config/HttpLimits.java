package io.keelson.dataplane.config;

/**
 * Bounds on what a downstream request may be. Immutable.
 *
 * @param maxRequestLineBytes  longest request line accepted (else 414 in Envoy terms; Keelson answers 400)
 * @param maxHeaderBytes       largest header block accepted (Envoy max_request_headers_kb)
 * @param maxHeaderCount       most header fields accepted (Envoy max_headers_count)
 */
public record HttpLimits(int maxRequestLineBytes, int maxHeaderBytes, int maxHeaderCount) {
  /** Envoy's defaults: 60 KiB of headers, 100 headers. */
  public static final HttpLimits DEFAULT = new HttpLimits(16 * 1024, 60 * 1024, 100);
}
