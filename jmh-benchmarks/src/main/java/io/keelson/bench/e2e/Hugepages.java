package io.keelson.bench.e2e;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * 2 MB hugepages for the packet benchmark's hugepage variant: reserves them and mounts hugetlbfs when it
 * can (as root), or says what is missing and the commands that would fix it; {@link #release} then puts
 * back what {@link #ensure} changed (2 GiB of reserved hugepages are memory nothing else can use). One
 * instance per benchmark run; not thread-safe.
 */
final class Hugepages {
  /** Pages to reserve: testpmd maps 1024 MB (512 pages), the gateway 512 MB, one process at a time. */
  static final int PAGES = 1024;
  /** Free pages a run needs (testpmd's 1024 MB). */
  static final int NEEDED_FREE = 512;
  static final String HOW = "as root: echo " + PAGES + " > /proc/sys/vm/nr_hugepages; mkdir -p /dev/hugepages;"
      + " mount -t hugetlbfs nodev /dev/hugepages";

  private final Path proc;
  /** The reservation {@link #ensure} found and raised, or -1 when it raised none. */
  private long raisedFrom = -1;
  /** Whether {@link #ensure} mounted the hugetlbfs at /dev/hugepages. */
  private boolean mountedHere;

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
      long reserved = Long.parseLong(Files.readString(nr).trim());
      if (reserved < PAGES && Files.isWritable(nr)) {
        Files.writeString(nr, PAGES + "\n");
        if (raisedFrom < 0) {
          raisedFrom = reserved;
        }
      }
      long free = meminfo("HugePages_Free");
      if (free < NEEDED_FREE) {
        release(); // the benchmark will not run: leave nothing reserved
        return free + " free 2 MB hugepages, " + NEEDED_FREE + " needed (" + HOW + ")";
      }
      if (!mounted()) {
        if (!mount()) {
          release();
          return "no hugetlbfs is mounted and mounting one at /dev/hugepages failed (" + HOW + ")";
        }
        mountedHere = true;
      }
      return null;
    } catch (IOException | RuntimeException e) {
      return "cannot read or reserve hugepages: " + e.getMessage() + " (" + HOW + ")";
    }
  }

  /**
   * Puts back what {@link #ensure} changed: unmounts the hugetlbfs it mounted and lowers the reservation to
   * what it was. Null when done (or there was nothing to do), else what could not be undone and how.
   */
  String release() {
    String problem = null;
    if (mountedHere && !run("umount", "/dev/hugepages")) {
      problem = "could not unmount /dev/hugepages (as root: umount /dev/hugepages)";
    }
    mountedHere = false;
    if (raisedFrom >= 0) {
      try {
        Files.writeString(proc.resolve("sys/vm/nr_hugepages"), raisedFrom + "\n");
      } catch (IOException | RuntimeException e) {
        problem = (problem == null ? "" : problem + "; ") + "could not put the hugepage reservation back to "
            + raisedFrom + ": " + e.getMessage() + " (as root: echo " + raisedFrom + " > /proc/sys/vm/nr_hugepages)";
      }
      raisedFrom = -1;
    }
    return problem;
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
    return run("mount", "-t", "hugetlbfs", "nodev", "/dev/hugepages") && mounted();
  }

  /** Runs a command (at most 10 s); whether it exited 0. */
  private static boolean run(String... command) {
    try {
      Process p = new ProcessBuilder(command)
          .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
      if (!p.waitFor(10, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        return false;
      }
      return p.exitValue() == 0;
    } catch (IOException e) {
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }
}
