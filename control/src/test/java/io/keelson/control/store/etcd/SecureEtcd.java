package io.keelson.control.store.etcd;

import io.keelson.dataplane.testing.TestCa;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.List;

/**
 * A real etcd as production runs it, for tests: https with a test CA, client certificates required
 * ({@code --client-cert-auth}), and role-based auth enabled with a user that may read and write one prefix only.
 * Writes {@code ca.crt}, {@code client.crt}/{@code client.key} (no CN: etcd's JSON gateway refuses client
 * certificates with one) and {@code password} (the user's) into {@code dir}. Not thread-safe (the test's thread).
 */
public final class SecureEtcd implements AutoCloseable {
  public static final String USER = "keelson";
  public final EtcdProcess etcd;
  public final Path caFile;
  public final Path clientCert;
  public final Path clientKey;
  public final Path passwordFile;
  private final HttpClient http;

  /** @param moreArgs extra etcd flags (e.g. a short {@code --auth-token-ttl}) */
  public SecureEtcd(Path dir, String prefix, String... moreArgs) throws Exception {
    TestCa ca = new TestCa("etcd-test-ca");
    caFile = ca.write(dir, "ca.crt");
    Path serverCert = ca.issue("etcd", "localhost").write(dir, "server");
    Instant now = Instant.now();
    TestCa.Leaf client = ca.issueSubject("O=keelson", now.minus(Duration.ofHours(1)), now.plus(Duration.ofDays(1)));
    clientCert = client.write(dir, "client");
    clientKey = dir.resolve("client.key");
    passwordFile = Files.writeString(dir.resolve("password"), "s3cret pass\n");
    javax.net.ssl.SSLContext context = client.clientContext(ca);
    http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).sslContext(context)
        .connectTimeout(Duration.ofSeconds(2)).build();
    etcd = new EtcdProcess(new EtcdProcess.Tls(serverCert, dir.resolve("server.key"), caFile, context, List.of(moreArgs)));
    try {
      // As an operator would with etcdctl, through the gateway: root first (auth enable needs it), then the user.
      call("/v3/auth/user/add", "{\"name\":\"root\",\"password\":\"root-pw\"}", null);
      call("/v3/auth/user/grant", "{\"user\":\"root\",\"role\":\"root\"}", null);
      call("/v3/auth/role/add", "{\"name\":\"keelson-rw\"}", null);
      call("/v3/auth/role/grant", "{\"name\":\"keelson-rw\",\"perm\":{\"permType\":\"READWRITE\",\"key\":\"" + b64(prefix)
          + "\",\"range_end\":\"" + EtcdClient.b64End(prefix) + "\"}}", null);
      call("/v3/auth/user/add", "{\"name\":\"" + USER + "\",\"password\":\"s3cret pass\"}", null);
      call("/v3/auth/user/grant", "{\"user\":\"" + USER + "\",\"role\":\"keelson-rw\"}", null);
      call("/v3/auth/enable", "{}", null);
    } catch (Exception e) {
      etcd.close();
      throw e;
    }
  }

  public URI endpoint() {
    return etcd.endpoint();
  }

  /** The client the replicas should be configured as: the CA, the client certificate and the user. */
  public EtcdSecurity security() {
    return new EtcdSecurity(caFile, clientCert, clientKey, USER, passwordFile);
  }

  /** A fresh token for {@link #USER}. */
  public String token() throws Exception {
    String body = call("/v3/auth/authenticate", "{\"name\":\"" + USER + "\",\"password\":\"s3cret pass\"}", null).body();
    return EtcdClient.string(EtcdClient.parse(body), "token");
  }

  /** POSTs {@code json} with the client certificate (and {@code token} when not null); fails unless 200. */
  public HttpResponse<String> call(String path, String json, String token) throws Exception {
    HttpResponse<String> r = raw(path, json, token);
    if (r.statusCode() != 200) {
      throw new IllegalStateException(path + ": HTTP " + r.statusCode() + " " + r.body());
    }
    return r;
  }

  /** POSTs {@code json}, whatever the answer. */
  public HttpResponse<String> raw(String path, String json, String token) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(endpoint().resolve(path)).POST(HttpRequest.BodyPublishers.ofString(json));
    if (token != null) {
      b.header("Authorization", token);
    }
    return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  private static String b64(String s) {
    return Base64.getEncoder().encodeToString(s.getBytes(StandardCharsets.UTF_8));
  }

  @Override
  public void close() throws Exception {
    etcd.close();
  }
}
