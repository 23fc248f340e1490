package io.keelson.control.store;

import io.keelson.control.policy.Policy;
import io.keelson.control.policy.PolicyError;
import io.keelson.control.policy.PolicyException;
import io.keelson.control.policy.PolicyParser;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;

/**
 * Persists the applied state as one YAML file ({@code DIR/state.yaml}) replaced atomically, so a
 * restart finds either the old or the new state, never a mix. Each document keeps the file it came
 * from in a comment line. Called by {@link PolicyStore} under its lock.
 */
public final class DataDir {
  static final String FILE = "state.yaml";
  private static final String FROM = "# keelson-source: ";
  private final Path dir;

  public DataDir(Path dir) throws IOException {
    this.dir = dir;
    Files.createDirectories(dir);
  }

  PolicySet load() throws PolicyException {
    Path f = dir.resolve(FILE);
    if (!Files.exists(f)) {
      return PolicySet.EMPTY;
    }
    String text;
    try {
      text = Files.readString(f);
    } catch (IOException e) {
      throw new PolicyException(List.of(new PolicyError(f.toString(), "state", "", "cannot read: " + e.getMessage())));
    }
    List<Policy> all = new ArrayList<>();
    for (String chunk : text.split("(?m)^---\\s*$")) {
      if (chunk.isBlank()) {
        continue;
      }
      String source = f.toString();
      for (String line : chunk.lines().toList()) {
        if (line.startsWith(FROM)) {
          source = line.substring(FROM.length());
        }
      }
      all.addAll(PolicyParser.parse(source, chunk).policies());
    }
    return PolicySet.EMPTY.with(all);
  }

  void save(PolicySet state) throws PolicyException {
    StringBuilder b = new StringBuilder();
    for (Policy p : state.all()) {
      b.append("---\n").append(FROM).append(p.meta().file()).append('\n').append(p.meta().source());
    }
    Path tmp = dir.resolve(FILE + ".tmp");
    try {
      Files.writeString(tmp, b.toString(), StandardCharsets.UTF_8);
      try (var ch = java.nio.channels.FileChannel.open(tmp, java.nio.file.StandardOpenOption.WRITE)) {
        ch.force(true);
      }
      try {
        Files.move(tmp, dir.resolve(FILE), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      } catch (AtomicMoveNotSupportedException e) {
        Files.move(tmp, dir.resolve(FILE), StandardCopyOption.REPLACE_EXISTING);
      }
    } catch (IOException e) {
      throw new PolicyException(List.of(new PolicyError(dir.resolve(FILE).toString(), "state", "",
          "cannot write the state, nothing was applied: " + e.getMessage())));
    }
  }
}
