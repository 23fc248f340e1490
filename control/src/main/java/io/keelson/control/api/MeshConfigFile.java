package io.keelson.control.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.keelson.control.security.ExtensionProviders;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;

/**
 * What {@code bin/keelson control --mesh-config FILE} reads from Istio's meshConfig YAML: {@code extensionProviders}
 * (see {@link ExtensionProviders}) and {@code protocolDetectionTimeout}, a Go duration ({@code 100ms}, {@code 1s},
 * {@code 1m30s}; {@code 0s} waits for the client's first bytes for ever, Istio's default), null when the file does not
 * set it. {@code --protocol-detection-timeout} overrides the file's. Immutable.
 */
public record MeshConfigFile(ExtensionProviders extensionProviders, Duration protocolDetectionTimeout) {
  /** The meshConfig field of the detection timeout. */
  public static final String PROTOCOL_DETECTION_TIMEOUT = "protocolDetectionTimeout";

  /**
   * Reads {@code file}.
   *
   * @throws IllegalArgumentException naming the file and field of every problem
   */
  public static MeshConfigFile read(Path file) {
    return parse(file.toString(), ExtensionProviders.readMeshConfig(file));
  }

  /** {@link #read} of {@code text}; {@code source} names it in errors. */
  public static MeshConfigFile parse(String source, String text) {
    ExtensionProviders providers = ExtensionProviders.parse(source, text); // also refuses fields neither reads
    JsonNode root;
    try {
      root = new ObjectMapper(new YAMLFactory()).readTree(text);
    } catch (IOException e) {
      throw new IllegalArgumentException(source + ": not YAML: " + e.getMessage());
    }
    JsonNode t = root == null ? null : root.get(PROTOCOL_DETECTION_TIMEOUT);
    if (t == null || t.isNull()) {
      return new MeshConfigFile(providers, null);
    }
    String at = source + ": " + PROTOCOL_DETECTION_TIMEOUT;
    if (!t.isTextual()) {
      throw new IllegalArgumentException(at + ": " + t + " is not a duration; expected a Go duration such as 0s, 100ms"
          + " or 1s (0s: no timeout)");
    }
    try {
      return new MeshConfigFile(providers, GoDuration.parse(t.asText()));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(at + ": " + e.getMessage() + " (0s: no timeout)");
    }
  }
}
