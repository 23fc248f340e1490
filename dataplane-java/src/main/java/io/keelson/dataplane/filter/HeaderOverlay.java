package io.keelson.dataplane.filter;

import io.keelson.dataplane.route.RequestHead;

/**
 * A request head as a filter left it for the filters after it: some headers replaced or removed (a null value) over
 * the request as received, so a later filter (RBAC, ext_authz, rate limit descriptors) reads what will be forwarded
 * (Envoy's filters edit the headers in place). The changes themselves reach the forwarded request through
 * {@link FilterContext#mutateRequestHeaders}. Immutable; one per request that changes headers.
 */
public final class HeaderOverlay implements RequestHead {
  private final RequestHead base;
  private final String[] names;
  private final String[] values;

  /** @param names lower-case header names; {@code values[i]} null removes {@code names[i]} */
  public HeaderOverlay(RequestHead base, String[] names, String[] values) {
    this.base = base;
    this.names = names;
    this.values = values;
  }

  @Override
  public String method() {
    return base.method();
  }

  @Override
  public String path() {
    return base.path();
  }

  @Override
  public String query() {
    return base.query();
  }

  @Override
  public String authority() {
    return base.authority();
  }

  @Override
  public String scheme() {
    return base.scheme();
  }

  @Override
  public String header(String lowerCaseName) {
    for (int i = 0; i < names.length; i++) {
      if (names[i].equals(lowerCaseName)) {
        return values[i];
      }
    }
    return base.header(lowerCaseName);
  }
}
