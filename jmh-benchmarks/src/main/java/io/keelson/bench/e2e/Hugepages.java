package io.keelson.bench.e2e;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * 2 MB hugepages for the packet benchmark's hugepage variant: reserves them and mounts hugetlbfs when it
 * can (as root), or says what is missing and the commands that would fix it. Stateless.
 */
final class Hugepages {
  /** Pages to reserve: testpmd maps 1024 MB (512 pages), the gateway 512 MB, one process at a time. */
  static final int PAGES = 1024;
  /** Free pages a run needs (testpmd's 1024 MB). */
  static final int NEEDED_FREE = 512;
  static final String HOW = "as root: echo " + PAGES + " > /proc/sys/vm/nr_hugepages; mkdir -p /dev/hugepages;"
      + " mount -t hugetlbfs nodev /dev/hugepages";

  private final Path proc;

  Hugepages(Path proc) {
    this.proc = proc;
  }

  static Hugepages system() {
    return new Hugepages(Path.of("/proc"));
  }

  /** Null when hugepages are reserved, free and mounted (after trying to set them up); else why not. */
  String ensure() {
    try {
      Path nr = proc.resolve("sys/vm/nr_hugepages");
      if (Long.parseLong(Files.readString(nr).trim()) < PAGES && Files.isWritable(nr)) {
        Files.writeString(nr, PAGES + "\n");
      }
      long free = meminfo("HugePages_Free");
      if (free < NEEDED_FREE) {
        return free + " free 2 MB hugepages, " + NEEDED_FREE + " needed (" + HOW + ")";
      }
      if (!mounted() && !mount()) {
        return "no hugetlbfs is mounted and mounting one at /dev/hugepages failed (" + HOW + ")";
      }
      return null;
    } catch (IOException | RuntimeException e) {
      return "cannot read or reserve hugepages: " + e.getMessage() + " (" + HOW + ")";
    }
  }

  long meminfo(String field) throws IOException {
    for (String line : Files.readAllLines(proc.resolve("meminfo"))) {
      if (line.startsWith(field + ":")) {
        return Long.parseLong(line.substring(field.length() + 1).trim().split("\\s+")[0]);
      }
    }
    throw new IOException(proc.resolve("meminfo") + " has no " + field);
  }

  boolean mounted() throws IOException {
    return Files.readAllLines(proc.resolve("mounts")).stream()
        .map(line -> line.split(" ")).anyMatch(fields -> fields.length > 2 && fields[2].equals("hugetlbfs"));
  }

  private boolean mount() throws IOException {
    Files.createDirectories(Path.of("/dev/hugepages"));
    try {
      Process p = new ProcessBuilder("mount", "-t", "hugetlbfs", "nodev", "/dev/hugepages")
          .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
      return p.waitFor(10, TimeUnit.SECONDS) && p.exitValue() == 0 && mounted();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }
}
