package io.keelson.dataplane.hw;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Loads hardware profiles by name (from {@code <keelson.home>/hw-profiles/NAME.yaml}) or by path.
 * Every error names the file and the field, and what was expected. {@code ${var}} in EAL and port
 * arguments is replaced from the variables given (the gateway's {@code --var name=value}).
 *
 * <p>Threading: stateless; safe from any thread.
 */
public final class HardwareProfiles {
  /** Where profiles are found by name: {@code <keelson.home>/hw-profiles}. */
  public static final String HOME_PROP = "keelson.home";
  public static final String DIRECTORY = "hw-profiles";

  private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
  private static final Pattern VARIABLE = Pattern.compile("\\$\\{([A-Za-z_][A-Za-z0-9_]*)}");
  private static final Set<String> TOP_LEVEL = Set.of(
      "name", "description", "driver", "eal", "ports", "cores", "queues", "rss", "burst_size",
      "mbuf_pool", "offloads", "features", "idle", "promiscuous", "verified", "note");

  private HardwareProfiles() {}

  /**
   * The profiles directory this process uses: {@code <keelson.home>/hw-profiles} (bin/keelson sets
   * keelson.home), else the nearest {@code hw-profiles} from the working directory up (tests run in a
   * module directory).
   */
  public static Path directory() {
    String home = System.getProperty(HOME_PROP);
    if (home != null) {
      return Path.of(home, DIRECTORY);
    }
    Path start = Path.of(System.getProperty("user.dir")).toAbsolutePath();
    for (Path dir = start; dir != null; dir = dir.getParent()) {
      if (Files.isDirectory(dir.resolve(DIRECTORY))) {
        return dir.resolve(DIRECTORY);
      }
    }
    return start.resolve(DIRECTORY);
  }

  /** Loads a profile by name (hw-profiles/NAME.yaml) or by path (anything with a '/' or ending .yaml). */
  public static HardwareProfile load(String nameOrPath, Map<String, String> variables) {
    Path file = nameOrPath.contains("/") || nameOrPath.endsWith(".yaml")
        ? Path.of(nameOrPath)
        : directory().resolve(nameOrPath + ".yaml");
    if (!Files.isRegularFile(file)) {
      throw new IllegalArgumentException("hardware profile '" + nameOrPath + "': no file " + file.toAbsolutePath()
          + " (profiles are hw-profiles/*.yaml; known: " + known() + ")");
    }
    JsonNode root;
    try {
      root = YAML.readTree(file.toFile());
    } catch (IOException e) {
      throw new IllegalArgumentException(file + ": not valid YAML: " + e.getMessage(), e);
    }
    return new Reader(file, variables).profile(root);
  }

  /** Names of the profiles in {@link #directory()}. */
  public static List<String> known() {
    try (var files = Files.list(directory())) {
      return files.map(p -> p.getFileName().toString())
          .filter(n -> n.endsWith(".yaml"))
          .map(n -> n.substring(0, n.length() - 5))
          .sorted()
          .toList();
    } catch (IOException e) {
      return List.of();
    }
  }

  /** A ${var} nobody set: an error, except in an optional port. */
  private static final class UnsetVariable extends IllegalArgumentException {
    UnsetVariable(String message) {
      super(message);
    }
  }

  /** Reads one file; holds the file name so every error can say where. */
  private record Reader(Path file, Map<String, String> variables) {

    HardwareProfile profile(JsonNode root) {
      if (root == null || !root.isObject()) {
        throw error("(top level)", "a mapping of profile fields");
      }
      for (Iterator<String> it = root.fieldNames(); it.hasNext(); ) {
        String field = it.next();
        if (!TOP_LEVEL.contains(field)) {
          throw error(field, "one of " + new java.util.TreeSet<>(TOP_LEVEL) + " (unknown field)");
        }
      }
      JsonNode queues = required(root, "queues", "queues");
      JsonNode pool = required(root, "mbuf_pool", "mbuf_pool");
      JsonNode offloads = root.path("offloads");
      QueueProfile q = new QueueProfile(
          positive(queues, "rx", "queues.rx", 1024),
          positive(queues, "tx", "queues.tx", 1024),
          positive(queues, "rx_ring", "queues.rx_ring", 65535),
          positive(queues, "tx_ring", "queues.tx_ring", 65535));
      List<Integer> cores = new ArrayList<>();
      JsonNode coreList = list(root, "cores");
      for (int i = 0; i < coreList.size(); i++) {
        JsonNode c = coreList.get(i);
        if (!c.canConvertToInt() || c.asInt() < 0) {
          throw error("cores[" + i + "]", "a CPU number >= 0, got " + c);
        }
        cores.add(c.asInt());
      }
      if (cores.size() < q.rx()) {
        throw error("cores", "one core per RX queue (" + q.rx() + "), got " + cores.size());
      }
      return new HardwareProfile(
          text(root, "name", true),
          text(root, "description", false),
          text(root, "driver", true),
          strings(root.path("eal"), "args", "eal.args", true),
          ports(root),
          cores,
          q,
          bits(root, "rss", "rss", OffloadFlags.RSS),
          positive(root, "burst_size", "burst_size", 512),
          new MbufPoolProfile(
              positive(pool, "size", "mbuf_pool.size", 16 * 1024 * 1024),
              nonNegative(pool, "cache", "mbuf_pool.cache", 512),
              positive(pool, "data_room", "mbuf_pool.data_room", 65535)),
          bits(offloads, "rx", "offloads.rx", OffloadFlags.RX),
          bits(offloads, "tx", "offloads.tx", OffloadFlags.TX),
          strings(root, "features", "features", false),
          idle(root.path("idle")),
          root.path("promiscuous").asBoolean(false),
          bool(root, "verified"),
          text(root, "note", true),
          file);
    }

    private List<PortProfile> ports(JsonNode root) {
      JsonNode ports = list(root, "ports");
      if (ports.isEmpty()) {
        throw error("ports", "at least one port");
      }
      List<PortProfile> out = new ArrayList<>();
      for (int i = 0; i < ports.size(); i++) {
        JsonNode p = ports.get(i);
        try {
          out.add(port(p, "ports[" + i + "]"));
        } catch (UnsetVariable e) {
          // An optional port (the exception tap) whose variables are not given is simply not wanted.
          if (!p.path("optional").asBoolean(false)) {
            throw e;
          }
        }
      }
      return out;
    }

    private PortProfile port(JsonNode p, String at) {
      String vdev = p.hasNonNull("vdev") ? substitute(p.get("vdev").asText(), at + ".vdev") : null;
      String pci = p.hasNonNull("pci") ? substitute(p.get("pci").asText(), at + ".pci") : null;
      if ((vdev == null) == (pci == null)) {
        throw error(at, "exactly one of vdev (a virtual device name) or pci (a PCI address)");
      }
      String name = p.path("name").asText("");
      if (name.isEmpty()) {
        throw error(at + ".name", "the port's role (wire, exception, sink, ...)");
      }
      String args = p.hasNonNull("args") ? substitute(p.get("args").asText(), at + ".args") : "";
      return new PortProfile(name, vdev, pci, args, p.path("optional").asBoolean(false));
    }

    private IdleProfile idle(JsonNode idle) {
      if (idle.isMissingNode()) {
        return IdleProfile.spin();
      }
      String s = idle.path("strategy").asText("spin");
      IdleProfile.Strategy strategy;
      try {
        strategy = IdleProfile.Strategy.parse(s);
      } catch (IllegalArgumentException e) {
        throw error("idle.strategy", "one of spin, yield, park; got '" + s + "'");
      }
      long minPark = idle.path("min_park_ns").asLong(1_000);
      long maxPark = idle.path("max_park_ns").asLong(1_000_000);
      if (minPark <= 0 || maxPark < minPark) {
        throw error("idle.max_park_ns", "0 < min_park_ns <= max_park_ns, got " + minPark + " and " + maxPark);
      }
      return new IdleProfile(strategy, idle.path("max_spins").asInt(100), idle.path("max_yields").asInt(10),
          minPark, maxPark);
    }

    private long bits(JsonNode parent, String field, String path, Map<String, Long> names) {
      long value = 0;
      for (String name : strings(parent, field, path, false)) {
        Long bit = names.get(name);
        if (bit == null) {
          throw error(path, "names from " + new java.util.TreeSet<>(names.keySet()) + "; got '" + name + "'");
        }
        value |= bit;
      }
      return value;
    }

    private List<String> strings(JsonNode parent, String field, String path, boolean substitute) {
      JsonNode node = parent.path(field);
      if (node.isMissingNode() || node.isNull()) {
        return List.of();
      }
      if (!node.isArray()) {
        throw error(path, "a list of strings, got " + node.getNodeType());
      }
      List<String> out = new ArrayList<>();
      for (int i = 0; i < node.size(); i++) {
        JsonNode v = node.get(i);
        if (!v.isValueNode()) {
          throw error(path + "[" + i + "]", "a string, got " + v.getNodeType());
        }
        out.add(substitute ? substitute(v.asText(), path + "[" + i + "]") : v.asText());
      }
      return out;
    }

    private JsonNode list(JsonNode parent, String field) {
      JsonNode node = parent.path(field);
      if (!node.isArray()) {
        throw error(field, "a list");
      }
      return node;
    }

    private JsonNode required(JsonNode parent, String field, String path) {
      JsonNode node = parent.path(field);
      if (!node.isObject()) {
        throw error(path, "a mapping");
      }
      return node;
    }

    private String text(JsonNode parent, String field, boolean required) {
      JsonNode node = parent.path(field);
      if (node.isMissingNode() || node.isNull()) {
        if (required) {
          throw error(field, "a value (required)");
        }
        return "";
      }
      return node.asText();
    }

    private boolean bool(JsonNode parent, String field) {
      JsonNode node = parent.path(field);
      if (!node.isBoolean()) {
        throw error(field, "true or false");
      }
      return node.asBoolean();
    }

    private int positive(JsonNode parent, String field, String path, int max) {
      JsonNode node = parent.path(field);
      if (!node.canConvertToInt() || node.asInt() < 1 || node.asInt() > max) {
        throw error(path, "an integer in [1, " + max + "], got " + (node.isMissingNode() ? "nothing" : node));
      }
      return node.asInt();
    }

    private int nonNegative(JsonNode parent, String field, String path, int max) {
      JsonNode node = parent.path(field);
      if (!node.canConvertToInt() || node.asInt() < 0 || node.asInt() > max) {
        throw error(path, "an integer in [0, " + max + "], got " + (node.isMissingNode() ? "nothing" : node));
      }
      return node.asInt();
    }

    private String substitute(String value, String path) {
      Matcher m = VARIABLE.matcher(value);
      StringBuilder out = new StringBuilder();
      while (m.find()) {
        String v = variables.get(m.group(1));
        if (v == null) {
          throw new UnsetVariable(error(path,
              "variable ${" + m.group(1) + "} to be set (pass --var " + m.group(1) + "=VALUE)").getMessage());
        }
        m.appendReplacement(out, Matcher.quoteReplacement(v));
      }
      m.appendTail(out);
      return out.toString();
    }

    private IllegalArgumentException error(String field, String expected) {
      return new IllegalArgumentException(file + ": field '" + field + "': expected " + expected);
    }
  }
}
