package io.keelson.bench.e2e;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A child process the bench started (a peer, the upstream, a load generator), with its output in a
 * log file and its whole process tree stopped on {@link #close()}. Not thread-safe except
 * {@link #close()}, which the shutdown hook may call concurrently.
 */
final class ManagedProcess implements AutoCloseable {
  private final String name;
  private final Process process;
  private final Path log;
  private final List<String> command;

  private ManagedProcess(String name, Process process, Path log, List<String> command) {
    this.name = name;
    this.process = process;
    this.log = log;
    this.command = command;
  }

  /**
   * Starts {@code command}, pinned to {@code cpus} with taskset when given, stdout and stderr
   * both into {@code log}. The process is registered so that it is stopped even on Ctrl-C.
   */
  static ManagedProcess start(String name, CpuPinning.Cpus cpus, List<String> command, Path log,
                Map<String, String> extraEnv) throws IOException {
    List<String> full = new ArrayList<>(cpus.prefix());
    full.addAll(command);
    ProcessBuilder pb = new ProcessBuilder(full)
      .redirectErrorStream(true)
      .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
      .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()));
    pb.environment().putAll(extraEnv);
    Process p = pb.start();
    ManagedProcess mp = new ManagedProcess(name, p, log, List.copyOf(full));
    ProcessRegistry.INSTANCE.add(mp);
    return mp;
  }

  String name() {
    return name;
  }

  long pid() {
    return process.pid();
  }

  Path log() {
    return log;
  }

  List<String> command() {
    return command;
  }

  boolean isAlive() {
    return process.isAlive();
  }

  /** Exit code when it has exited, else -1. */
  int exitCodeOrMinusOne() {
    return process.isAlive() ? -1 : process.exitValue();
  }

  /** Waits for exit; returns false on timeout (the process keeps running). */
  boolean waitFor(Duration timeout) throws InterruptedException {
    return process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
  }

  /** The process and its descendants (nginx workers, a JVM under taskset), leaves last. */
  List<ProcessHandle> tree() {
    List<ProcessHandle> all = new ArrayList<>();
    all.add(process.toHandle());
    process.toHandle().descendants().forEach(all::add);
    return all;
  }

  /** SIGTERM to the whole tree, then SIGKILL to whatever is left after a grace period. */
  @Override
  public void close() {
    List<ProcessHandle> tree = tree();
    // Descendants first: nginx's master would otherwise respawn a worker we just stopped.
    for (int i = tree.size() - 1; i >= 0; i--) {
      tree.get(i).destroy();
    }
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(3);
    for (ProcessHandle h : tree) {
      long left = deadline - System.nanoTime();
      try {
        if (left > 0) {
          h.onExit().get(left, TimeUnit.NANOSECONDS);
        }
      } catch (Exception timeoutOrInterrupt) {
        // falls through to the forcible kill below
      }
      if (h.isAlive()) {
        h.destroyForcibly();
      }
    }
    ProcessRegistry.INSTANCE.remove(this);
  }

  @Override
  public String toString() {
    return name + " (pid " + process.pid() + ")";
  }
}
