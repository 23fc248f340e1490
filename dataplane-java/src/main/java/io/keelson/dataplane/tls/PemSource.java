package io.keelson.dataplane.tls;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * Where PEM text comes from: a file read when the context is built, or text held in memory (Envoy's
 * {@code inline_string}/{@code inline_bytes}, or a secret delivered by SDS). Immutable.
 *
 * @param file   the file, or null for in-memory PEM
 * @param inline the PEM text, or null when read from {@code file}
 */
public record PemSource(Path file, String inline) {

  public PemSource {
    if ((file == null) == (inline == null)) {
      throw new IllegalArgumentException("exactly one of file and inline is required");
    }
  }

  public static PemSource file(String path) {
    return new PemSource(Path.of(path), null);
  }

  public static PemSource inline(String pem) {
    return new PemSource(null, pem);
  }

  /** The PEM text; throws with the file name when it cannot be read. */
  String read(String field) {
    if (inline != null) {
      return inline;
    }
    try {
      return Files.readString(file, StandardCharsets.US_ASCII);
    } catch (NoSuchFileException e) {
      throw new TlsConfigException(field, "file " + file + " does not exist");
    } catch (IOException e) {
      throw new TlsConfigException(field, "cannot read file " + file + ": " + e);
    }
  }

  /** For messages: the file name, or "inline PEM". */
  String describe() {
    return file != null ? "file " + file : "inline PEM";
  }

  @Override
  public String toString() {
    return file != null ? "file:" + file : "inline(" + inline.length() + " chars)";
  }
}
