package io.keelson.dataplane.filter.extauthz;

import io.keelson.dataplane.filter.ExternalCheck;
import io.keelson.dataplane.filter.FilterContext;
import io.keelson.dataplane.filter.HttpFilter;

/**
 * envoy.filters.http.ext_authz on a request: hands the connection the check to make ({@link HttpAuthzCheck},
 * {@link GrpcAuthzCheck})
 * before it acts on the verdict, or (disabled for the route) only counts. Allocates nothing; thread-safe.
 */
final class ExtAuthzFilter implements HttpFilter {
  private final ExternalCheck check;
  private final ExtAuthzStats stats;

  /** @param check null when the filter is disabled for the route */
  ExtAuthzFilter(ExternalCheck check, ExtAuthzStats stats) {
    this.check = check;
    this.stats = stats;
  }

  @Override
  public void onRequest(FilterContext context) {
    if (check == null) {
      stats.disabled().increment();
      return;
    }
    context.checkExternally(check);
  }
}
