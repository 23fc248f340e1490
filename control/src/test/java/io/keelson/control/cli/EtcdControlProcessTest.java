package io.keelson.control.cli;

import static io.keelson.control.cli.CliRun.cli;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.keelson.control.cli.CliRun.Result;
import io.keelson.control.store.etcd.EtcdProcess;
import io.keelson.control.store.etcd.SecureEtcd;
import io.keelson.control.xds.Mesh;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code keelson control --store etcd} as real processes on a real etcd, driven by the CLI: an apply at
 * one replica is what {@code get} shows at the other, a delete at the other removes it everywhere; and
 * start-up without etcd fails naming the endpoints.
 */
class EtcdControlProcessTest {
  @TempDir
  Path dir;


  private Process control(Path log, String endpoints, String... more) throws Exception {
    Path java = Path.of(System.getProperty("java.home"), "bin", "java");
    List<String> cmd = new ArrayList<>(List.of(java.toString(), "--enable-native-access=ALL-UNNAMED", "-cp",
        System.getProperty("java.class.path"), KeelsonMain.class.getName(), "control", "--xds-port", "0",
        "--xds-tls-port", "-1", "--api-port", "0", "--store", "etcd", "--etcd-endpoints", endpoints,
        "--etcd-prefix", "/cli-test/"));
    if (!List.of(more).contains("--ca-cert")) {
      // Replicas on one prefix must share the mesh CA: every one gets the same root.
      io.keelson.control.ca.CaLoader.load(io.keelson.control.ca.CaOptions.selfSigned(dir.resolve("shared")));
      cmd.addAll(List.of("--ca-cert", dir.resolve("shared/ca/root-cert.pem").toString(),
          "--ca-key", dir.resolve("shared/ca/root-key.pem").toString()));
    }
    cmd.addAll(List.of(more));
    return new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
  }

  private static String awaitApi(Process p, Path log) {
    Pattern api = Pattern.compile("HTTP API on (http://[0-9.]+:\\d+)");
    return await().atMost(Duration.ofSeconds(30)).until(() -> {
      assertThat(p.isAlive()).as("control plane running: %s", Files.readString(log)).isTrue();
      Matcher m = api.matcher(Files.readString(log));
      return m.find() ? m.group(1) : null;
    }, s -> s != null);
  }

  /** Applies {@code file} at the replica {@code atA}; the replica {@code atB} shows it (through its etcd watch). */
  private static void appliedAtOneSeenAtTheOther(Path file, String atA, String atB) {
    Result applied = cli("apply", "-f", file.toString(), "--server", atA);
    assertThat(applied.code()).as(applied.err()).isZero();
    await().atMost(Duration.ofSeconds(10)).until(() -> cli("get", "workloads", "--server", atB).out()
        .contains("product-v2"));
  }

  @Test
  void twoReplicasOnOneEtcdShowEachOthersChangesThroughTheCli() throws Exception {
    Assumptions.assumeTrue(EtcdProcess.binary() != null, "the etcd binary is not on PATH (apt-get install etcd-server)");
    Path registry = Files.writeString(dir.resolve("registry.yaml"), Mesh.registry(8081, 8082));
    try (EtcdProcess etcd = new EtcdProcess()) {
      Process a = control(dir.resolve("a.log"), etcd.endpoint().toString());
      Process b = control(dir.resolve("b.log"), etcd.endpoint().toString());
      try {
        String atA = awaitApi(a, dir.resolve("a.log"));
        String atB = awaitApi(b, dir.resolve("b.log"));
        appliedAtOneSeenAtTheOther(registry, atA, atB);
        Result deleted = cli("delete", "workload", "product-v2", "--server", atB);
        assertThat(deleted.code()).as(deleted.err()).isZero();
        await().atMost(Duration.ofSeconds(10)).until(() -> !cli("get", "workloads", "--server", atA).out()
            .contains("product-v2"));
        assertThat(cli("get", "workloads", "--server", atA).out()).contains("product-v1");
        // A document written to etcd by hand that does not validate: every replica's status names its key.
        new io.keelson.control.store.etcd.EtcdClient(etcd.endpoints(), Duration.ofSeconds(2))
            .put("/cli-test/policies/HTTPRoute/junk", "not: [valid", 0);
        await().atMost(Duration.ofSeconds(10)).until(() -> cli("status", "--server", atB).out()
            .contains("store error: etcd policies: etcd key /cli-test/policies/HTTPRoute/junk"));
      } finally {
        a.destroy();
        b.destroy();
        assertThat(a.waitFor(10, TimeUnit.SECONDS)).isTrue();
        assertThat(b.waitFor(10, TimeUnit.SECONDS)).isTrue();
      }
    }
  }

  @Test
  void tokensAreSharedThroughTheCliAndAReplicaWithAnotherCaIsRefused() throws Exception {
    Assumptions.assumeTrue(EtcdProcess.binary() != null, "the etcd binary is not on PATH (apt-get install etcd-server)");
    io.keelson.control.ca.CaLoader.load(io.keelson.control.ca.CaOptions.selfSigned(dir.resolve("other")));
    try (EtcdProcess etcd = new EtcdProcess()) {
      Process a = control(dir.resolve("a.log"), etcd.endpoint().toString());
      Process b = control(dir.resolve("b.log"), etcd.endpoint().toString());
      Process c = null;
      try {
        String atA = awaitApi(a, dir.resolve("a.log"));
        String atB = awaitApi(b, dir.resolve("b.log"));
        Result created = cli("token", "create", "--namespace", "shop", "--service-account", "web",
            "--server", atA);
        assertThat(created.code()).as(created.err()).isZero();
        Matcher id = Pattern.compile("kjt\\.([0-9a-f]+)\\.").matcher(created.out());
        assertThat(id.find()).as(created.out()).isTrue();
        assertThat(cli("token", "list", "--server", atB).out()).contains(id.group(1));
        assertThat(cli("token", "revoke", id.group(1), "--server", atB).code()).isZero();
        assertThat(cli("token", "list", "--server", atA).out()).doesNotContain(id.group(1));

        c = control(dir.resolve("c.log"), etcd.endpoint().toString(), "--ca-cert",
            dir.resolve("other/ca/root-cert.pem").toString(), "--ca-key", dir.resolve("other/ca/root-key.pem").toString());
        assertThat(c.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(c.exitValue()).isEqualTo(1);
        assertThat(Files.readString(dir.resolve("c.log"))).contains("keelson control: this replica's mesh CA root",
            "/cli-test/ca/roots.pem", "--ca-cert/--ca-key");
      } finally {
        for (Process p : new Process[] {a, b, c}) {
          if (p != null) {
            p.destroy();
            assertThat(p.waitFor(10, TimeUnit.SECONDS)).isTrue();
          }
        }
      }
    }
  }

  @Test
  void startUpWithoutEtcdFailsNamingTheEndpoints() throws Exception {
    Process p = control(dir.resolve("down.log"), "http://127.0.0.1:1,http://127.0.0.1:2", "--etcd-timeout", "1s");
    try {
      assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
      assertThat(p.exitValue()).isEqualTo(1);
      assertThat(Files.readString(dir.resolve("down.log"))).contains("keelson control: etcd at "
          + "[http://127.0.0.1:1, http://127.0.0.1:2] did not answer within 1s", "connection refused");
    } finally {
      p.destroyForcibly();
    }
  }

  @Test
  void etcdFlagsAreChecked() {
    assertThat(cli("control", "--store", "etcd").err()).contains("--store etcd needs --etcd-endpoints");
    assertThat(cli("control", "--store", "zookeeper").err()).contains("expected embedded or etcd");
    assertThat(cli("control", "--store", "etcd", "--etcd-endpoints", "127.0.0.1:2379").err())
        .contains("expected http://HOST:PORT");
    assertThat(cli("control", "--store", "etcd", "--etcd-endpoints", "https://localhost:2379", "--etcd-cert",
        dir.resolve("c.crt").toString()).err()).contains("--etcd-cert needs --etcd-key");
    assertThat(cli("control", "--store", "etcd", "--etcd-endpoints", "http://127.0.0.1:2379", "--etcd-cacert",
        dir.resolve("ca.crt").toString()).err()).contains("need https:// --etcd-endpoints");
    assertThat(cli("control", "--store", "etcd", "--etcd-endpoints", "https://localhost:2379", "--etcd-cacert",
        dir.resolve("missing.crt").toString()).err()).contains("--etcd-cacert", "missing.crt", "no such file");
    assertThat(cli("control", "--store", "etcd", "--etcd-endpoints", "http://127.0.0.1:2379", "--etcd-user", "k").err())
        .contains("--etcd-user needs --etcd-password-file");
    assertThat(cli("control", "--store", "etcd", "--etcd-endpoints", "https://localhost:2379", "--etcd-user", "k",
        "--etcd-password-file", dir.resolve("nope").toString()).err()).contains("--etcd-password-file", "cannot read it");
    assertThat(cli("control", "--store", "etcd", "--etcd-endpoints", "http://127.0.0.1:2379", "--etcd-user", "k",
        "--etcd-password-file", dir.resolve("nope").toString()).err()).contains("--etcd-user over http://");
    assertThat(cli("control", "--store", "etcd", "--etcd-endpoints", "https://localhost:2379,http://127.0.0.1:2380")
        .err()).contains("mixes http:// and https://");
  }

  @Test
  void twoReplicasShareAnEtcdThatRequiresTlsClientCertificatesAndAUser() throws Exception {
    Assumptions.assumeTrue(EtcdProcess.binary() != null, "the etcd binary is not on PATH (apt-get install etcd-server)");
    Path registry = Files.writeString(dir.resolve("registry.yaml"), Mesh.registry(8081, 8082));
    try (SecureEtcd etcd = new SecureEtcd(Files.createDirectories(dir.resolve("etcd-tls")), "/cli-test/")) {
      String[] secure = {"--etcd-cacert", etcd.caFile.toString(), "--etcd-cert", etcd.clientCert.toString(),
          "--etcd-key", etcd.clientKey.toString(), "--etcd-user", SecureEtcd.USER, "--etcd-password-file",
          etcd.passwordFile.toString()};
      Process a = control(dir.resolve("a.log"), etcd.endpoint().toString(), secure);
      Process b = control(dir.resolve("b.log"), etcd.endpoint().toString(), secure);
      Process wrong = null;
      try {
        String atA = awaitApi(a, dir.resolve("a.log"));
        String atB = awaitApi(b, dir.resolve("b.log"));
        appliedAtOneSeenAtTheOther(registry, atA, atB); // B's watch runs with its own token
        // The keys really are in this etcd, readable only with a token.
        String keys = etcd.call("/v3/kv/range", "{\"key\":\"L2NsaS10ZXN0Lw==\",\"range_end\":\"L2NsaS10ZXN0MA==\","
            + "\"keys_only\":true}", etcd.token()).body();
        assertThat(keys).contains("\"count\"");
        assertThat(etcd.raw("/v3/kv/range", "{\"key\":\"L2NsaS10ZXN0Lw==\"}", null).statusCode()).isIn(400, 403);

        // A replica with a wrong password stops at once (not after --etcd-timeout), naming the user and the file.
        Path bad = Files.writeString(dir.resolve("bad-password"), "guess\n");
        String[] wrongPassword = secure.clone();
        wrongPassword[wrongPassword.length - 1] = bad.toString();
        long started = System.nanoTime();
        wrong = control(dir.resolve("wrong.log"), etcd.endpoint().toString(),
            java.util.stream.Stream.concat(java.util.Arrays.stream(wrongPassword), java.util.stream.Stream.of(
                "--etcd-timeout", "60s")).toArray(String[]::new));
        assertThat(wrong.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(System.nanoTime() - started).isLessThan(Duration.ofSeconds(30).toNanos());
        assertThat(wrong.exitValue()).isEqualTo(1);
        assertThat(Files.readString(dir.resolve("wrong.log"))).contains("refused this replica",
            "etcd refused user 'keelson'", bad.toString(), "authentication failed");
      } finally {
        for (Process p : new Process[] {a, b, wrong}) {
          if (p != null) {
            p.destroy();
            assertThat(p.waitFor(10, TimeUnit.SECONDS)).isTrue();
          }
        }
      }
    }
  }
}
