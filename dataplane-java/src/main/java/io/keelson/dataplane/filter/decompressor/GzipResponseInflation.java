package io.keelson.dataplane.filter.decompressor;

import io.keelson.dataplane.edge.HeaderAccess;
import io.keelson.dataplane.filter.BodyStage;
import io.keelson.dataplane.filter.FilterContext;
import io.keelson.dataplane.filter.HttpFilter;
import io.keelson.dataplane.filter.ResponseCoding;

/**
 * {@code envoy.filters.http.decompressor} with gzip, responses only (decompressor_filter.cc): the forwarded request's
 * accept-encoding gets {@code gzip} appended (advertise_accept_encoding); a response whose content-encoding's first
 * coding is gzip, without {@code cache-control: no-transform} (unless ignore_no_transform_header), is inflated as it
 * streams ({@link GzipInflate}), that coding taken off content-encoding (the header removed when it was the only
 * one) and content-length removed. The filter and its response coding are one object: nothing allocated per
 * request. Immutable; thread-safe.
 */
final class GzipResponseInflation implements HttpFilter, ResponseCoding {
  private final DecompressorConfig config;

  GzipResponseInflation(DecompressorConfig config) {
    this.config = config;
  }

  @Override
  public void onRequest(FilterContext context) {
    if (config.settings().enabled()) {
      context.codeResponse(this);
    }
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
    String encoding = access.getAll(headers, "content-encoding");
    int comma = encoding == null ? -1 : encoding.indexOf(',');
    String first = encoding == null ? null : (comma < 0 ? encoding : encoding.substring(0, comma)).strip();
    if (first == null || !first.equalsIgnoreCase("gzip")
        || (!config.settings().ignoreNoTransform() && io.keelson.dataplane.filter.ResponseCoding.listContains(access.getAll(headers, "cache-control"), "no-transform"))) {
      config.stats().notDecompressed().increment();
      return null;
    }
    String rest = comma < 0 ? "" : encoding.substring(comma + 1).strip();
    if (rest.isEmpty()) {
      access.remove(headers, "content-encoding");
    } else {
      access.set(headers, "content-encoding", rest);
    }
    access.remove(headers, "content-length");
    config.stats().decompressed().increment();
    return new GzipInflate(config);
  }
}
