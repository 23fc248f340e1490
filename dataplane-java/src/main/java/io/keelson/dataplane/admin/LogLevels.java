package io.keelson.dataplane.admin;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogManager;
import java.util.logging.Logger;

/**
 * Envoy's admin {@code /logging} over java.util.logging (SLF4J's JDK binding): lists the loggers and
 * their levels, and sets the level of all of them or of one (a logger name, or a package: its
 * loggers inherit it). Levels use Envoy's names: trace, debug, info, warning (or warn), error,
 * critical, off. Thread-safe (java.util.logging is); called on the admin event loop.
 */
final class LogLevels {
  /** Envoy's level names, most verbose first, and their java.util.logging levels. */
  static final Map<String, Level> LEVELS;

  static {
    Map<String, Level> m = new LinkedHashMap<>();
    m.put("trace", Level.FINEST);
    m.put("debug", Level.FINE);
    m.put("info", Level.INFO);
    m.put("warning", Level.WARNING);
    m.put("warn", Level.WARNING);
    m.put("error", Level.SEVERE);
    m.put("critical", Level.SEVERE);
    m.put("off", Level.OFF);
    LEVELS = Collections.unmodifiableMap(m);
  }

  // java.util.logging keeps loggers weakly: a level set on one nobody else holds would be forgotten.
  private static final Map<String, Logger> CONFIGURED = new ConcurrentHashMap<>();

  private LogLevels() {}

  /** True when SLF4J logs through java.util.logging, so that levels set here take effect. */
  static boolean available() {
    return org.slf4j.LoggerFactory.getILoggerFactory().getClass().getName().contains("JDK14");
  }

  static String backend() {
    return org.slf4j.LoggerFactory.getILoggerFactory().getClass().getName();
  }

  /** Envoy's listing: {@code active loggers:} then {@code   name: level}, sorted; the root is "root". */
  static String list() {
    Map<String, String> out = new TreeMap<>();
    LogManager manager = LogManager.getLogManager();
    for (String name : Collections.list(manager.getLoggerNames())) {
      Logger l = manager.getLogger(name);
      if (l != null) {
        out.put(name.isEmpty() ? "root" : name, envoyName(effective(l)));
      }
    }
    StringBuilder b = new StringBuilder("active loggers:\n");
    out.forEach((n, lvl) -> b.append("  ").append(n).append(": ").append(lvl).append('\n'));
    return b.toString();
  }

  /**
   * Applies {@code level=L} (every logger) and {@code NAME=L} (one logger or package) pairs, all or
   * nothing. Returns null when applied, else what is wrong.
   */
  static String apply(Map<String, List<String>> params) {
    List<String> problems = new ArrayList<>();
    Map<String, Level> changes = new LinkedHashMap<>();
    for (Map.Entry<String, List<String>> e : params.entrySet()) {
      String value = e.getValue().isEmpty() ? "" : e.getValue().getLast();
      Level lvl = LEVELS.get(value.toLowerCase(Locale.ROOT));
      if (lvl == null) {
        problems.add("'" + value + "' is not a level for " + e.getKey() + "; expected one of " + LEVELS.keySet());
      } else if (e.getKey().isEmpty()) {
        problems.add("an empty logger name; expected level=L or LOGGER=L");
      } else {
        changes.put(e.getKey(), lvl);
      }
    }
    if (!problems.isEmpty()) {
      return String.join("\n", problems);
    }
    if (changes.isEmpty()) {
      return "nothing to change; expected level=L or LOGGER=L";
    }
    openHandlers();
    LogManager manager = LogManager.getLogManager();
    for (Map.Entry<String, Level> c : changes.entrySet()) {
      if (c.getKey().equals("level")) {
        Logger.getLogger("").setLevel(c.getValue());
        for (String name : Collections.list(manager.getLoggerNames())) {
          Logger l = manager.getLogger(name);
          if (l != null && l.getLevel() != null) {
            l.setLevel(c.getValue());
          }
        }
      } else {
        String name = c.getKey().equals("root") ? "" : c.getKey();
        Logger l = CONFIGURED.computeIfAbsent(name, Logger::getLogger);
        l.setLevel(c.getValue());
      }
    }
    return null;
  }

  /** Handlers filter too (the console's default is INFO): let the loggers' levels decide alone. */
  private static void openHandlers() {
    for (Handler h : Logger.getLogger("").getHandlers()) {
      if (h.getLevel().intValue() > Level.ALL.intValue()) {
        h.setLevel(Level.ALL);
      }
    }
  }

  private static Level effective(Logger l) {
    for (Logger at = l; at != null; at = at.getParent()) {
      if (at.getLevel() != null) {
        return at.getLevel();
      }
    }
    return Level.INFO;
  }

  static String envoyName(Level level) {
    int v = level.intValue();
    if (v == Level.OFF.intValue()) {
      return "off";
    }
    if (v >= Level.SEVERE.intValue()) {
      return "error";
    }
    if (v >= Level.WARNING.intValue()) {
      return "warning";
    }
    if (v >= Level.INFO.intValue()) {
      return "info";
    }
    if (v >= Level.FINE.intValue()) {
      return "debug";
    }
    return "trace";
  }
}
