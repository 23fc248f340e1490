package io.keelson.dataplane.filter.extproc;

import io.keelson.dataplane.filter.ExternalCheck;
import io.keelson.dataplane.filter.FilterContext;
import io.keelson.dataplane.filter.HttpFilter;
import io.keelson.dataplane.filter.ResponseCheck;

/**
 * envoy.filters.http.ext_proc on a request: hands the connection the request-headers exchange with the processor
 * ({@link RequestHeadersExchange}) before it acts on the verdict and the response-headers one
 * ({@link ResponseHeadersExchange}) for the response head; a phase whose mode is SKIP (or a route that disabled the
 * filter) has none. Allocates nothing; thread-safe.
 */
final class ExtProcFilter implements HttpFilter {
  /** Null: nothing to send for this route. */
  private final ExternalCheck exchange;
  /** Null: response headers are not sent. */
  private final ResponseCheck responseExchange;

  ExtProcFilter(ExternalCheck exchange, ResponseCheck responseExchange) {
    this.exchange = exchange;
    this.responseExchange = responseExchange;
  }

  @Override
  public void onRequest(FilterContext context) {
    if (responseExchange != null) {
      context.checkResponse(responseExchange);
    }
    if (exchange != null) {
      context.checkExternally(exchange);
    }
  }
}
