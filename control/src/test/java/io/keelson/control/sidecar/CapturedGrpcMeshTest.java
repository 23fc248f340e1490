package io.keelson.control.sidecar;

import static org.assertj.core.api.Assertions.assertThat;

import static io.keelson.control.sidecar.CapturedMesh.appUser;
import static io.keelson.testkit.Shell.in;
import static io.keelson.testkit.Shell.run;

import io.keelson.testkit.Shell.Result;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.Test;

/**
 * gRPC through two captured sidecars ({@code bin/keelson iptables}, {@code --capture iptables}), real processes only:
 * a grpc-java server app ({@link GrpcMeshApp}, its own JVM) on 0.0.0.0:50051 in the server namespace, and a
 * grpc-java client JVM in the client namespace that dials the server's pod address 10.77.2.2:50051 with
 * {@code :authority grpc-echo:50051}, knowing nothing of the mesh. Both apps run as uid 65534, so iptables captures
 * them; the sidecars have identities and the mesh is STRICT. The client's calls (unary, server, client and bidi
 * streaming, a NOT_FOUND status) cross: client sidecar virtualOutbound → {@code 0.0.0.0_50051} (h2c from the app) →
 * HTTP/2 over mTLS (h2 by ALPN) → server sidecar virtualInbound → {@code inbound|50051} over HTTP/2 → the app, which
 * speaks nothing but HTTP/2. The apps' classpath (grpc-java, Guava, the app's classes) is copied to a world-readable
 * directory (the build's is under /root). Skipped, with the reason printed, without root or the tools.
 */
class CapturedGrpcMeshTest {
  private static final String POLICIES = """
      apiVersion: keelson.io/v1alpha1
      kind: Service
      metadata: { name: grpc-echo }
      spec:
        ports: [ { name: grpc, port: 50051 } ]
      ---
      apiVersion: keelson.io/v1alpha1
      kind: Service
      metadata: { name: frontend }
      spec:
        ports: [ { name: http, port: 8000 } ]
      ---
      apiVersion: security.istio.io/v1
      kind: PeerAuthentication
      metadata: { name: default, namespace: default }
      spec: { mtls: { mode: STRICT } }
      """;
  private static final List<String> APP_JARS = List.of("grpc-api-", "grpc-core-", "grpc-context-", "grpc-netty-shaded-",
      "grpc-stub-", "grpc-util-", "guava-", "failureaccess-", "perfmark-api-");

  @AutoClose private CapturedMesh m;
  private Path appClasspath;

  @Test
  void aGrpcClientAppReachesAGrpcServerAppThroughTwoCapturedSidecarsOverStrictMtls() throws Exception {
    m = CapturedMesh.create("CapturedGrpcMeshTest");
    m.topology(1);
    String server = m.server(0);
    m.control(POLICIES);
    m.iptables();
    String cp = appClasspath();
    m.start(server, "grpc-app", appUser(java(cp, "server", "0.0.0.0", "50051", "v1")));
    Path root = m.dir.resolve("root.pem");
    Files.writeString(root, m.awaitRootPem());
    m.start(server, "server-sidecar", CapturedMesh.sidecar(m.secureXds(root, "echo"), "grpc-echo", "50051", "10.77.2.2"));
    m.start(m.client, "client-sidecar", CapturedMesh.sidecar(m.secureXds(root, "frontend"), "frontend", "8000",
        "10.77.1.2"));
    m.awaitOutput(m.client, "0.0.0.0_50051::0.0.0.0:50051", "curl", "-s", "http://127.0.0.1:9901/listeners");
    m.awaitOutput(server, "virtualInbound", "curl", "-s", "http://127.0.0.1:9901/config_dump");
    m.awaitOutput(server, "serving on 50051", "cat", m.dir.resolve("grpc-app.log").toString());

    // The endpoints may still be on their way: a few tries, each a fresh client JVM.
    Result calls = null;
    for (int i = 0; i < 5 && (calls == null || calls.exit() != 0); i++) {
      calls = run(in(m.client, appUser(java(cp, "client", "10.77.2.2", "50051", "grpc-echo:50051"))), 90);
    }
    assertThat(calls.exit()).as(calls.out() + m.logs()).isZero();
    assertThat(calls.out()).contains("unary=v1:hi", "count=[v1:0, v1:1, v1:2]", "join=v1:a,b,c",
        "chat=[v1 echo x, v1 echo y]", "error=NOT_FOUND: gone");
    // Over mTLS between the sidecars, HTTP/2 on both hops.
    assertThat(m.statSum(m.client, "cluster.grpc-echo.ssl.handshake")).as("client sidecar's mTLS handshakes").isPositive();
    assertThat(m.statSum(m.server(0), ".ssl.handshake")).as("server sidecar's inbound mTLS handshakes").isPositive();
    String clusters = run(in(m.client, "curl", "-s", "http://127.0.0.1:9901/config_dump"), 20).out();
    assertThat(clusters).contains("http2_protocol_options");
  }

  /** A JVM running {@link GrpcMeshApp} with {@code args}, on the copied classpath. */
  private static String[] java(String classpath, String... args) {
    List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-cp", classpath, GrpcMeshApp.class.getName()));
    command.addAll(List.of(args));
    return command.toArray(new String[0]);
  }

  /** grpc-java's jars and GrpcMeshApp's classes, copied where uid 65534 can read them; the classpath. */
  private String appClasspath() throws IOException {
    appClasspath = Files.createTempDirectory("keelson-grpc-app-");
    List<String> entries = new ArrayList<>();
    for (String entry : System.getProperty("java.class.path").split(java.io.File.pathSeparator)) {
      Path p = Path.of(entry);
      String name = p.getFileName().toString();
      if (name.endsWith(".jar") && APP_JARS.stream().anyMatch(name::startsWith)) {
        Path copy = appClasspath.resolve(name);
        Files.copy(p, copy, StandardCopyOption.REPLACE_EXISTING);
        entries.add(copy.toString());
      }
    }
    Path classes = appClasspath.resolve("classes");
    String pkg = GrpcMeshApp.class.getPackageName().replace('.', '/');
    Path from = Path.of(GrpcMeshApp.class.getProtectionDomain().getCodeSource().getLocation().getPath()).resolve(pkg);
    Files.createDirectories(classes.resolve(pkg));
    try (var files = Files.list(from)) {
      for (Path f : files.filter(f -> f.getFileName().toString().startsWith(GrpcMeshApp.class.getSimpleName())).toList()) {
        Files.copy(f, classes.resolve(pkg).resolve(f.getFileName()), StandardCopyOption.REPLACE_EXISTING);
      }
    }
    entries.add(classes.toString());
    try (var all = Files.walk(appClasspath)) {
      for (Path p : all.toList()) {
        Files.setPosixFilePermissions(p, PosixFilePermissions.fromString(Files.isDirectory(p) ? "rwxr-xr-x" : "rw-r--r--"));
      }
    }
    assertThat(entries).as("grpc-java on the test classpath").anyMatch(e -> e.contains("grpc-netty-shaded-"));
    return String.join(java.io.File.pathSeparator, entries);
  }

  @AfterEach
  void tearDown() throws IOException {
    if (appClasspath != null) {
      try (var files = Files.walk(appClasspath)) {
        for (Path p : files.sorted(java.util.Comparator.reverseOrder()).toList()) {
          Files.deleteIfExists(p);
        }
      }
    }
  }
}
