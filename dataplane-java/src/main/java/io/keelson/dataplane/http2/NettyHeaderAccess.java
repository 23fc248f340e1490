package io.keelson.dataplane.http2;

import io.keelson.dataplane.edge.HeaderAccess;
import io.netty.handler.codec.http.HttpHeaders;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/** {@link HeaderAccess} over Netty's HTTP headers (an HTTP/2 stream's, once converted). Stateless. */
final class NettyHeaderAccess implements HeaderAccess<HttpHeaders> {
  static final NettyHeaderAccess INSTANCE = new NettyHeaderAccess();

  private NettyHeaderAccess() {}

  @Override
  public String getAll(HttpHeaders headers, String name) {
    String first = headers.get(name);
    if (first == null) {
      return null;
    }
    List<String> all = headers.getAll(name);
    return all.size() == 1 ? first : String.join(",", all);
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
