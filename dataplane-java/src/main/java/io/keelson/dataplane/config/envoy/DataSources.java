package io.keelson.dataplane.config.envoy;

import io.envoyproxy.envoy.config.core.v3.DataSource;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** Reads a {@code DataSource} (inline_string, inline_bytes, or a filename read once, at config load) as text. Stateless. */
public final class DataSources {
  private DataSources() {}

  /** The source's text (UTF-8), or null after reporting why it cannot be read under {@code at}. */
  public static String text(DataSource ds, String at, io.keelson.dataplane.filter.ConfigErrors problems) {
    return switch (ds.getSpecifierCase()) {
      case INLINE_STRING -> ds.getInlineString();
      case INLINE_BYTES -> ds.getInlineBytes().toStringUtf8();
      case FILENAME -> {
        try {
          yield Files.readString(Path.of(ds.getFilename()), StandardCharsets.UTF_8);
        } catch (IOException | RuntimeException e) {
          problems.error(at + ".filename", "cannot read " + ds.getFilename() + ": " + e);
          yield null;
        }
      }
      default -> {
        problems.error(at, "expected one of inline_string, inline_bytes or filename (environment_variable is not supported)");
        yield null;
      }
    };
  }
}
