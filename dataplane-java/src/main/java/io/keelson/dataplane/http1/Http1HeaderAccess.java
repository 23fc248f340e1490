package io.keelson.dataplane.http1;

import io.keelson.dataplane.edge.HeaderAccess;
import io.keelson.dataplane.http1.codec.Http1Headers;

/** {@link HeaderAccess} over the HTTP/1.1 codec's headers (names compared case-insensitively). Stateless. */
final class Http1HeaderAccess implements HeaderAccess<Http1Headers> {
  static final Http1HeaderAccess INSTANCE = new Http1HeaderAccess();

  private Http1HeaderAccess() {}

  @Override
  public String getAll(Http1Headers headers, String name) {
    return headers.getAll(name);
  }

  @Override
  public boolean contains(Http1Headers headers, String name) {
    return headers.contains(name);
  }

  @Override
  public boolean containsPrefix(Http1Headers headers, String prefix) {
    for (int i = 0; i < headers.size(); i++) {
      if (HeaderAccess.nameStartsWith(headers.name(i), prefix)) {
        return true;
      }
    }
    return false;
  }

  @Override
  public void set(Http1Headers headers, String name, String value) {
    headers.set(name, value);
  }

  @Override
  public void remove(Http1Headers headers, String name) {
    headers.remove(name);
  }
}
