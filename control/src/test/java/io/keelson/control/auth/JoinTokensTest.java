package io.keelson.control.auth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class JoinTokensTest {
  @TempDir
  Path dir;

  @Test
  void aCreatedTokenAuthenticatesItsNamespaceAndServiceAccountOnly() throws Exception {
    JoinTokens tokens = new JoinTokens(null);
    JoinTokens.Created c = tokens.create("shop", "web", null);

    assertThat(c.token()).startsWith("kjt." + c.info().id() + ".");
    assertThat(tokens.verify(c.token())).contains(new JoinTokens.Binding(c.info().id(), "shop", "web"));
    assertThat(tokens.verify(c.token() + "x")).isEmpty();
    assertThat(tokens.verify(c.token().substring(0, c.token().length() - 1))).isEmpty();
    assertThat(tokens.verify("kjt." + c.info().id())).isEmpty();
    assertThat(tokens.verify("Bearer nonsense")).isEmpty();
    assertThat(tokens.verify(null)).isEmpty();
  }

  @Test
  void revokedAndExpiredTokensNoLongerAuthenticate() throws Exception {
    AtomicReference<Instant> now = new AtomicReference<>(Instant.parse("2026-01-01T00:00:00Z"));
    Clock clock = new Clock() {
      @Override public ZoneOffset getZone() { return ZoneOffset.UTC; }
      @Override public Clock withZone(java.time.ZoneId zone) { return this; }
      @Override public Instant instant() { return now.get(); }
    };
    JoinTokens tokens = new JoinTokens(null, clock);
    JoinTokens.Created shortLived = tokens.create("shop", "web", Duration.ofMinutes(5));
    JoinTokens.Created revoked = tokens.create("shop", "db", null);

    assertThat(tokens.revoke(revoked.info().id())).isTrue();
    assertThat(tokens.revoke(revoked.info().id())).isFalse();
    assertThat(tokens.verify(revoked.token())).isEmpty();
    assertThat(tokens.verify(shortLived.token())).isPresent();
    now.set(now.get().plus(Duration.ofMinutes(5)));
    assertThat(tokens.verify(shortLived.token())).isEmpty();
  }

  @Test
  void tokensSurviveARestartAndOnlyTheirHashIsStored() throws Exception {
    JoinTokens first = new JoinTokens(dir);
    JoinTokens.Created c = first.create("shop", "web", Duration.ofHours(1));

    String stored = Files.readString(dir.resolve(JoinTokens.FILE));
    assertThat(stored).doesNotContain(c.token().substring(c.token().lastIndexOf('.') + 1)).contains(c.info().id());
    JoinTokens second = new JoinTokens(dir);
    assertThat(second.verify(c.token())).isPresent();
    assertThat(second.list()).extracting(JoinTokens.Token::serviceAccount).containsExactly("web");
  }

  @Test
  void namesThatCannotFormASpiffeIdAreRefused() {
    assertThatThrownBy(() -> new JoinTokens(null).create("shop/evil", "web", null))
        .hasMessageContaining("namespace 'shop/evil'");
  }
}
