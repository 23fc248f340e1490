package io.keelson.control.cli;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A sub-command's parsed {@code --name value} options. Unknown options and missing values are errors
 * that name the option and list the accepted ones. Not thread-safe; used once at start-up.
 */
final class Args {
  private final String command;
  private final Map<String, List<String>> values = new HashMap<>();
  private final Set<String> flags;

  /**
   * @param withValue options that take a value
   * @param flags     options that take none
   */
  Args(String command, String[] argv, Set<String> withValue, Set<String> flags) {
    this.command = command;
    this.flags = flags;
    for (int i = 0; i < argv.length; i++) {
      String a = argv[i];
      String name = a;
      String inline = null;
      int eq = a.indexOf('=');
      if (a.startsWith("--") && eq > 0) {
        name = a.substring(0, eq);
        inline = a.substring(eq + 1);
      }
      if (flags.contains(name)) {
        values.computeIfAbsent(name, k -> new ArrayList<>()).add("true");
      } else if (withValue.contains(name)) {
        String v = inline;
        if (v == null) {
          if (i + 1 >= argv.length) {
            throw new UsageException(command + ": option " + name + " needs a value");
          }
          v = argv[++i];
        }
        values.computeIfAbsent(name, k -> new ArrayList<>()).add(v);
      } else {
        List<String> known = new ArrayList<>(withValue);
        known.addAll(flags);
        known.sort(null);
        throw new UsageException(command + ": unknown option '" + a + "'; accepted: " + String.join(" ", known));
      }
    }
  }

  boolean has(String name) {
    return values.containsKey(name);
  }

  String get(String name, String fallback) {
    List<String> v = values.get(name);
    return v == null ? fallback : v.getLast();
  }

  List<String> all(String name) {
    return values.getOrDefault(name, List.of());
  }

  int getInt(String name, int fallback) {
    String v = get(name, null);
    if (v == null) {
      return fallback;
    }
    try {
      return Integer.parseInt(v);
    } catch (NumberFormatException e) {
      throw new UsageException(command + ": " + name + " expects a whole number, got '" + v + "'");
    }
  }

  /** Parses HOST:PORT (IPv6 as [addr]:port). */
  HostPort hostPort(String name, String fallback) {
    String v = get(name, fallback);
    if (v == null) {
      return null;
    }
    int colon = v.lastIndexOf(':');
    if (colon <= 0 || colon == v.length() - 1) {
      throw new UsageException(command + ": " + name + " expects HOST:PORT, got '" + v + "'");
    }
    String host = v.substring(0, colon).replace("[", "").replace("]", "");
    try {
      int port = Integer.parseInt(v.substring(colon + 1));
      if (port < 0 || port > 65535) {
        throw new NumberFormatException();
      }
      return new HostPort(host, port);
    } catch (NumberFormatException e) {
      throw new UsageException(command + ": " + name + " port must be 0-65535, got '" + v + "'");
    }
  }

  record HostPort(String host, int port) {}

  /** A user error on the command line; printed without a stack trace, exit code 2. */
  static final class UsageException extends RuntimeException {
    UsageException(String message) {
      super(message, null, false, false);
    }
  }
}
