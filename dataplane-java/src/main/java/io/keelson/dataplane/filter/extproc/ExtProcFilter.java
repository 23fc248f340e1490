package io.keelson.dataplane.filter.extproc;

import io.keelson.dataplane.filter.BodyCheck;
import io.keelson.dataplane.filter.ExternalCheck;
import io.keelson.dataplane.filter.FilterContext;
import io.keelson.dataplane.filter.HttpFilter;
import io.keelson.dataplane.filter.ResponseCheck;

/**
 * envoy.filters.http.ext_proc on a request: hands the connection the request-headers exchange with the processor
 * ({@link RequestHeadersExchange}) before it acts on the verdict and the response-headers one
 * ({@link ResponseHeadersExchange}) for the response head, and BUFFERED bodies' ({@link BodyExchange})
 * once a body was read whole; a phase whose mode is SKIP (or a route that disabled the
 * filter) has none. Allocates nothing; thread-safe.
 */
final class ExtProcFilter implements HttpFilter {
  /** Null: nothing to send for this route. */
  private final ExternalCheck exchange;
  /** Null: response headers are not sent. */
  private final ResponseCheck responseExchange;
  /** Null: the request body is not sent. */
  private final BodyCheck requestBodyExchange;
  /** Null: the response body is not sent. */
  private final BodyCheck responseBodyExchange;

  ExtProcFilter(ExternalCheck exchange, ResponseCheck responseExchange, BodyCheck requestBodyExchange,
      BodyCheck responseBodyExchange) {
    this.exchange = exchange;
    this.responseExchange = responseExchange;
    this.requestBodyExchange = requestBodyExchange;
    this.responseBodyExchange = responseBodyExchange;
  }

  @Override
  public void onRequest(FilterContext context) {
    if (responseExchange != null) {
      context.checkResponse(responseExchange);
    }
    if (requestBodyExchange != null) {
      long limit = context.bufferLimit();
      context.bufferBody(limit > 0 ? Math.min(limit, ExtProcConfig.BUFFER_LIMIT_BYTES) : ExtProcConfig.BUFFER_LIMIT_BYTES);
      context.checkRequestBody(requestBodyExchange);
    }
    if (responseBodyExchange != null) {
      context.checkResponseBody(responseBodyExchange);
    }
    if (exchange != null) {
      context.checkExternally(exchange);
    }
  }
}
