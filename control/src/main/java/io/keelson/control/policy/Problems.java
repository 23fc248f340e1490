package io.keelson.control.policy;

import java.util.ArrayList;
import java.util.List;

/** Errors and warnings collected while validating one document. Not thread-safe. */
final class Problems {
  private final String file;
  private String doc;
  private String namespace = ServiceNames.DEFAULT_NAMESPACE;
  final List<PolicyError> errors = new ArrayList<>();
  final List<PolicyError> warnings = new ArrayList<>();

  Problems(String file, String doc) {
    this.file = file;
    this.doc = doc;
  }

  void doc(String doc) {
    this.doc = doc;
  }

  /** The document's {@code metadata.namespace} (default {@code default}): where its short hosts resolve. */
  void namespace(String namespace) {
    this.namespace = namespace;
  }

  String namespace() {
    return namespace;
  }

  void error(String path, String reason) {
    errors.add(new PolicyError(file, doc, path, reason));
  }

  void warn(String path, String reason) {
    warnings.add(new PolicyError(file, doc, path, reason));
  }
}
