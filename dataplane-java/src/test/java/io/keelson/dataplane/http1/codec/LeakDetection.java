package io.keelson.dataplane.http1.codec;

import io.netty.util.ResourceLeakDetector;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/** Turns Netty's leak detector to paranoid for the codec tests (every buffer tracked). */
final class LeakDetection implements BeforeAllCallback {
  static {
    System.setProperty("io.netty.leakDetection.level", "paranoid");
  }

  @Override
  public void beforeAll(ExtensionContext context) {
    ResourceLeakDetector.setLevel(ResourceLeakDetector.Level.PARANOID);
  }
}
