package io.keelson.dataplane.discovery;

import io.netty.resolver.HostsFileEntriesProvider;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

/**
 * A hosts file (/etc/hosts) as c-ares reads it for every lookup: read again when it changed (its modification time,
 * size or file), checked at lookup time at most once per {@link #CHECK_NANOS}, so a busy resolver stats the file
 * once a second and parses it only after a change. A missing or unreadable file has no names. Confined to one thread
 * (the DNS client's event loop).
 */
final class HostsFile {
  static final Path ETC_HOSTS = Path.of("/etc/hosts");
  /** The least time between two checks of the file. */
  static final long CHECK_NANOS = 1_000_000_000L;

  private final Path path;
  private long checkedAt;
  private boolean checked;
  private Object version; // the attributes it was read with; null before a read or while missing
  private Map<String, List<InetAddress>> v4 = Map.of();
  private Map<String, List<InetAddress>> v6 = Map.of();

  HostsFile(Path path) {
    this.path = path;
  }

  /** {@code host}'s addresses in the file, IPv4 ones first; empty when it has none. */
  List<InetAddress> addresses(String host) {
    readIfChanged();
    String name = host.toLowerCase(Locale.ENGLISH);
    if (name.endsWith(".")) {
      name = name.substring(0, name.length() - 1);
    }
    List<InetAddress> out = new ArrayList<>(v4.getOrDefault(name, List.of()));
    out.addAll(v6.getOrDefault(name, List.of()));
    return out;
  }

  private void readIfChanged() {
    long now = System.nanoTime();
    if (checked && now - checkedAt < CHECK_NANOS) {
      return;
    }
    checked = true;
    checkedAt = now;
    Object current = attributes();
    if (Objects.equals(current, version)) {
      return;
    }
    version = current;
    HostsFileEntriesProvider entries = current == null ? null
        : HostsFileEntriesProvider.parser().parseSilently(path.toFile());
    v4 = entries == null ? Map.of() : entries.ipv4Entries();
    v6 = entries == null ? Map.of() : entries.ipv6Entries();
  }

  /** What tells one version of the file from another, or null when it cannot be read. */
  private Object attributes() {
    try {
      BasicFileAttributes a = Files.readAttributes(path, BasicFileAttributes.class);
      return new Version(a.lastModifiedTime(), a.size(), a.fileKey());
    } catch (IOException | SecurityException e) {
      return null;
    }
  }

  private record Version(FileTime modified, long size, Object fileKey) {}
}
