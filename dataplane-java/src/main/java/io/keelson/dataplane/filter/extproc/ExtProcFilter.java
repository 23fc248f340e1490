package io.keelson.dataplane.filter.extproc;

import io.keelson.dataplane.filter.ExternalCheck;
import io.keelson.dataplane.filter.FilterContext;
import io.keelson.dataplane.filter.HttpFilter;

/**
 * envoy.filters.http.ext_proc on a request: hands the connection the request-headers exchange with the processor
 * ({@link RequestHeadersExchange}) before it acts on the verdict; does nothing when the route disabled the filter or
 * request_header_mode is SKIP. Allocates nothing; thread-safe.
 */
final class ExtProcFilter implements HttpFilter {
  /** Null: nothing to send for this route. */
  private final ExternalCheck exchange;

  ExtProcFilter(ExternalCheck exchange) {
    this.exchange = exchange;
  }

  @Override
  public void onRequest(FilterContext context) {
    if (exchange != null) {
      context.checkExternally(exchange);
    }
  }
}
