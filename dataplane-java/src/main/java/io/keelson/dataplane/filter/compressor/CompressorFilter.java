package io.keelson.dataplane.filter.compressor;

import io.keelson.dataplane.filter.FilterContext;
import io.keelson.dataplane.filter.HttpFilter;
import io.keelson.dataplane.filter.ResponseCoding;

/**
 * {@code envoy.filters.http.compressor} with gzip, request side: reads the request's accept-encoding and leaves the
 * response decision ({@link GzipResponseCoding}) for the connection to apply to the response head and body. Holds
 * one coding per accept-encoding decision, so requests allocate nothing. Immutable; thread-safe.
 */
final class CompressorFilter implements HttpFilter {
  private final ResponseCoding[] byDecision = new ResponseCoding[AcceptEncoding.DECISIONS];

  CompressorFilter(CompressorConfig config) {
    for (int d = 0; d < byDecision.length; d++) {
      byDecision[d] = new GzipResponseCoding(config, d);
    }
  }

  @Override
  public void onRequest(FilterContext context) {
    context.codeResponse(byDecision[AcceptEncoding.decide(context.head.header("accept-encoding"))]);
  }
}
