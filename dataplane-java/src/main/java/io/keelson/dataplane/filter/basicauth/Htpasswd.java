package io.keelson.dataplane.filter.basicauth;

import io.keelson.dataplane.filter.ConfigErrors;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Base64;
import java.util.HashMap;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Users and their password hashes from htpasswd content, as Envoy's basic_auth reads it: one {@code name:hash} a line,
 * empty lines and {@code #} comments skipped, {@code {SHA}} hashes only (base64 of the password's SHA-1); any other
 * format, a duplicate or empty name is refused naming its line. Immutable; {@link #verify} is thread-safe.
 */
final class Htpasswd {
  private static final String SHA = "{SHA}";
  private static final int SHA1_BYTES = 20;
  private static final ThreadLocal<MessageDigest> SHA1 = ThreadLocal.withInitial(Htpasswd::sha1);

  /** Compared against when the user is unknown, so an unknown name costs the same hashing as a wrong password. */
  private static final byte[] NO_USER = new byte[SHA1_BYTES];

  private final Map<String, byte[]> digests;
  private final Supplier<MessageDigest> sha1;

  private Htpasswd(Map<String, byte[]> digests, Supplier<MessageDigest> sha1) {
    this.digests = Map.copyOf(digests);
    this.sha1 = sha1;
  }

  int size() {
    return digests.size();
  }

  /**
   * Parses {@code content}; null after reporting every bad line under {@code path} (as {@code path line N}). Passwords
   * and hashes are never echoed.
   */
  static Htpasswd parse(String content, String path, ConfigErrors errors) {
    return parse(content, path, errors, SHA1::get);
  }

  /** As {@link #parse(String, String, ConfigErrors)}, hashing with digests from {@code sha1} (a test seam). */
  static Htpasswd parse(String content, String path, ConfigErrors errors, Supplier<MessageDigest> sha1) {
    Map<String, byte[]> users = new HashMap<>();
    boolean ok = true;
    String[] lines = content.split("\n", -1);
    for (int n = 0; n < lines.length; n++) {
      String line = lines[n];
      if (line.isEmpty() || line.charAt(0) == '#') {
        continue;
      }
      String at = path + " line " + (n + 1);
      int colon = line.indexOf(':');
      if (colon < 0) {
        errors.error(at, "expected name:hash (htpasswd format)");
        ok = false;
        continue;
      }
      String name = line.substring(0, colon);
      String hash = line.substring(colon + 1);
      if (name.isEmpty() || hash.isEmpty()) {
        errors.error(at, "empty user name or password hash; expected name:{SHA}hash");
        ok = false;
      } else if (!visibleAscii(name)) {
        errors.error(at, "the user name has a character outside visible ASCII (space, control or non-ASCII);"
            + " expected ASCII letters, digits and punctuation, as it is forwarded in a header");
        ok = false;
      } else if (users.containsKey(name)) {
        errors.error(at, "duplicate user '" + name + "'");
        ok = false;
      } else if (!hash.startsWith(SHA)) {
        errors.error(at, "user '" + name + "': unsupported htpasswd hash format (" + format(hash)
            + "); expected {SHA} (htpasswd -s), the only format Envoy's basic_auth supports");
        ok = false;
      } else {
        byte[] digest = digest(hash.substring(SHA.length()));
        if (digest == null) {
          errors.error(at, "user '" + name + "': invalid {SHA} hash; expected the 28-character base64 of a SHA-1 digest"
              + (hash.endsWith("\r") ? " (the line ends with CR: use LF line endings)" : ""));
          ok = false;
        } else {
          users.put(name, digest);
        }
      }
    }
    return ok ? new Htpasswd(users, sha1) : null;
  }

  /**
   * Whether {@code password} (UTF-8 bytes) is {@code user}'s; compares digests in constant time, and hashes the password
   * for an unknown user too, so timing does not tell which users exist.
   */
  boolean verify(String user, byte[] password, int offset, int length) {
    byte[] expected = digests.get(user);
    MessageDigest md = sha1.get();
    md.reset();
    md.update(password, offset, length);
    boolean match = MessageDigest.isEqual(md.digest(), expected == null ? NO_USER : expected);
    return match && expected != null;
  }

  private static byte[] digest(String base64) {
    if (base64.length() != 28) {
      return null;
    }
    try {
      byte[] d = Base64.getDecoder().decode(base64.getBytes(StandardCharsets.US_ASCII));
      return d.length == SHA1_BYTES ? d : null;
    } catch (IllegalArgumentException e) {
      return null;
    }
  }

  /** Names the hash format htpasswd or crypt(3) wrote, without echoing the hash. */
  private static String format(String hash) {
    if (hash.startsWith("$apr1$")) {
      return "$apr1$: Apache MD5";
    }
    if (hash.startsWith("$2y$") || hash.startsWith("$2a$") || hash.startsWith("$2b$")) {
      return "bcrypt";
    }
    if (hash.startsWith("$1$")) {
      return "$1$: MD5-crypt";
    }
    if (hash.startsWith("$5$") || hash.startsWith("$6$")) {
      return "SHA-crypt";
    }
    return "crypt or plain text";
  }

  /** VCHAR only: a header carries the name as Latin-1 bytes, so U+010A would become a raw LF there. */
  private static boolean visibleAscii(String s) {
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c <= 0x20 || c >= 0x7f) {
        return false;
      }
    }
    return true;
  }

  private static MessageDigest sha1() {
    try {
      return MessageDigest.getInstance("SHA-1");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("the JDK has no SHA-1", e);
    }
  }
}
