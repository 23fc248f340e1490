package io.keelson.dataplane.filter.decompressor;

import io.keelson.dataplane.edge.HeaderAccess;
import io.keelson.dataplane.filter.BodyStage;
import io.keelson.dataplane.filter.FilterContext;
import io.keelson.dataplane.filter.HttpFilter;
import io.keelson.dataplane.filter.RequestCoding;
import io.keelson.dataplane.filter.ResponseCoding;

/**
 * {@code envoy.filters.http.decompressor} with gzip, both directions (decompressor_filter.cc): a request or response
 * whose content-encoding's first coding is gzip, without {@code cache-control: no-transform} (unless that
 * direction's ignore_no_transform_header), is inflated as it streams ({@link GzipInflate}), that coding taken off
 * content-encoding (the header removed when it was the only one) and content-length removed. With response
 * decompression on, the forwarded request's accept-encoding gets {@code gzip} appended (advertise_accept_encoding).
 * The filter and its codings are one object: nothing allocated per request but a body stage. Immutable; thread-safe.
 */
final class GzipInflation implements HttpFilter, RequestCoding, ResponseCoding {
  private final DecompressorConfig config;

  GzipInflation(DecompressorConfig config) {
    this.config = config;
  }

  @Override
  public void onRequest(FilterContext context) {
    if (config.settings().requestEnabled()) {
      context.codeRequest(this);
    }
    if (config.settings().enabled()) {
      context.codeResponse(this);
    }
  }

  @Override
  public <H> BodyStage onRequestHead(HeaderAccess<H> access, H headers) {
    return start(access, headers, config.settings().requestIgnoreNoTransform(), config.requestStats());
  }

  @Override
  public <H> void onForwardedRequest(HeaderAccess<H> access, H headers) {
    if (!config.settings().advertise()) {
      return;
    }
    String accept = access.getAll(headers, "accept-encoding"); // appended, as Envoy's appendInline
    access.set(headers, "accept-encoding", accept == null || accept.isBlank() ? "gzip" : accept + ",gzip");
  }

  @Override
  public <H> BodyStage onResponseHead(HeaderAccess<H> access, H headers, int status) {
    return start(access, headers, config.settings().ignoreNoTransform(), config.stats());
  }

  /** One direction's decision on its head: the inflating stage with the headers rewritten, or null (counted). */
  private <H> BodyStage start(HeaderAccess<H> access, H headers, boolean ignoreNoTransform, DecompressorStats stats) {
    String encoding = access.getAll(headers, "content-encoding");
    int comma = encoding == null ? -1 : encoding.indexOf(',');
    String first = encoding == null ? null : (comma < 0 ? encoding : encoding.substring(0, comma)).strip();
    if (first == null || !first.equalsIgnoreCase("gzip")
        || (!ignoreNoTransform && ResponseCoding.listContains(access.getAll(headers, "cache-control"), "no-transform"))) {
      stats.notDecompressed().increment();
      return null;
    }
    String rest = comma < 0 ? "" : encoding.substring(comma + 1).strip();
    if (rest.isEmpty()) {
      access.remove(headers, "content-encoding");
    } else {
      access.set(headers, "content-encoding", rest);
    }
    access.remove(headers, "content-length");
    stats.decompressed().increment();
    return new GzipInflate(config, stats);
  }
}
