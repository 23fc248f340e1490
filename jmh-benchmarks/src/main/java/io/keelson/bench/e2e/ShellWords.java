package io.keelson.bench.e2e;

import java.util.List;

/** Renders a command as a person would type it in a POSIX shell, quoting what the shell would split. Stateless. */
final class ShellWords {
  private ShellWords() {
  }

  static String join(List<String> words) {
    StringBuilder s = new StringBuilder();
    for (String w : words) {
      if (!s.isEmpty()) {
        s.append(' ');
      }
      s.append(quote(w));
    }
    return s.toString();
  }

  static String quote(String word) {
    return word.matches("[A-Za-z0-9_./=:,+@%-]+") ? word : "'" + word.replace("'", "'\\''") + "'";
  }
}
