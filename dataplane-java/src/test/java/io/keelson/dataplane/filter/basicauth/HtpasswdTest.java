package io.keelson.dataplane.filter.basicauth;

import static org.assertj.core.api.Assertions.assertThat;

import io.keelson.dataplane.filter.ConfigErrors;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** htpasswd content as Envoy's basic_auth reads it: {SHA} entries only, every other line shape refused by line. */
class HtpasswdTest {
  static final String ALICE = "alice:{SHA}tiY7sUhYKUwI5L3866kDY+ENcrQ="; // wonderland
  static final String ROOT = "root:{SHA}Q1tBBo6GZVE6IAcMAzsIucZuQzI="; // toor

  private final List<String> errors = new ArrayList<>();
  private final ConfigErrors sink = new ConfigErrors() {
    @Override
    public void error(String path, String message) {
      errors.add(path + ": " + message);
    }

    @Override
    public void warn(String path, String message) {
      errors.add("warning " + path + ": " + message);
    }
  };

  private static boolean verify(Htpasswd h, String user, String password) {
    byte[] p = password.getBytes(StandardCharsets.UTF_8);
    return h.verify(user, p, 0, p.length);
  }

  @Test
  void shaEntriesVerifyTheirPasswordsOnly() {
    Htpasswd h = Htpasswd.parse("# users\n\n" + ALICE + "\n" + ROOT + "\n", "users", sink);
    assertThat(errors).isEmpty();
    assertThat(h.size()).isEqualTo(2);
    assertThat(verify(h, "alice", "wonderland")).isTrue();
    assertThat(verify(h, "root", "toor")).isTrue();
    assertThat(verify(h, "alice", "toor")).isFalse();
    assertThat(verify(h, "alice", "")).isFalse();
    assertThat(verify(h, "bob", "wonderland")).isFalse();
    byte[] padded = "xxwonderlandyy".getBytes(StandardCharsets.UTF_8);
    assertThat(h.verify("alice", padded, 2, 10)).isTrue();
  }

  @Test
  void otherHashFormatsAreRefusedNamingTheLineAndFormat() {
    assertThat(Htpasswd.parse(ALICE + "\nbob:$apr1$r31.....$HqJZimcKQFAMYayBlzkrA/\ncarol:$2y$05$abc\ndave:plain\n", "f.users",
        sink)).isNull();
    assertThat(errors).hasSize(3);
    assertThat(errors.get(0)).startsWith("f.users line 2: user 'bob': unsupported htpasswd hash format ($apr1$")
        .contains("expected {SHA}").doesNotContain("HqJZ");
    assertThat(errors.get(1)).startsWith("f.users line 3: user 'carol'").contains("bcrypt");
    assertThat(errors.get(2)).startsWith("f.users line 4: user 'dave'").contains("crypt or plain text");
  }

  @Test
  void malformedLinesAreRefusedByLine() {
    assertThat(Htpasswd.parse("nocolon\n:{SHA}x\nalice:\n" + ALICE + "\n" + ALICE + "\neve:{SHA}tooshort\n"
        + ROOT + "\r\n", "users", sink)).isNull();
    assertThat(errors).containsExactly(
        "users line 1: expected name:hash (htpasswd format)",
        "users line 2: empty user name or password hash; expected name:{SHA}hash",
        "users line 3: empty user name or password hash; expected name:{SHA}hash",
        "users line 5: duplicate user 'alice'",
        "users line 6: user 'eve': invalid {SHA} hash; expected the 28-character base64 of a SHA-1 digest",
        "users line 7: user 'root': invalid {SHA} hash; expected the 28-character base64 of a SHA-1 digest"
            + " (the line ends with CR: use LF line endings)");
  }

  @Test
  void userNamesOutsideVisibleAsciiAreRefusedByLine() {
    // U+010A and U+010D keep LF and CR as their low byte when the name is forwarded in a Latin-1 header
    assertThat(Htpasswd.parse("eve\u010Aevil:{SHA}tiY7sUhYKUwI5L3866kDY+ENcrQ=\n"
        + "eve\u010D:{SHA}tiY7sUhYKUwI5L3866kDY+ENcrQ=\nj\u00f6rg:{SHA}tiY7sUhYKUwI5L3866kDY+ENcrQ=\n"
        + "a b:{SHA}tiY7sUhYKUwI5L3866kDY+ENcrQ=\ntab\t:{SHA}tiY7sUhYKUwI5L3866kDY+ENcrQ=\n" + ROOT + "\n", "users", sink))
        .isNull();
    assertThat(errors).hasSize(5).allSatisfy(e -> assertThat(e).contains("outside visible ASCII"));
    assertThat(errors.get(0)).startsWith("users line 1:");
    assertThat(errors.get(4)).startsWith("users line 5:");
  }

  @Test
  void anUnknownUserIsHashedLikeAKnownOne() {
    AtomicInteger digests = new AtomicInteger();
    Htpasswd h = Htpasswd.parse(ALICE + "\n", "users", sink, () -> {
      digests.incrementAndGet();
      return sha1();
    });
    assertThat(verify(h, "alice", "toor")).isFalse();
    assertThat(digests).hasValue(1);
    assertThat(verify(h, "mallory", "wonderland")).isFalse();
    assertThat(verify(h, "mallory", "")).isFalse();
    assertThat(digests).hasValue(3);
    assertThat(verify(h, "alice", "wonderland")).isTrue();
  }

  private static MessageDigest sha1() {
    try {
      return MessageDigest.getInstance("SHA-1");
    } catch (NoSuchAlgorithmException e) {
      throw new AssertionError(e);
    }
  }

  @Test
  void emptyContentHasNoUsers() {
    Htpasswd h = Htpasswd.parse("", "users", sink);
    assertThat(errors).isEmpty();
    assertThat(h.size()).isZero();
    assertThat(verify(h, "alice", "wonderland")).isFalse();
  }
}
