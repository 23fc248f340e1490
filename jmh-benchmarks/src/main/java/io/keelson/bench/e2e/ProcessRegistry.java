package io.keelson.bench.e2e;

import java.util.ArrayList;
import java.util.List;

/**
 * Every child process the bench has running, so a JVM shutdown (normal exit, Ctrl-C, SIGTERM)
 * leaves none behind. Thread-safe (synchronized).
 */
final class ProcessRegistry {
  static final ProcessRegistry INSTANCE = new ProcessRegistry();

  private final List<ManagedProcess> running = new ArrayList<>();

  private ProcessRegistry() {
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      int n = size();
      if (n > 0) {
        System.err.println("keelson bench: stopping " + n + " process(es) still running (interrupted?)");
      }
      stopAll();
    }, "keelson-bench-cleanup"));
  }

  synchronized void add(ManagedProcess p) {
    running.add(p);
  }

  synchronized int size() {
    return running.size();
  }

  synchronized void remove(ManagedProcess p) {
    running.remove(p);
  }

  void stopAll() {
    List<ManagedProcess> copy;
    synchronized (this) {
      copy = new ArrayList<>(running);
    }
    for (int i = copy.size() - 1; i >= 0; i--) {
      copy.get(i).close();
    }
  }
}
