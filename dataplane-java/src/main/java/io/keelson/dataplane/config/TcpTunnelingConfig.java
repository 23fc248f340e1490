package io.keelson.dataplane.config;

import java.net.InetSocketAddress;
import java.util.List;

/**
 * Envoy's tcp_proxy {@code tunneling_config}: each downstream connection is carried in one HTTP/2 stream to the
 * cluster's endpoint, opened with CONNECT (or POST to {@code postPath} with {@code usePost}) whose {@code :authority}
 * is {@code hostname}, with {@code headersToAdd}; the stream's DATA frames are the connection's bytes. Immutable.
 *
 * @param hostname     the :authority, with its command operators ({@link Template})
 * @param usePost      POST instead of CONNECT
 * @param postPath     the POST's :path ("/" unless set); null with CONNECT
 * @param headersToAdd extra request headers, in order (values may hold command operators)
 */
public record TcpTunnelingConfig(Template hostname, boolean usePost, String postPath, List<Header> headersToAdd) {
  public TcpTunnelingConfig {
    headersToAdd = List.copyOf(headersToAdd);
  }

  /** One headers_to_add entry: {@code append} false replaces an earlier entry of the same name. */
  public record Header(String name, Template value, boolean append) {}

  /** What a template's command operators read about the downstream connection. */
  public record Downstream(InetSocketAddress local, InetSocketAddress remote, String requestedServerName) {}

  /**
   * A string with Envoy command operators of the downstream connection (the ones a tunnel's hostname can use without
   * HTTP headers): {@code %DOWNSTREAM_LOCAL_PORT%}, {@code %DOWNSTREAM_LOCAL_ADDRESS%},
   * {@code %DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT%}, {@code %DOWNSTREAM_REMOTE_ADDRESS%},
   * {@code %DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%}, {@code %DOWNSTREAM_REMOTE_PORT%}, {@code %REQUESTED_SERVER_NAME%}.
   * Parsed once at config time; {@link #render} runs once per connection. Immutable.
   */
  public static final class Template {
    /** The supported operators, by name. */
    public enum Operator {
      DOWNSTREAM_LOCAL_PORT, DOWNSTREAM_LOCAL_ADDRESS, DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT, DOWNSTREAM_REMOTE_ADDRESS,
      DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT, DOWNSTREAM_REMOTE_PORT, REQUESTED_SERVER_NAME
    }

    /** Literal strings and {@link Operator}s in order. */
    private final List<Object> parts;
    private final String source;

    private Template(String source, List<Object> parts) {
      this.source = source;
      this.parts = List.copyOf(parts);
    }

    /**
     * Parses {@code text}.
     *
     * @throws IllegalArgumentException naming the operator that is not supported, or an unclosed '%'
     */
    public static Template parse(String text) {
      List<Object> parts = new java.util.ArrayList<>();
      int i = 0;
      while (i < text.length()) {
        int open = text.indexOf('%', i);
        if (open < 0) {
          parts.add(text.substring(i));
          break;
        }
        if (open > i) {
          parts.add(text.substring(i, open));
        }
        int close = text.indexOf('%', open + 1);
        if (close < 0) {
          throw new IllegalArgumentException("'%' at offset " + open + " is not closed; expected %OPERATOR%");
        }
        String name = text.substring(open + 1, close);
        try {
          parts.add(Operator.valueOf(name));
        } catch (IllegalArgumentException e) {
          throw new IllegalArgumentException("%" + name + "% is not supported here; expected one of "
              + java.util.Arrays.toString(Operator.values()) + " (as %NAME%)");
        }
        i = close + 1;
      }
      return new Template(text, parts);
    }

    /** The text for one connection. */
    public String render(Downstream d) {
      if (parts.size() == 1 && parts.getFirst() instanceof String s) {
        return s;
      }
      StringBuilder b = new StringBuilder();
      for (Object p : parts) {
        if (p instanceof String s) {
          b.append(s);
          continue;
        }
        switch ((Operator) p) {
          case DOWNSTREAM_LOCAL_PORT -> b.append(d.local() == null ? "" : Integer.toString(d.local().getPort()));
          case DOWNSTREAM_LOCAL_ADDRESS -> b.append(address(d.local(), true));
          case DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT -> b.append(address(d.local(), false));
          case DOWNSTREAM_REMOTE_ADDRESS -> b.append(address(d.remote(), true));
          case DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT -> b.append(address(d.remote(), false));
          case DOWNSTREAM_REMOTE_PORT -> b.append(d.remote() == null ? "" : Integer.toString(d.remote().getPort()));
          case REQUESTED_SERVER_NAME -> b.append(d.requestedServerName() == null ? "" : d.requestedServerName());
        }
      }
      return b.toString();
    }

    private static String address(InetSocketAddress a, boolean withPort) {
      if (a == null) {
        return "";
      }
      // RFC 5952's compressed IPv6 text (::1), as Envoy writes addresses
      String ip = a.getAddress() == null ? a.getHostString() : io.netty.util.NetUtil.toAddressString(a.getAddress());
      if (ip.indexOf(':') >= 0) {
        ip = "[" + ip + "]";
      }
      return withPort ? ip + ":" + a.getPort() : ip;
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof Template t && t.source.equals(source);
    }

    @Override
    public int hashCode() {
      return source.hashCode();
    }

    @Override
    public String toString() {
      return source;
    }
  }
}
