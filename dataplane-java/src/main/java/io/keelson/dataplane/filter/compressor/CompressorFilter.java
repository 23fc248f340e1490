package io.keelson.dataplane.filter.compressor;

import io.keelson.dataplane.filter.FilterContext;
import io.keelson.dataplane.filter.HttpFilter;
import io.keelson.dataplane.filter.ResponseCoding;

/**
 * {@code envoy.filters.http.compressor} with gzip: reads the request's accept-encoding and leaves the
 * response decision ({@link GzipResponseCoding}), and with request_direction_config the request body's
 * ({@link GzipRequestCoding}), for the connection to apply to the heads and bodies. Holds
 * one coding per accept-encoding decision, so requests allocate nothing. Immutable; thread-safe.
 */
final class CompressorFilter implements HttpFilter {
  private final ResponseCoding[] byDecision = new ResponseCoding[AcceptEncoding.DECISIONS];
  /** Request bodies gzipped toward the upstream, or null (request_direction_config absent or disabled). */
  private final GzipRequestCoding request;

  CompressorFilter(CompressorConfig config) {
    for (int d = 0; d < byDecision.length; d++) {
      byDecision[d] = new GzipResponseCoding(config, d);
    }
    request = config.settings().request() == null ? null : new GzipRequestCoding(config);
  }

  @Override
  public void onRequest(FilterContext context) {
    if (request != null) {
      context.codeRequest(request);
    }
    context.codeResponse(byDecision[AcceptEncoding.decide(context.head.header("accept-encoding"))]);
  }
}
