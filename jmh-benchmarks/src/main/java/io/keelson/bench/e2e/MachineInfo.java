package io.keelson.bench.e2e;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** The machine a result came from, as BENCHMARKS.md requires every result to say. Immutable. */
record MachineInfo(int nproc, String cpuModel, String kernel, String os, String jdk, List<String> benchJvmFlags,
         String loadAverageAtStart, String loadAverage) {

  /** /proc/loadavg: how busy the (shared) machine was, which a reader needs to judge the numbers. */
  static String loadAverageNow() {
    return firstLine(Path.of("/proc/loadavg"), "unknown");
  }

  static MachineInfo collect(String loadAverageAtStart) {
    return new MachineInfo(Runtime.getRuntime().availableProcessors(), readCpuModel(),
      firstLine(Path.of("/proc/sys/kernel/osrelease"), System.getProperty("os.version")),
      osName(),
      System.getProperty("java.vm.vendor") + " " + System.getProperty("java.vm.name") + " " + Runtime.version(),
      ManagementFactory.getRuntimeMXBean().getInputArguments(), loadAverageAtStart, loadAverageNow());
  }

  static String readCpuModel() {
    try {
      return Files.readAllLines(Path.of("/proc/cpuinfo")).stream()
        .filter(l -> l.startsWith("model name"))
        .map(l -> l.substring(l.indexOf(':') + 1).strip())
        .findFirst().orElse("unknown");
    } catch (IOException e) {
      return "unknown";
    }
  }

  private static String osName() {
    try {
      return Files.readAllLines(Path.of("/etc/os-release")).stream()
        .filter(l -> l.startsWith("PRETTY_NAME="))
        .map(l -> l.substring("PRETTY_NAME=".length()).replace("\"", ""))
        .findFirst().orElse(System.getProperty("os.name"));
    } catch (IOException e) {
      return System.getProperty("os.name");
    }
  }

  private static String firstLine(Path p, String fallback) {
    try {
      return Files.readString(p).strip();
    } catch (IOException e) {
      return fallback;
    }
  }
}
