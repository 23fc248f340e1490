package io.keelson.control.policy;

/**
 * One problem in one policy document: where (file, document, field path) and why. Immutable.
 *
 * @param file   the file (or "-" / "request") the document came from
 * @param doc    "Kind/name" of the document, or "document N" when it has no usable kind or name
 * @param path   the field path inside the document, e.g. {@code spec.http[0].route[1].weight}
 * @param reason what is wrong and what was expected
 */
public record PolicyError(String file, String doc, String path, String reason) {
  @Override
  public String toString() {
    return file + ": " + doc + ": " + path + ": " + reason;
  }
}
