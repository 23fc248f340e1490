package io.keelson.bench.e2e;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Two proxies of one kind in a chain, load generator → A → B → upstream, the shape of
 * sidecar-to-sidecar traffic: keelson→keelson (static Envoy bootstraps, the same TLS path the sidecars'
 * SDS contexts use) or nginx→nginx. With {@code mtls}, A originates TLS with a client certificate
 * and B requires one, both from a throw-away mesh CA ({@link MeshBenchCerts}); Keelson also checks the
 * peer's SPIFFE URI SAN on both sides. Both proxies run under one {@code sh} on the proxy core
 * (core 0), so RSS and CPU are the pair's sum. Stateless.
 */
final class TwoHopPeer implements HttpPeer {
  private static final Duration START_TIMEOUT = Duration.ofSeconds(180);
  private final String name;
  private final String kind;
  private final boolean mtls;

  /** @param kind "keelson" or "nginx", also the peer's name in the results */
  TwoHopPeer(String kind, boolean mtls) {
    this(kind, kind, mtls);
  }

  /**
   * @param name the peer's name in the results: a variant's name (e.g. "keelson-mtls") when one scenario
   *             takes turns between a plaintext and an mTLS pair of the same kind
   * @param kind "keelson" or "nginx"
   */
  TwoHopPeer(String name, String kind, boolean mtls) {
    if (!kind.equals("keelson") && !kind.equals("nginx")) {
      throw new IllegalArgumentException("two-hop peer kind '" + kind + "'; expected keelson or nginx");
    }
    this.name = name;
    this.kind = kind;
    this.mtls = mtls;
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public List<Tools.Tool> tools() {
    return kind.equals("nginx") ? List.of(Tools.Tool.NGINX) : List.of();
  }

  @Override
  public String version(Tools tools) {
    return kind.equals("nginx") ? new NginxPeer().version(tools) : new KeelsonPeer().version(tools);
  }

  @Override
  public Contender start(PeerSetup setup) throws IOException, PeerStartException {
    Path dirA = setup.dir().resolve("hop-a");
    Path dirB = setup.dir().resolve("hop-b");
    Files.createDirectories(dirA);
    Files.createDirectories(dirB);
    MeshBenchCerts certs = mtls ? MeshBenchCerts.create(setup.dir().resolve("certs")) : null;
    int portA = FreePorts.next();
    int portB = FreePorts.next();
    List<String> cmdA;
    List<String> cmdB;
    URI readyA = null;
    URI readyB = null;
    Map<String, String> env = Map.of();
    if (kind.equals("keelson")) {
      PeerSetup.KeelsonLaunch launch = setup.keelson();
      if (launch.launcher() == null || !Files.isExecutable(launch.launcher())) {
        throw new PeerStartException("cannot find bin/keelson (" + launch.launcher()
          + "); run the bench through bin/keelson bench, which sets -Dkeelson.home");
      }
      int adminA = FreePorts.next();
      int adminB = FreePorts.next();
      Path confB = dirB.resolve("keelson.yaml");
      Files.writeString(confB, KeelsonBootstrap.twoHopB(portB, setup.upstreamHost(), setup.upstreamPort(), certs));
      Path confA = dirA.resolve("keelson.yaml");
      Files.writeString(confA, KeelsonBootstrap.twoHopA(portA, portB, certs));
      cmdB = keelsonCommand(launch, confB, adminB);
      cmdA = keelsonCommand(launch, confA, adminA);
      readyA = URI.create("http://127.0.0.1:" + adminA + "/ready");
      readyB = URI.create("http://127.0.0.1:" + adminB + "/ready");
      env = Map.of("KEELSON_JVM_OPTS", launch.jvmOpts());
    } else {
      String nginx = setup.tools().find("nginx");
      if (nginx == null) {
        throw new PeerStartException(setup.tools().whyMissing("nginx"));
      }
      var left = NginxPeer.modulesLeftOut(setup.tools());
      Path confB = NginxPeer.writeConfig(dirB,
          NginxConf.twoHopB(dirB, portB, setup.upstreamHost(), setup.upstreamPort(), left, certs));
      Path confA = NginxPeer.writeConfig(dirA, NginxConf.twoHopA(dirA, portA, portB, left, certs));
      cmdB = NginxPeer.command(nginx, dirB, confB);
      cmdA = NginxPeer.command(nginx, dirA, confA);
    }
    ManagedProcess p = ManagedProcess.start(name(), setup.cpus(), pairCommand(cmdA, cmdB),
        setup.dir().resolve("stdout.log"), env);
    Contender c = new Contender(name(), URI.create("http://127.0.0.1:" + portA + "/"), p);
    try {
      if (readyA != null) {
        HttpProbe.awaitOk(readyB, p, START_TIMEOUT);
        HttpProbe.awaitOk(readyA, p, START_TIMEOUT);
      }
      HttpProbe.awaitOk(c.target(), p, Duration.ofSeconds(30));
    } catch (PeerStartException e) {
      c.close();
      throw e;
    }
    return c;
  }

  /**
   * One process tree for the pair: {@code sh -c 'B & exec A'}. A replaces the shell, so B is A's child: the
   * runner's RSS and CPU sampling (the process tree) covers both hops, and stopping the tree stops both.
   */
  static List<String> pairCommand(List<String> hopA, List<String> hopB) {
    return List.of("sh", "-c", ShellWords.join(hopB) + " & exec " + ShellWords.join(hopA));
  }

  private static List<String> keelsonCommand(PeerSetup.KeelsonLaunch launch, Path conf, int admin) {
    List<String> cmd = new ArrayList<>(List.of(launch.launcher().toString(), "proxy", "--config", conf.toString(),
        "--admin", "127.0.0.1:" + admin, "--concurrency", "1"));
    cmd.addAll(launch.extraArgs());
    return cmd;
  }

  @Override
  public String toString() {
    return kind + " → " + kind + (mtls ? " (mTLS)" : " (plaintext)");
  }
}
