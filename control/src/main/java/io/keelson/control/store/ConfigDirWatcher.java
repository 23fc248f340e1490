package io.keelson.control.store;

import io.keelson.control.policy.Policy;
import io.keelson.control.policy.PolicyException;
import io.keelson.control.policy.PolicyParser;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps the store in step with the {@code *.yaml}/{@code *.yml} files of a directory: a file added or
 * changed replaces the documents it held before, a file removed takes its documents away. A bad file
 * is reported (see {@link #lastError()}) and the previous good state kept. Polls content (not
 * timestamps, which editors and coarse clocks make unreliable) on its own daemon thread. A change a
 * shared store could not take (etcd unavailable) is tried again at every scan until it is taken.
 */
public final class ConfigDirWatcher implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(ConfigDirWatcher.class);
  private final Path dir;
  private final PolicyStore store;
  private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
    Thread t = new Thread(r, "keelson-config-dir");
    t.setDaemon(true);
    return t;
  });
  // Watcher thread only: file -> content last applied (or last rejected, so it is reported once).
  private final Map<Path, String> seen = new HashMap<>();
  private volatile String lastError;

  public ConfigDirWatcher(Path dir, PolicyStore store) {
    this.dir = dir.toAbsolutePath();
    this.store = store;
  }

  /** Applies the directory's files now (errors are reported, not thrown), then polls every {@code period}. */
  public ConfigDirWatcher start(java.time.Duration period) {
    try {
      timer.submit(this::scan).get();
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
    timer.scheduleWithFixedDelay(this::scan, period.toMillis(), period.toMillis(), TimeUnit.MILLISECONDS);
    return this;
  }

  /** The last rejection, as file: document: path: reason lines; null when the last scan applied cleanly. */
  public String lastError() {
    return lastError;
  }

  private void scan() {
    try {
      Map<Path, String> now = new HashMap<>();
      if (Files.isDirectory(dir)) {
        try (Stream<Path> files = Files.list(dir)) {
          for (Path f : files.sorted().toList()) {
            String n = f.getFileName().toString();
            if (Files.isRegularFile(f) && (n.endsWith(".yaml") || n.endsWith(".yml")) && !n.startsWith(".")) {
              now.put(f, Files.readString(f));
            }
          }
        }
      }
      for (Path gone : List.copyOf(seen.keySet())) {
        if (!now.containsKey(gone)) {
          reapply(gone, null);
        }
      }
      for (var e : now.entrySet()) {
        if (!e.getValue().equals(seen.get(e.getKey()))) {
          reapply(e.getKey(), e.getValue());
        }
      }
    } catch (IOException | RuntimeException e) {
      LOG.warn("cannot scan config dir {}: {}", dir, e.toString());
    }
  }

  private void reapply(Path file, String text) {
    String name = file.toString();
    try {
      List<Policy> docs = text == null ? List.of() : PolicyParser.parse(name, text).policies();
      var change = store.change(p -> p.meta().file().equals(name), docs, false);
      LOG.info("config dir: {} {} (created {}, configured {}, deleted {})", name, text == null ? "removed" : "applied",
          change.created(), change.configured(), change.deleted());
      lastError = null;
    } catch (PolicyException e) {
      if (e.retryable()) {
        // The store (etcd) could not take it now: try again at the next scan; say so once.
        if (!e.getMessage().equals(lastError)) {
          LOG.warn("config dir: {} not applied yet, retrying:\n{}", name, e.getMessage());
        }
        lastError = e.getMessage();
        return;
      }
      lastError = e.getMessage();
      LOG.warn("config dir: {} rejected, keeping the previous state:\n{}", name, e.getMessage());
    }
    if (text == null) {
      seen.remove(file);
    } else {
      seen.put(file, text);
    }
  }

  @Override
  public void close() {
    timer.shutdownNow();
  }
}
