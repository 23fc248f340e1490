package io.keelson.control.auth;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Join tokens: bearer secrets the control plane issues, each bound to one namespace and service
 * account, which a proxy presents to get configuration and a workload certificate for that identity.
 * Only a SHA-256 of each secret is kept (in memory and in {@code DATA_DIR/tokens.json}), so the
 * token text is shown once, at creation. Token shape: {@code kjt.<id>.<secret>}. With {@link SharedRecords}
 * (the etcd store) the tokens live there instead, in the same hashed form, so every replica shares them. Thread-safe
 * (synchronized; verification is a map lookup, or a shared-store lookup, and a hash).
 */
public final class JoinTokens {
  static final String FILE = "tokens.json";
  static final String PREFIX = "kjt.";
  private static final ObjectMapper JSON = new ObjectMapper();

  /** What a token grants; {@code expiresAt} null = never. */
  public record Token(String id, String namespace, String serviceAccount, Instant createdAt, Instant expiresAt,
      String sha256) {}

  /** The persisted form (ISO-8601 instants). */
  record Stored(String id, String namespace, String serviceAccount, String createdAt, String expiresAt, String sha256) {}

  /** The identity a verified token authenticates. */
  public record Binding(String tokenId, String namespace, String serviceAccount) {}

  /** A newly created token: its text (shown once) and what it grants. */
  public record Created(String token, Token info) {}

  /**
   * Tokens kept outside this process and shared by every control-plane replica. Implementations are thread-safe;
   * {@link #find} may block (bounded) and must fail closed: empty when the token cannot be read.
   */
  public interface SharedRecords {
    Optional<Token> find(String id);

    void put(Token t) throws IOException;

    boolean remove(String id) throws IOException;

    /** Every readable token; unreadable records are skipped (and reported by the implementation). */
    List<Token> all() throws IOException;
  }

  private final SharedRecords shared;
  private final Path file;
  private final Clock clock;
  private final SecureRandom random = new SecureRandom();
  private final Map<String, Token> byId = new LinkedHashMap<>();

  /** @param dataDir where tokens persist, or null for memory only */
  public JoinTokens(Path dataDir, Clock clock) throws IOException {
    this.shared = null;
    this.file = dataDir == null ? null : dataDir.resolve(FILE);
    this.clock = clock;
    if (file != null && Files.exists(file)) {
      for (Stored t : JSON.readValue(file.toFile(), new TypeReference<List<Stored>>() {})) {
        byId.put(t.id(), new Token(t.id(), t.namespace(), t.serviceAccount(), Instant.parse(t.createdAt()),
            t.expiresAt() == null ? null : Instant.parse(t.expiresAt()), t.sha256()));
      }
    }
  }

  private JoinTokens(SharedRecords shared, Clock clock) {
    this.shared = shared;
    this.file = null;
    this.clock = clock;
  }

  /** Tokens kept in {@code shared} (nothing in memory or on disk here). */
  public static JoinTokens shared(SharedRecords shared, Clock clock) {
    return new JoinTokens(java.util.Objects.requireNonNull(shared), clock);
  }

  public JoinTokens(Path dataDir) throws IOException {
    this(dataDir, Clock.systemUTC());
  }

  /** Creates a token for {@code namespace}/{@code serviceAccount}, valid for {@code ttl} (null = no expiry). */
  public synchronized Created create(String namespace, String serviceAccount, Duration ttl) throws IOException {
    new io.keelson.dataplane.security.SpiffeId("x", namespace, serviceAccount); // same rules as the SPIFFE ID it grants
    byte[] idBytes = new byte[6];
    byte[] secret = new byte[32];
    random.nextBytes(idBytes);
    random.nextBytes(secret);
    String id = HexFormat.of().formatHex(idBytes);
    String secretText = Base64.getUrlEncoder().withoutPadding().encodeToString(secret);
    Instant now = clock.instant();
    Token t = new Token(id, namespace, serviceAccount, now, ttl == null ? null : now.plus(ttl), sha256(secretText));
    if (shared != null) {
      shared.put(t);
    } else {
      byId.put(id, t);
      save();
    }
    return new Created(PREFIX + id + "." + secretText, t);
  }

  public synchronized List<Token> list() throws IOException {
    if (shared != null) {
      return shared.all();
    }
    return List.copyOf(byId.values());
  }

  /** Revokes a token by id; false when there is none. Streams already authenticated with it are not cut. */
  public synchronized boolean revoke(String id) throws IOException {
    if (shared != null) {
      return shared.remove(id);
    }
    if (byId.remove(id) == null) {
      return false;
    }
    save();
    return true;
  }

  /** The binding of a valid, unexpired token; empty for anything else (malformed, unknown, revoked, expired). */
  public Optional<Binding> verify(String token) {
    if (token == null || !token.startsWith(PREFIX)) {
      return Optional.empty();
    }
    int dot = token.indexOf('.', PREFIX.length());
    if (dot < 0) {
      return Optional.empty();
    }
    String id = token.substring(PREFIX.length(), dot);
    Token t;
    if (shared != null) {
      t = shared.find(id).orElse(null);
    } else {
      synchronized (this) {
        t = byId.get(id);
      }
    }
    if (t == null || (t.expiresAt() != null && !clock.instant().isBefore(t.expiresAt()))) {
      return Optional.empty();
    }
    boolean same = MessageDigest.isEqual(sha256(token.substring(dot + 1)).getBytes(StandardCharsets.US_ASCII),
        t.sha256().getBytes(StandardCharsets.US_ASCII));
    return same ? Optional.of(new Binding(t.id(), t.namespace(), t.serviceAccount())) : Optional.empty();
  }

  private void save() throws IOException {
    if (file == null) {
      return;
    }
    Files.createDirectories(file.getParent());
    Path tmp = file.resolveSibling(FILE + ".tmp");
    Files.deleteIfExists(tmp);
    try {
      Files.createFile(tmp, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
    } catch (UnsupportedOperationException e) {
      Files.createFile(tmp);
    }
    List<Stored> out = new ArrayList<>();
    for (Token t : byId.values()) {
      out.add(new Stored(t.id(), t.namespace(), t.serviceAccount(), t.createdAt().toString(),
          t.expiresAt() == null ? null : t.expiresAt().toString(), t.sha256()));
    }
    Files.write(tmp, JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(out));
    Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
  }

  /** The stored JSON form of a token (what {@code tokens.json} holds per entry; the secret only as its SHA-256). */
  public static String toJson(Token t) {
    try {
      return JSON.writeValueAsString(new Stored(t.id(), t.namespace(), t.serviceAccount(), t.createdAt().toString(),
          t.expiresAt() == null ? null : t.expiresAt().toString(), t.sha256()));
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * Parses {@link #toJson}'s form, checking every field.
   *
   * @throws IOException naming the field that is missing or wrong
   */
  public static Token fromJson(String json) throws IOException {
    Stored s;
    try {
      s = JSON.readValue(json, Stored.class);
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new IOException("not a join token record (JSON with id, namespace, serviceAccount, createdAt, "
          + "expiresAt, sha256): " + e.getOriginalMessage(), e);
    }
    for (var f : new String[][] {{"id", s.id()}, {"namespace", s.namespace()}, {"serviceAccount", s.serviceAccount()},
        {"createdAt", s.createdAt()}, {"sha256", s.sha256()}}) {
      if (f[1] == null || f[1].isEmpty()) {
        throw new IOException("join token record has no '" + f[0] + "'");
      }
    }
    if (!s.sha256().matches("[0-9a-f]{64}")) {
      throw new IOException("join token record field 'sha256' is not 64 lower-case hex digits");
    }
    try {
      return new Token(s.id(), s.namespace(), s.serviceAccount(), Instant.parse(s.createdAt()),
          s.expiresAt() == null ? null : Instant.parse(s.expiresAt()), s.sha256());
    } catch (java.time.format.DateTimeParseException e) {
      throw new IOException("join token record has an instant that is not ISO-8601: " + e.getParsedString(), e);
    }
  }

  static String sha256(String s) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
