package io.keelson.dataplane.discovery;

import io.netty.util.NetUtil;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The system resolver's settings as c-ares reads them from resolv.conf: its nameservers (port 53; 127.0.0.1 when it
 * lists none, as c-ares), its search list (the last {@code search} or {@code domain} line) and {@code options ndots:N}
 * (1 by default). A missing or unreadable file is one without any. Immutable.
 *
 * @param nameservers the servers it lists, in order; empty when none
 * @param search      the search list, in order
 * @param ndots       a name with at least this many dots is asked as given before the search list
 */
record ResolvConf(List<InetSocketAddress> nameservers, List<String> search, int ndots) {
  static final Path ETC_RESOLV_CONF = Path.of("/etc/resolv.conf");
  /** Where c-ares asks when resolv.conf lists no server. */
  static final InetSocketAddress LOCAL_SERVER = new InetSocketAddress(InetAddress.getLoopbackAddress(), 53);
  private static final int MAX_NDOTS = 15; // glibc's cap

  ResolvConf {
    nameservers = List.copyOf(nameservers);
    search = List.copyOf(search);
  }

  /** {@code file} as it is now. */
  static ResolvConf read(Path file) {
    List<String> lines;
    try {
      lines = Files.readAllLines(file, StandardCharsets.ISO_8859_1);
    } catch (IOException | SecurityException e) {
      return new ResolvConf(List.of(), List.of(), 1);
    }
    List<InetSocketAddress> servers = new ArrayList<>();
    List<String> search = List.of();
    int ndots = 1;
    for (String line : lines) {
      String[] words = line.strip().split("\\s+");
      if (words.length < 2 || words[0].startsWith("#") || words[0].startsWith(";")) {
        continue;
      }
      switch (words[0]) {
        case "nameserver" -> {
          byte[] ip = NetUtil.createByteArrayFromIpAddressString(words[1]);
          if (ip != null) {
            servers.add(new InetSocketAddress(NetUtil.createInetAddressFromIpAddressString(words[1]), 53));
          }
        }
        case "search" -> search = List.of(words).subList(1, words.length);
        case "domain" -> search = List.of(words[1]);
        case "options" -> {
          for (int i = 1; i < words.length; i++) {
            if (words[i].startsWith("ndots:")) {
              try {
                ndots = Math.min(MAX_NDOTS, Math.max(0, Integer.parseInt(words[i].substring("ndots:".length()))));
              } catch (NumberFormatException e) {
                // glibc ignores a malformed option
              }
            }
          }
        }
        default -> { } // other keywords do not change what is asked
      }
    }
    return new ResolvConf(servers, search, ndots);
  }

  /**
   * The names a lookup of {@code name} asks in turn, as c-ares: the name as given (a trailing dot: only it) first when
   * it has at least {@link #ndots} dots, else after the search list's names.
   */
  List<String> candidates(String name) {
    if (name.endsWith(".")) {
      return List.of(name.substring(0, name.length() - 1));
    }
    long dots = name.chars().filter(c -> c == '.').count();
    List<String> out = new ArrayList<>(search.size() + 1);
    if (dots >= ndots) {
      out.add(name);
    }
    for (String domain : search) {
      out.add(name + "." + (domain.endsWith(".") ? domain.substring(0, domain.length() - 1) : domain));
    }
    if (dots < ndots) {
      out.add(name);
    }
    return out;
  }
}
