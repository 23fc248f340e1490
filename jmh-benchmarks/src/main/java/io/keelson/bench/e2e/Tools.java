package io.keelson.bench.e2e;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * Finds the external programs the bench drives (nginx, haproxy, wrk, h2load, taskset) and installs
 * the missing ones from Debian when allowed (root and not --no-install). Single-threaded.
 */
final class Tools {
  /** A program and the Debian package that provides it. */
  record Tool(String binary, String debianPackage) {
    static final Tool NGINX = new Tool("nginx", "nginx-light");
    static final Tool HAPROXY = new Tool("haproxy", "haproxy");
    static final Tool WRK = new Tool("wrk", "wrk");
    static final Tool H2LOAD = new Tool("h2load", "nghttp2-client");
  }

  /** nginx and haproxy live in sbin, which a non-root PATH often lacks. */
  private static final List<String> EXTRA_DIRS =
      List.of("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin");

  private final boolean installAllowed;
  private final PrintStream log;
  private final Map<String, String> whyMissing = new LinkedHashMap<>();

  Tools(boolean installAllowed, PrintStream log) {
    this.installAllowed = installAllowed;
    this.log = log;
  }

  /** Absolute path of {@code binary} on PATH (or the usual sbin directories), or null. */
  String find(String binary) {
    Set<String> dirs = new LinkedHashSet<>();
    String path = System.getenv("PATH");
    if (path != null) {
      dirs.addAll(List.of(path.split(":")));
    }
    dirs.addAll(EXTRA_DIRS);
    for (String dir : dirs) {
      if (dir.isEmpty()) {
        continue;
      }
      Path p = Path.of(dir, binary);
      if (Files.isExecutable(p) && !Files.isDirectory(p)) {
        return p.toString();
      }
    }
    return null;
  }

  /**
   * Makes sure every tool is there, installing the missing ones in one apt-get call when
   * permitted. Afterwards {@link #find} answers and {@link #whyMissing} explains the gaps.
   */
  void ensure(Iterable<Tool> tools) {
    List<Tool> missing = new ArrayList<>();
    for (Tool t : tools) {
      if (find(t.binary()) == null && !missing.contains(t)) {
        missing.add(t);
      }
    }
    if (missing.isEmpty()) {
      return;
    }
    List<String> packages = missing.stream().map(Tool::debianPackage).distinct().toList();
    if (!installAllowed) {
      for (Tool t : missing) {
        whyMissing.put(t.binary(), t.binary() + " is not installed (--no-install given; install Debian package "
          + t.debianPackage() + ")");
      }
      return;
    }
    if (!isRoot()) {
      for (Tool t : missing) {
        whyMissing.put(t.binary(), t.binary() + " is not installed and the bench is not root, so it cannot install"
          + " it; run: sudo apt-get install -y " + t.debianPackage());
      }
      return;
    }
    log.println("keelson bench: installing " + String.join(" ", packages) + " with apt-get (missing: "
      + String.join(", ", missing.stream().map(Tool::binary).toList()) + ")");
    String failure = aptInstall(packages);
    for (Tool t : missing) {
      if (find(t.binary()) == null) {
        whyMissing.put(t.binary(), t.binary() + " is not installed: apt-get install " + t.debianPackage()
          + " failed" + (failure == null ? "" : " (" + failure + ")"));
      }
    }
  }

  /** Why {@code binary} is unavailable after {@link #ensure}, or a generic reason. */
  String whyMissing(String binary) {
    return whyMissing.getOrDefault(binary, binary + " is not installed");
  }

  static boolean isRoot() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
        if (line.startsWith("Uid:")) {
          return line.split("\\s+")[1].equals("0");
        }
      }
    } catch (IOException e) {
      return false;
    }
    return false;
  }

  /** Runs apt-get install (and apt-get update then again on failure); returns a failure reason or null. */
  private String aptInstall(List<String> packages) {
    try {
      Path aptLog = Files.createTempFile("keelson-bench-apt", ".log");
      List<String> install = new ArrayList<>(List.of("apt-get", "install", "-y", "-q"));
      install.addAll(packages);
      if (run(install, aptLog) == 0) {
        return null;
      }
      run(List.of("apt-get", "update", "-q"), aptLog);
      return run(install, aptLog) == 0 ? null : "see " + aptLog;
    } catch (IOException e) {
      return e.getMessage();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return "interrupted";
    }
  }

  private static int run(List<String> command, Path log) throws IOException, InterruptedException {
    ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true)
      .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
    pb.environment().put("DEBIAN_FRONTEND", "noninteractive");
    Process p = pb.start();
    if (!p.waitFor(10, TimeUnit.MINUTES)) {
      p.destroyForcibly();
      return -1;
    }
    return p.exitValue();
  }

  /** "dpdk 22.11.x" from dpkg, for tools without a version flag; "not installed" otherwise. */
  static String debianVersion(String pkg) {
    String v = version("/usr/bin/dpkg-query", "-W", "-f=${Version}", pkg);
    return v.startsWith("unknown") || v.contains("no packages found") ? "not installed (Debian package " + pkg + ")"
      : pkg + " " + v;
  }

  /** First line of a program's version output ({@code nginx -v} prints to stderr), or a reason. */
  static String version(String path, String... args) {
    if (path == null) {
      return "not installed";
    }
    List<String> cmd = new ArrayList<>();
    cmd.add(path);
    cmd.addAll(List.of(args));
    try {
      Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes()).strip();
      p.waitFor(10, TimeUnit.SECONDS);
      return out.isEmpty() ? "unknown" : out.lines().findFirst().orElse("unknown");
    } catch (IOException e) {
      return "unknown (" + e.getMessage() + ")";
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return "unknown";
    }
  }
}
