package io.keelson.control.store.etcd;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import com.google.protobuf.util.JsonFormat;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * etcd v3 through its JSON gRPC gateway ({@code POST /v3/kv/range}, {@code /v3/kv/txn}, {@code /v3/watch}, ...)
 * with the JDK's HttpClient: keys and values travel base64, int64s as JSON strings. Each call tries the endpoints
 * in order, starting with the last one that answered, and fails with an {@link EtcdException} naming all of them.
 * Thread-safe; calls block the calling thread (never call from an event loop).
 */
public final class EtcdClient {
  private static final JsonFormat.Parser JSON = JsonFormat.parser().ignoringUnknownFields();
  private final List<URI> endpoints;
  private final Duration timeout;
  private final HttpClient http;
  private final EtcdSecurity security;
  private volatile int preferred;
  /** etcd's auth token for {@link EtcdSecurity#user}, null until the first call (or after etcd called it invalid). */
  private volatile String token;

  /** One key's value and the revision that last modified it. */
  public record KeyValue(String key, String value, long modRevision) {}

  /** A prefix's keys at {@code revision}. */
  public record Range(long revision, Map<String, KeyValue> kvs) {}

  /** A txn operation: a put ({@code value} non-null, {@code lease} 0 = none) or a delete. */
  public record Op(String key, String value, long lease) {
    static Op put(String key, String value) {
      return new Op(key, value, 0);
    }

    static Op delete(String key) {
      return new Op(key, null, 0);
    }
  }

  public EtcdClient(List<URI> endpoints, Duration timeout) {
    this(endpoints, timeout, EtcdSecurity.NONE);
  }

  /**
   * @param security TLS files for https endpoints and the etcd user, if any
   * @throws IllegalArgumentException when a TLS file cannot be read or parsed (the message names it and its flag)
   */
  public EtcdClient(List<URI> endpoints, Duration timeout, EtcdSecurity security) {
    if (endpoints.isEmpty()) {
      throw new IllegalArgumentException("no etcd endpoint given; expected e.g. http://127.0.0.1:2379");
    }
    this.endpoints = List.copyOf(endpoints);
    this.timeout = timeout;
    this.security = security;
    // HTTP/1.1: the gateway shares etcd's port with gRPC; a streamed watch is a chunked response.
    HttpClient.Builder b = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(timeout);
    if (endpoints.stream().anyMatch(u -> "https".equals(u.getScheme()))) {
      try {
        b.sslContext(security.sslContext());
      } catch (IOException e) {
        throw new IllegalArgumentException(e.getMessage(), e);
      }
    }
    this.http = b.build();
  }

  public List<URI> endpoints() {
    return endpoints;
  }

  /** Every key under {@code prefix}, at the store's current revision. */
  public Range range(String prefix) throws EtcdException {
    Struct r = call("/v3/kv/range", "{\"key\":\"" + b64(prefix) + "\",\"range_end\":\"" + b64End(prefix) + "\"}");
    Map<String, KeyValue> kvs = new LinkedHashMap<>();
    for (Value v : list(r, "kvs")) {
      KeyValue kv = keyValue(v.getStructValue());
      kvs.put(kv.key(), kv);
    }
    return new Range(revision(r), kvs);
  }

  /**
   * Runs {@code ops} in one transaction when no key from {@code from} up to the end of {@code toPrefix}'s range was
   * modified after {@code revision}. Returns the new revision, or -1 when the comparison failed (nothing was written).
   */
  public long txnIfUnchangedSince(String from, String toPrefix, long revision, List<Op> ops) throws EtcdException {
    StringBuilder b = new StringBuilder("{\"compare\":[{\"key\":\"").append(b64(from)).append("\",\"range_end\":\"")
        .append(b64End(toPrefix)).append("\",\"target\":\"MOD\",\"result\":\"LESS\",\"mod_revision\":\"").append(revision + 1)
        .append("\"}],\"success\":[");
    for (int i = 0; i < ops.size(); i++) {
      Op op = ops.get(i);
      b.append(i == 0 ? "" : ",");
      if (op.value() == null) {
        b.append("{\"request_delete_range\":{\"key\":\"").append(b64(op.key())).append("\"}}");
      } else {
        b.append("{\"request_put\":").append(put(op)).append('}');
      }
    }
    Struct r = call("/v3/kv/txn", b.append("]}").toString());
    return bool(r, "succeeded") ? revision(r) : -1;
  }

  /** The value of exactly {@code key}, or null when there is none. */
  public KeyValue get(String key) throws EtcdException {
    Struct r = call("/v3/kv/range", "{\"key\":\"" + b64(key) + "\"}");
    List<Value> kvs = list(r, "kvs");
    return kvs.isEmpty() ? null : keyValue(kvs.getFirst().getStructValue());
  }

  /**
   * Writes {@code key} only when it does not exist (one txn comparing its create revision with 0). Returns null when
   * this call wrote it, else the value already there (which this call left alone).
   */
  public String putIfAbsent(String key, String value) throws EtcdException {
    String body = "{\"compare\":[{\"key\":\"" + b64(key) + "\",\"target\":\"CREATE\",\"result\":\"EQUAL\","
        + "\"create_revision\":\"0\"}],\"success\":[{\"request_put\":" + put(Op.put(key, value)) + "}],"
        + "\"failure\":[{\"request_range\":{\"key\":\"" + b64(key) + "\"}}]}";
    Struct r = call("/v3/kv/txn", body);
    if (bool(r, "succeeded")) {
      return null;
    }
    for (Value resp : list(r, "responses")) {
      Value range = resp.getStructValue().getFieldsMap().get("response_range");
      if (range != null) {
        List<Value> kvs = list(range.getStructValue(), "kvs");
        if (!kvs.isEmpty()) {
          return keyValue(kvs.getFirst().getStructValue()).value();
        }
      }
    }
    throw new EtcdException("etcd at " + endpoints + " refused to create " + key + " but did not return its value");
  }

  public long put(String key, String value, long lease) throws EtcdException {
    return revision(call("/v3/kv/put", put(new Op(key, value, lease))));
  }

  /** Deletes exactly {@code key}; returns how many keys were deleted (0 or 1). */
  public long delete(String key) throws EtcdException {
    return number(call("/v3/kv/deleterange", "{\"key\":\"" + b64(key) + "\"}"), "deleted");
  }

  /** A new lease of {@code ttlSeconds}; returns its id. */
  public long grantLease(long ttlSeconds) throws EtcdException {
    return number(call("/v3/lease/grant", "{\"TTL\":\"" + ttlSeconds + "\"}"), "ID");
  }

  /** Renews the lease; returns its remaining TTL in seconds, 0 or less when it has expired. */
  public long keepAlive(long lease) throws EtcdException {
    Struct r = call("/v3/lease/keepalive", "{\"ID\":\"" + lease + "\"}");
    Value result = r.getFieldsMap().get("result");
    return result == null ? 0 : number(result.getStructValue(), "TTL");
  }

  public void revoke(long lease) throws EtcdException {
    call("/v3/lease/revoke", "{\"ID\":\"" + lease + "\"}");
  }

  /**
   * Opens a watch on every key under {@code prefix} from {@code startRevision}: one JSON message a line, until the
   * connection ends. Blocks until the stream opens. Close the stream to cancel.
   */
  public Stream<String> watch(String prefix, long startRevision) throws EtcdException {
    String body = "{\"create_request\":{\"key\":\"" + b64(prefix) + "\",\"range_end\":\"" + b64End(prefix)
        + "\",\"start_revision\":\"" + startRevision + "\"}}";
    return send("/v3/watch", body, false, HttpResponse.BodyHandlers.ofLines());
  }

  /** Parses one JSON message (a watch line). */
  public static Struct parse(String json) throws EtcdException {
    Struct.Builder b = Struct.newBuilder();
    try {
      JSON.merge(json, b);
    } catch (InvalidProtocolBufferException e) {
      throw new EtcdException("etcd answered something that is not JSON: " + json, e);
    }
    return b.build();
  }

  static KeyValue keyValue(Struct kv) {
    return new KeyValue(unb64(string(kv, "key")), unb64(string(kv, "value")), number(kv, "mod_revision"));
  }

  static long revision(Struct r) {
    Value h = r.getFieldsMap().get("header");
    return h == null ? 0 : number(h.getStructValue(), "revision");
  }

  static List<Value> list(Struct s, String field) {
    Value v = s.getFieldsMap().get(field);
    return v == null ? List.of() : v.getListValue().getValuesList();
  }

  static String string(Struct s, String field) {
    Value v = s.getFieldsMap().get(field);
    return v == null ? "" : v.getStringValue();
  }

  static boolean bool(Struct s, String field) {
    Value v = s.getFieldsMap().get(field);
    return v != null && v.getBoolValue();
  }

  static long number(Struct s, String field) {
    Value v = s.getFieldsMap().get(field);
    if (v == null) {
      return 0;
    }
    return v.hasNumberValue() ? (long) v.getNumberValue() : Long.parseLong(v.getStringValue());
  }

  /** Base64 of the end of the range of every key starting with {@code prefix} (its last byte plus one). */
  static String b64End(String prefix) {
    byte[] b = prefix.getBytes(StandardCharsets.UTF_8);
    b[b.length - 1]++;
    return Base64.getEncoder().encodeToString(b);
  }

  private static String put(Op op) {
    return "{\"key\":\"" + b64(op.key()) + "\",\"value\":\"" + b64(op.value()) + "\""
        + (op.lease() != 0 ? ",\"lease\":\"" + op.lease() + "\"" : "") + "}";
  }

  private static String b64(String s) {
    return Base64.getEncoder().encodeToString(s.getBytes(StandardCharsets.UTF_8));
  }

  private static String unb64(String s) {
    return new String(Base64.getDecoder().decode(s), StandardCharsets.UTF_8);
  }

  private Struct call(String path, String body) throws EtcdException {
    String text = send(path, body, true, HttpResponse.BodyHandlers.ofString());
    return parse(text);
  }

  /**
   * Sends with the auth token when an etcd user is set: fetched before the first call, fetched again once when etcd
   * answers 401 (the token expired or etcd restarted), then the call is repeated.
   */
  private <T> T send(String path, String body, boolean bounded, HttpResponse.BodyHandler<T> handler)
      throws EtcdException {
    if (!security.hasAuth()) {
      return send(path, body, bounded, handler, null);
    }
    String current = token;
    if (current == null) {
      current = authenticate();
    }
    try {
      return send(path, body, bounded, handler, current);
    } catch (EtcdException e) {
      if (!e.unauthenticated()) {
        throw e;
      }
      return send(path, body, bounded, handler, authenticate());
    }
  }

  /** Trades the user and password for a token ({@code /v3/auth/authenticate}). */
  private synchronized String authenticate() throws EtcdException {
    String password;
    try {
      password = security.password();
    } catch (IOException e) {
      throw EtcdException.refused(e.getMessage());
    }
    String body;
    try {
      body = JsonFormat.printer().omittingInsignificantWhitespace().print(Struct.newBuilder()
          .putFields("name", Value.newBuilder().setStringValue(security.user()).build())
          .putFields("password", Value.newBuilder().setStringValue(password).build()));
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException(e); // a Struct of two strings always prints
    }
    Struct r;
    try {
      r = parse(send("/v3/auth/authenticate", body, true, HttpResponse.BodyHandlers.ofString(), null));
    } catch (EtcdException e) {
      if (e.refused()) {
        throw EtcdException.refused("etcd refused user '" + security.user() + "' (--etcd-user, --etcd-password-file "
            + security.passwordFile() + "): " + e.getMessage());
      }
      throw e;
    }
    String t = string(r, "token");
    if (t.isEmpty()) {
      throw EtcdException.refused("etcd answered user '" + security.user() + "' without a token: is auth enabled on "
          + "etcd (etcdctl auth enable)? Without auth, leave out --etcd-user");
    }
    token = t;
    return t;
  }

  private <T> T send(String path, String body, boolean bounded, HttpResponse.BodyHandler<T> handler, String auth)
      throws EtcdException {
    List<String> failures = new ArrayList<>();
    boolean unanswered = false;
    int tlsFailures = 0;
    int start = preferred;
    for (int i = 0; i < endpoints.size(); i++) {
      int at = (start + i) % endpoints.size();
      URI uri = endpoints.get(at).resolve(path);
      HttpRequest.Builder req = HttpRequest.newBuilder(uri).header("Content-Type", "application/json")
          .POST(HttpRequest.BodyPublishers.ofString(body));
      if (auth != null) {
        req.header("Authorization", auth);
      }
      if (bounded) {
        req.timeout(timeout);
      }
      try {
        HttpResponse<T> resp = http.send(req.build(), handler);
        if (resp.statusCode() != 200) {
          String detail = resp.body() instanceof String s ? s : "";
          if (resp.body() instanceof Stream<?> st) {
            st.close();
          }
          if (resp.statusCode() >= 500) {
            // This member cannot serve (no leader, shutting down): another may.
            failures.add(uri.resolve("/") + ": HTTP " + resp.statusCode() + " " + detail.strip());
            continue;
          }
          String message = "etcd " + uri + " answered HTTP " + resp.statusCode() + " " + detail.strip();
          if (resp.statusCode() == 401 && auth != null) {
            token = null;
            throw EtcdException.unauthenticated(message);
          }
          if (resp.statusCode() == 403 && security.hasAuth()) {
            message += " (etcd user '" + security.user() + "' needs a role granting readwrite on the --etcd-prefix keys)";
          } else if (resp.statusCode() == 403 || detail.contains("user name is empty")) {
            message += " (etcd has auth enabled: give --etcd-user and --etcd-password-file)";
          } else if (detail.contains("CommonName of client")) {
            message += " (etcd refuses gateway requests whose client certificate has a CN: issue --etcd-cert without one)";
          }
          throw EtcdException.refused(message);
        }
        preferred = at;
        return resp.body();
      } catch (java.net.http.HttpTimeoutException e) {
        unanswered = true;
        failures.add(uri.resolve("/") + ": no answer within " + timeout.toMillis() + " ms");
      } catch (IOException e) {
        if (tlsFailure(e)) {
          tlsFailures++;
          failures.add(uri.resolve("/") + ": TLS handshake failed (" + e.getMessage() + ")");
          continue;
        }
        failures.add(uri.resolve("/") + ": " + (e instanceof java.net.ConnectException ? "connection refused"
            : e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage()));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new EtcdException("interrupted while calling etcd " + uri, e);
      }
    }
    String message = "etcd unavailable (" + path + "): " + String.join("; ", failures);
    if (tlsFailures == endpoints.size()) {
      throw EtcdException.refused(message + " (check --etcd-cacert, --etcd-cert and --etcd-key against etcd's "
          + "--trusted-ca-file, --cert-file and --client-cert-auth)");
    }
    throw new EtcdException(message, unanswered);
  }

  /**
   * A handshake that failed over certificates: etcd's not trusted here, or ours refused there (a fatal alert about a
   * certificate). Asking again will not help. Other TLS failures (a reset while etcd restarts) are retried.
   */
  private static boolean tlsFailure(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof java.security.cert.CertificateException) {
        return true;
      }
      if (t instanceof javax.net.ssl.SSLHandshakeException && t.getMessage() != null
          && t.getMessage().matches("(?s).*(certificate|unknown_ca|access_denied|PKIX|No subject alternative).*")) {
        return true;
      }
    }
    return false;
  }
}
