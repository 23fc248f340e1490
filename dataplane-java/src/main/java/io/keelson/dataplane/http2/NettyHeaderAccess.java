package io.keelson.dataplane.http2;

import io.keelson.dataplane.edge.HeaderAccess;
import io.netty.handler.codec.http.HttpHeaders;
import java.util.Iterator;
import java.util.Map;

/** {@link HeaderAccess} over Netty's HTTP headers (an HTTP/2 stream's, once converted). Stateless. */
public final class NettyHeaderAccess implements HeaderAccess<HttpHeaders> {
  public static final NettyHeaderAccess INSTANCE = new NettyHeaderAccess();

  private NettyHeaderAccess() {}

  @Override
  public String getAll(HttpHeaders headers, String name) {
    String first = headers.get(name); // an absent name allocates nothing
    if (first == null) {
      return null;
    }
    // Netty's headers cannot tell a repeated name without an iterator (one small object, no list, no copy).
    Iterator<? extends CharSequence> values = headers.valueCharSequenceIterator(name);
    values.next();
    return values.hasNext() ? String.join(",", headers.getAll(name)) : first; // getAll: in the order received
  }

  @Override
  public boolean contains(HttpHeaders headers, String name) {
    return headers.contains(name);
  }

  @Override
  public boolean containsPrefix(HttpHeaders headers, String prefix) {
    Iterator<Map.Entry<CharSequence, CharSequence>> it = headers.iteratorCharSequence();
    while (it.hasNext()) {
      if (HeaderAccess.nameStartsWith(it.next().getKey(), prefix)) {
        return true;
      }
    }
    return false;
  }

  @Override
  public void set(HttpHeaders headers, String name, String value) {
    headers.set(name, value);
  }

  @Override
  public void remove(HttpHeaders headers, String name) {
    headers.remove(name);
  }
}
