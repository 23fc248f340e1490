package io.keelson.dataplane.http1.codec;

import io.netty.buffer.ByteBuf;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * An ordered, mutable, reusable list of header fields (name, value) as Latin-1 Strings. Names keep
 * the case they were sent with (so forwarding preserves them); lookups take a lower-case name and
 * match ASCII case-insensitively without allocating. Not thread-safe: owned by one event loop.
 */
public final class Http1Headers {
  /** True when {@code name} is an RFC 9110 token, so it may name a header field (or a cookie, RFC 6265). */
  public static boolean isFieldName(CharSequence name) {
    return Http1Bytes.isTcharString(name);
  }

  private String[] names;
  private String[] values;
  private int size;
  /**
   * One field held as bytes, not a String (see {@link #setLatin1}): encoded after the others; not
   * indexed, so {@link #size()}, {@link #name}, {@link #value} and {@link #indexOf} do not see it.
   */
  private String latin1Name;
  private byte[] latin1Value;
  private int latin1Length;

  public Http1Headers() {
    this(16);
  }

  public Http1Headers(int initialCapacity) {
    names = new String[Math.max(initialCapacity, 1)];
    values = new String[names.length];
  }

  public int size() {
    return size;
  }

  public boolean isEmpty() {
    return size == 0 && latin1Name == null;
  }

  public String name(int i) {
    checkIndex(i);
    return names[i];
  }

  public String value(int i) {
    checkIndex(i);
    return values[i];
  }

  /** Forgets every field, keeping the arrays for the next message. */
  public void clear() {
    Arrays.fill(names, 0, size, null);
    Arrays.fill(values, 0, size, null);
    size = 0;
    latin1Name = null;
    latin1Value = null;
  }

  /** The first value of the header, or null when absent. */
  public String get(String lowerName) {
    for (int i = 0; i < size; i++) {
      if (nameIs(names[i], lowerName)) {
        return values[i];
      }
    }
    return latin1Is(lowerName) ? latin1String() : null;
  }

  /** All values of the header joined with ',' (Envoy's matcher semantics), or null when absent. */
  public String getAll(String lowerName) {
    String first = null;
    StringBuilder joined = null;
    for (int i = 0; i < size; i++) {
      if (nameIs(names[i], lowerName)) {
        if (first == null) {
          first = values[i];
        } else {
          if (joined == null) {
            joined = new StringBuilder(first.length() * 2 + 1).append(first);
          }
          joined.append(',').append(values[i]);
        }
      }
    }
    if (first == null && latin1Is(lowerName)) {
      return latin1String();
    }
    return joined != null ? joined.toString() : first;
  }

  public boolean contains(String lowerName) {
    return indexOf(lowerName, 0) >= 0 || latin1Is(lowerName);
  }

  /** How many fields carry this name. */
  public int count(String lowerName) {
    int n = 0;
    for (int i = 0; i < size; i++) {
      if (nameIs(names[i], lowerName)) {
        n++;
      }
    }
    return latin1Is(lowerName) ? n + 1 : n;
  }

  /** Index of the first field with this name at or after {@code from}, or -1. */
  public int indexOf(String lowerName, int from) {
    for (int i = Math.max(from, 0); i < size; i++) {
      if (nameIs(names[i], lowerName)) {
        return i;
      }
    }
    return -1;
  }

  /**
   * True when a comma-separated element of any value of the header equals {@code lowerToken}
   * ignoring ASCII case and surrounding whitespace (e.g. {@code Connection: keep-alive, Upgrade}).
   */
  public boolean containsToken(String lowerName, String lowerToken) {
    for (int i = 0; i < size; i++) {
      if (nameIs(names[i], lowerName) && listContains(values[i], lowerToken)) {
        return true;
      }
    }
    return false;
  }

  /**
   * Appends a field after checking that the name is a token and the value holds only field
   * characters (so encoding it can never inject a line).
   *
   * @throws IllegalArgumentException when the name or value is not valid on the wire
   */
  public Http1Headers add(String name, String value) {
    if (!Http1Bytes.isTcharString(name)) {
      throw new IllegalArgumentException("header name is not an RFC 9110 token: '" + name + "'");
    }
    if (!Http1Bytes.isFieldString(value)) {
      throw new IllegalArgumentException(
          "header value of '" + name + "' holds a control character or a non-Latin-1 char");
    }
    addTrusted(name, value);
    return this;
  }

  /** Replaces every field of this name with one field (appended at the position of the first). */
  public Http1Headers set(String name, String value) {
    String lower = asciiLower(name);
    if (latin1Is(lower)) {
      latin1Name = null;
      latin1Value = null;
    }
    int first = indexOf(lower, 0);
    if (first < 0) {
      return add(name, value);
    }
    if (!Http1Bytes.isFieldString(value) || !Http1Bytes.isTcharString(name)) {
      add(name, value); // throws with the precise reason
    }
    names[first] = name;
    values[first] = value;
    removeFrom(lower, first + 1);
    return this;
  }

  /** Removes every field of this name; returns how many were removed. */
  public int remove(String lowerName) {
    int n = 0;
    if (latin1Is(lowerName)) {
      latin1Name = null;
      latin1Value = null;
      n = 1;
    }
    return n + removeFrom(lowerName, 0);
  }

  /**
   * Replaces every field of this name with {@code value[0, length)} as Latin-1 bytes, without building a
   * String: the bytes are written after the other fields when the headers are encoded. The array is
   * read then, not copied: the caller leaves those bytes unchanged until the headers are cleared or
   * this field is set again. {@link #get} still answers (by building the String then). For a
   * per-request value on a hot path (the {@code traceparent} a proxy hop writes upstream).
   *
   * @throws IllegalArgumentException when the name is not a token or the value holds a non-field byte
   */
  public Http1Headers setLatin1(String name, byte[] value, int length) {
    if (!Http1Bytes.isTcharString(name)) {
      throw new IllegalArgumentException("header name is not an RFC 9110 token: '" + name + "'");
    }
    for (int i = 0; i < length; i++) {
      if (!Http1Bytes.isFieldChar(value[i])) {
        throw new IllegalArgumentException("header value of '" + name + "' holds a control character");
      }
    }
    removeFrom(asciiLower(name), 0);
    latin1Name = name;
    latin1Value = value;
    latin1Length = length;
    return this;
  }

  private boolean latin1Is(String lowerName) {
    return latin1Name != null && nameIs(latin1Name, lowerName);
  }

  private String latin1String() {
    return new String(latin1Value, 0, latin1Length, StandardCharsets.ISO_8859_1);
  }

  /** Removes the field at index i, keeping the order of the others. */
  public void removeAt(int i) {
    checkIndex(i);
    System.arraycopy(names, i + 1, names, i, size - i - 1);
    System.arraycopy(values, i + 1, values, i, size - i - 1);
    size--;
    names[size] = null;
    values[size] = null;
  }

  /** Writes {@code name: value\r\n} for every field, in order (Latin-1). */
  public void encodeTo(ByteBuf out) {
    int length = encodedLength();
    byte[] b = Latin1Scratch.array(length);
    Latin1Scratch.flush(b, encodeTo(b, 0), out);
  }

  /** Bytes {@link #encodeTo(byte[], int)} writes. */
  int encodedLength() {
    int n = 0;
    for (int i = 0; i < size; i++) {
      n += names[i].length() + values[i].length() + 4;
    }
    if (latin1Name != null) {
      n += latin1Name.length() + latin1Length + 4;
    }
    return n;
  }

  /** Writes the fields into b from {@code pos} (room for {@link #encodedLength()}); returns the end. */
  int encodeTo(byte[] b, int pos) {
    for (int i = 0; i < size; i++) {
      pos = Latin1Scratch.put(names[i], b, pos);
      b[pos++] = ':';
      b[pos++] = ' ';
      pos = Latin1Scratch.put(values[i], b, pos);
      pos = Latin1Scratch.putCrlf(b, pos);
    }
    if (latin1Name != null) {
      pos = Latin1Scratch.put(latin1Name, b, pos);
      b[pos++] = ':';
      b[pos++] = ' ';
      System.arraycopy(latin1Value, 0, b, pos, latin1Length);
      pos = Latin1Scratch.putCrlf(b, pos + latin1Length);
    }
    return pos;
  }

  /** Copies all fields of {@code other} into this list, replacing its content. */
  public void copyFrom(Http1Headers other) {
    clear();
    for (int i = 0; i < other.size; i++) {
      addTrusted(other.names[i], other.values[i]);
    }
    if (other.latin1Name != null) {
      addTrusted(other.latin1Name, other.latin1String()); // a copy outlives the bytes' owner
    }
  }

  @Override
  public String toString() {
    StringBuilder sb = new StringBuilder("[");
    for (int i = 0; i < size; i++) {
      sb.append(i == 0 ? "" : ", ").append(names[i]).append(": ").append(values[i]);
    }
    if (latin1Name != null) {
      sb.append(size == 0 ? "" : ", ").append(latin1Name).append(": ").append(latin1String());
    }
    return sb.append(']').toString();
  }

  /** Appends without validation: for values the parser has already checked byte by byte. */
  void addTrusted(String name, String value) {
    if (size == names.length) {
      names = Arrays.copyOf(names, size * 2);
      values = Arrays.copyOf(values, size * 2);
    }
    names[size] = name;
    values[size] = value;
    size++;
  }

  void setValueAt(int i, String value) {
    values[i] = value;
  }

  private int removeFrom(String lowerName, int from) {
    int w = from;
    for (int r = from; r < size; r++) {
      if (!nameIs(names[r], lowerName)) {
        names[w] = names[r];
        values[w] = values[r];
        w++;
      }
    }
    int removed = size - w;
    Arrays.fill(names, w, size, null);
    Arrays.fill(values, w, size, null);
    size = w;
    return removed;
  }

  private void checkIndex(int i) {
    if (i < 0 || i >= size) {
      throw new IndexOutOfBoundsException("header index " + i + " of " + size);
    }
  }

  /** ASCII case-insensitive equality against an already lower-case name; no allocation. */
  static boolean nameIs(String name, String lowerName) {
    int n = name.length();
    if (n != lowerName.length()) {
      return false;
    }
    for (int i = 0; i < n; i++) {
      char c = name.charAt(i);
      if (c >= 'A' && c <= 'Z') {
        c += 32;
      }
      if (c != lowerName.charAt(i)) {
        return false;
      }
    }
    return true;
  }

  /**
   * True when a comma-separated element of {@code list}, OWS trimmed, equals {@code lowerToken} (ASCII case-insensitive,
   * either side). Allocation-free.
   */
  public static boolean listContains(String list, String lowerToken) {
    int n = list.length();
    int i = 0;
    while (i < n) {
      int start = i;
      int comma = list.indexOf(',', i);
      int end = comma < 0 ? n : comma;
      while (start < end && isOws(list.charAt(start))) {
        start++;
      }
      int stop = end;
      while (stop > start && isOws(list.charAt(stop - 1))) {
        stop--;
      }
      if (stop - start == lowerToken.length() && list.regionMatches(true, start, lowerToken, 0, stop - start)) {
        return true;
      }
      i = end + 1;
    }
    return false;
  }

  private static boolean isOws(char c) {
    return c == ' ' || c == '\t';
  }

  static String asciiLower(String s) {
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c >= 'A' && c <= 'Z') {
        char[] chars = s.toCharArray();
        for (int j = i; j < chars.length; j++) {
          if (chars[j] >= 'A' && chars[j] <= 'Z') {
            chars[j] += 32;
          }
        }
        return new String(chars);
      }
    }
    return s;
  }
}
