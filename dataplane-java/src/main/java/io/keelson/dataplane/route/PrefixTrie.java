package io.keelson.dataplane.route;

import java.util.Arrays;

/**
 * Path prefixes to route indices: {@link #firstMatch} walks the path once and returns the smallest
 * index among the prefixes the path starts with. Children are sorted char arrays searched by
 * bisection, so lookups allocate nothing. Built once, then immutable and thread-safe.
 */
final class PrefixTrie {
  private static final char[] NO_KEYS = new char[0];
  private static final Node[] NO_CHILDREN = new Node[0];

  private static final class Node {
    char[] keys = NO_KEYS;
    Node[] children = NO_CHILDREN;
    /** Smallest route index whose prefix ends here, or MAX_VALUE. */
    int index = Integer.MAX_VALUE;

    Node child(char c, boolean create) {
      int i = Arrays.binarySearch(keys, c);
      if (i >= 0) {
        return children[i];
      }
      if (!create) {
        return null;
      }
      int at = -i - 1;
      Node n = new Node();
      char[] k = new char[keys.length + 1];
      Node[] ch = new Node[children.length + 1];
      System.arraycopy(keys, 0, k, 0, at);
      System.arraycopy(children, 0, ch, 0, at);
      k[at] = c;
      ch[at] = n;
      System.arraycopy(keys, at, k, at + 1, keys.length - at);
      System.arraycopy(children, at, ch, at + 1, children.length - at);
      keys = k;
      children = ch;
      return n;
    }
  }

  private final Node root = new Node();
  private boolean empty = true;

  void add(String prefix, int index) {
    Node n = root;
    for (int i = 0; i < prefix.length(); i++) {
      n = n.child(prefix.charAt(i), true);
    }
    n.index = Math.min(n.index, index);
    empty = false;
  }

  boolean isEmpty() {
    return empty;
  }

  /** Smallest index among the added prefixes that {@code path} starts with, or MAX_VALUE. */
  int firstMatch(String path) {
    Node n = root;
    int best = n.index;
    for (int i = 0, len = path.length(); i < len; i++) {
      n = n.child(path.charAt(i), false);
      if (n == null) {
        break;
      }
      if (n.index < best) {
        best = n.index;
      }
    }
    return best;
  }
}
