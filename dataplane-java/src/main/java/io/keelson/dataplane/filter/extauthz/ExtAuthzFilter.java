package io.keelson.dataplane.filter.extauthz;

import io.keelson.dataplane.filter.ExternalCheck;
import io.keelson.dataplane.filter.FilterContext;
import io.keelson.dataplane.filter.HttpFilter;

/**
 * envoy.filters.http.ext_authz on a request: hands the connection the check to make ({@link HttpAuthzCheck},
 * {@link GrpcAuthzCheck})
 * before it acts on the verdict, unless filter_enabled_metadata does not match, or (disabled for the route) only counts. Allocates nothing; thread-safe.
 */
final class ExtAuthzFilter implements HttpFilter {
  private final ExternalCheck check;
  private final ExtAuthzStats stats;
  private final EnabledMetadata enabled;

  /**
   * @param check   null when the filter is disabled for the route
   * @param enabled filter_enabled_metadata, or null: every request is checked
   */
  ExtAuthzFilter(ExternalCheck check, ExtAuthzStats stats, EnabledMetadata enabled) {
    this.check = check;
    this.stats = stats;
    this.enabled = enabled;
  }

  @Override
  public void onRequest(FilterContext context) {
    if (check == null) {
      stats.disabled().increment();
      return;
    }
    if (enabled != null && !enabled.matches(context.metadata)) {
      return; // not enabled for this request (Envoy: the filter is skipped; deny_at_disable is not supported)
    }
    context.checkExternally(check);
  }
}
