package io.keelson.dataplane.rbac;

import io.keelson.dataplane.route.ValueMatch;
import java.util.List;

/**
 * One node of a compiled permission or principal. Immutable and thread-safe; matching allocates nothing.
 */
sealed interface Matcher {
  boolean matches(RequestView v);

  Matcher ANY = new Any();

  record Any() implements Matcher {
    @Override
    public boolean matches(RequestView v) {
      return true;
    }
  }

  record And(Matcher[] all) implements Matcher {
    And(List<Matcher> all) {
      this(all.toArray(Matcher[]::new));
    }

    @Override
    public boolean matches(RequestView v) {
      for (Matcher m : all) {
        if (!m.matches(v)) {
          return false;
        }
      }
      return true;
    }
  }

  record Or(Matcher[] any) implements Matcher {
    Or(List<Matcher> any) {
      this(any.toArray(Matcher[]::new));
    }

    @Override
    public boolean matches(RequestView v) {
      for (Matcher m : any) {
        if (m.matches(v)) {
          return true;
        }
      }
      return false;
    }
  }

  record Not(Matcher inner) implements Matcher {
    @Override
    public boolean matches(RequestView v) {
      return !inner.matches(v);
    }
  }

  /** Envoy's HeaderMatcher semantics: a value match never matches an absent header (unless treated as empty). */
  record Header(String lowerName, ValueMatch value, boolean present, boolean invert, boolean missingAsEmpty)
      implements Matcher {
    @Override
    public boolean matches(RequestView v) {
      String h = v.header(lowerName);
      if (value == null) {
        return (h != null) == present != invert;
      }
      if (h == null) {
        if (!missingAsEmpty) {
          return false;
        }
        h = "";
      }
      return value.matches(h) != invert;
    }
  }

  /** A range match on a header holding an integer: start inclusive, end exclusive. */
  record HeaderRange(String lowerName, long start, long end, boolean invert) implements Matcher {
    @Override
    public boolean matches(RequestView v) {
      String h = v.header(lowerName);
      if (h == null) {
        return false;
      }
      long n;
      try {
        n = Long.parseLong(h.trim());
      } catch (NumberFormatException e) {
        return false;
      }
      return (n >= start && n < end) != invert;
    }
  }

  record UrlPath(ValueMatch path) implements Matcher {
    @Override
    public boolean matches(RequestView v) {
      String p = v.path();
      return p != null && path.matches(p);
    }
  }

  record DestinationPort(int port) implements Matcher {
    @Override
    public boolean matches(RequestView v) {
      return v.destinationPort() == port;
    }
  }

  /** start inclusive, end exclusive, as Envoy's Int32Range. */
  record DestinationPortRange(int start, int end) implements Matcher {
    @Override
    public boolean matches(RequestView v) {
      int p = v.destinationPort();
      return p >= start && p < end;
    }
  }

  record RequestedServerName(ValueMatch name) implements Matcher {
    @Override
    public boolean matches(RequestView v) {
      String sni = v.requestedServerName();
      return name.matches(sni == null ? "" : sni);
    }
  }

  /** {@code name} null: any authenticated peer. Otherwise matched against the peer's URI SAN. */
  record Authenticated(ValueMatch name) implements Matcher {
    @Override
    public boolean matches(RequestView v) {
      if (!v.authenticated()) {
        return false;
      }
      if (name == null) {
        return true;
      }
      String p = v.principal();
      return p != null && name.matches(p);
    }
  }

  enum IpSource { DIRECT_REMOTE, SOURCE, REMOTE, DESTINATION }

  record Cidr(IpSource source, CidrRange range) implements Matcher {
    @Override
    public boolean matches(RequestView v) {
      byte[] ip = switch (source) {
        case DIRECT_REMOTE -> v.directRemoteIp();
        case SOURCE -> v.sourceIp();
        case REMOTE -> v.remoteIp();
        case DESTINATION -> v.destinationIp();
      };
      return range.contains(ip);
    }
  }

  /**
   * Envoy's MetadataMatcher on the request's dynamic metadata: the value at {@code filter}/{@code path}
   * against {@code value}; {@code invert} negates the result.
   */
  record Metadata(String filter, String[] path, MetaValue value, boolean invert) implements Matcher {
    @Override
    public boolean matches(RequestView v) {
      return value.matches(v.metadata(filter, path)) != invert;
    }
  }

  /** Envoy's ValueMatcher, for the kinds Keelson supports. */
  sealed interface MetaValue {
    boolean matches(Object value);
  }

  /** A string value matching; a non-string (list, number) never matches, as Envoy. */
  record StringValue(ValueMatch match) implements MetaValue {
    @Override
    public boolean matches(Object value) {
      return value instanceof String s && match.matches(s);
    }
  }

  record BoolValue(boolean expected) implements MetaValue {
    @Override
    public boolean matches(Object value) {
      return value instanceof Boolean b && b == expected;
    }
  }

  /** present_match: a value is there (true) or absent (false). */
  record Present(boolean present) implements MetaValue {
    @Override
    public boolean matches(Object value) {
      return (value != null) == present;
    }
  }

  /** list_match.one_of: the value is a list and one element matches. */
  record OneOf(MetaValue element) implements MetaValue {
    @Override
    public boolean matches(Object value) {
      if (value instanceof List<?> list) {
        for (int i = 0; i < list.size(); i++) {
          if (element.matches(list.get(i))) {
            return true;
          }
        }
      }
      return false;
    }
  }
}
