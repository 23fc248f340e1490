package io.keelson.dataplane.tls;

import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * One of Envoy's match_typed_subject_alt_names / match_subject_alt_names entries: a string match on
 * the peer certificate's subject alternative names of one type (any type for the untyped form).
 * Immutable.
 *
 * @param type       which SAN type to look at
 * @param kind       how to compare
 * @param value      the value to compare with (a regex for {@link Kind#REGEX})
 * @param ignoreCase case-insensitive comparison (not for REGEX)
 */
public record SanMatcher(Type type, Kind kind, String value, boolean ignoreCase) {
  /** Envoy's SubjectAltNameMatcher.SanType (ANY for the untyped match_subject_alt_names). */
  public enum Type {
    ANY(-1), EMAIL(1), DNS(2), URI(6), IP_ADDRESS(7);

    final int x509;

    Type(int x509) {
      this.x509 = x509;
    }
  }

  /** Envoy's StringMatcher kinds. */
  public enum Kind { EXACT, PREFIX, SUFFIX, CONTAINS, REGEX }

  public SanMatcher {
    if (kind == Kind.REGEX) {
      Pattern.compile(value); // fail at config time
    }
  }

  boolean matches(String san) {
    return switch (kind) {
      case EXACT -> ignoreCase ? san.equalsIgnoreCase(value) : san.equals(value);
      case PREFIX -> fold(san).startsWith(fold(value));
      case SUFFIX -> fold(san).endsWith(fold(value));
      case CONTAINS -> fold(san).contains(fold(value));
      case REGEX -> Pattern.matches(value, san);
    };
  }

  private String fold(String s) {
    return ignoreCase ? s.toLowerCase(Locale.ROOT) : s;
  }

  /** True when any matcher matches any SAN of the certificate (Envoy: an empty list accepts all). */
  static boolean anyMatches(List<SanMatcher> matchers, X509Certificate cert) {
    if (matchers.isEmpty()) {
      return true;
    }
    Collection<List<?>> sans;
    try {
      sans = cert.getSubjectAlternativeNames();
    } catch (CertificateParsingException e) {
      return false;
    }
    if (sans == null) {
      return false;
    }
    for (List<?> san : sans) {
      int type = (Integer) san.get(0);
      if (!(san.get(1) instanceof String value)) {
        continue;
      }
      for (SanMatcher m : matchers) {
        if ((m.type == Type.ANY || m.type.x509 == type) && m.matches(value)) {
          return true;
        }
      }
    }
    return false;
  }
}
