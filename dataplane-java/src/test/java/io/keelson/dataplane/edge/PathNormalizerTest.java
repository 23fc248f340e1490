package io.keelson.dataplane.edge;

import static org.assertj.core.api.Assertions.assertThat;

import io.keelson.dataplane.config.PathNormalization;
import io.keelson.dataplane.config.PathNormalization.EscapedSlashes;
import io.keelson.dataplane.testing.Allocations;
import org.junit.jupiter.api.Test;

/**
 * The normalizer against Envoy's own vectors ({@code test/common/http/path_utility_test.cc}: NormalizeValidPaths,
 * NormalizeCasePath, InvalidPaths, MergeSlashes, UnescapeSlashes) and the order of its steps
 * ({@code ConnectionManagerUtility::maybeNormalizePath}).
 */
class PathNormalizerTest {
  private static final PathNormalization BASE = new PathNormalization(true, false, EscapedSlashes.KEEP_UNCHANGED);

  @Test
  void alreadyNormalPathsAreReturnedAsTheSameInstance() {
    for (String p : new String[] {"/xyz", "/x/y/z", "/", "/a.b/c..d/.e/..f/...", "/a;b=c/d!$&'()*+,:=@[]"}) {
      assertThat(PathCanonicalizer.canonicalize(p)).as(p).isSameAs(p);
      assertThat(PathNormalizer.normalize(new PathNormalization(true, true, EscapedSlashes.UNESCAPE_AND_FORWARD), p))
          .as(p).isSameAs(p);
    }
  }

  @Test
  void normalizesEnvoysValidPaths() {
    String[][] pairs = {
        {"/a/b/../c", "/a/c"}, {"/a/b/./c", "/a/b/c"}, {"a/b/../c", "/a/c"}, {"/a/b/../../../../c", "/c"},
        {"/a/..\\c", "/c"}, {"/%c0%af", "/%c0%af"}, {"/%5c%25", "/%5c%25"}, {"/a/b/%2E%2E/c", "/a/c"},
        {"/a/b/%2E./c", "/a/c"}, {"/a/b/%2E/c", "/a/b/c"}, {"..", "/"}, {"/../a/b", "/a/b"}, {"/./a/b", "/a/b"},
        // NormalizeCasePath
        {"/A/B/C", "/A/B/C"}, {"/a/b/%2e%2e/c", "/a/c"}, {"/a/%2F%2f/c", "/a/%2F%2f/c"},
    };
    for (String[] pair : pairs) {
      assertThat(PathCanonicalizer.canonicalize(pair[0])).as(pair[0]).isEqualTo(pair[1]);
    }
  }

  @Test
  void refusesEnvoysInvalidPaths() {
    for (String p : new String[] {"/xyz/.%00../abc", "/xyz/%00.%00./abc", "/xyz/AAAAA%%0000/abc"}) {
      assertThat(PathCanonicalizer.canonicalize(p)).as(p).isNull();
      assertThat(PathNormalizer.normalize(BASE, p)).as(p).isNull();
    }
  }

  @Test
  void decodesUnreservedAndEscapesWhatAPathMayNotHold() {
    assertThat(PathCanonicalizer.canonicalize("/%61dmin")).isEqualTo("/admin");
    assertThat(PathCanonicalizer.canonicalize("/%7E%2d%5F%30")).isEqualTo("/~-_0");
    assertThat(PathCanonicalizer.canonicalize("/a b\"<>^`{|}\u00e9")).isEqualTo("/a%20b%22%3C%3E%5E%60%7B%7C%7D%E9");
    assertThat(PathCanonicalizer.canonicalize("/%3f%23%2a")).isEqualTo("/%3f%23%2a"); // reserved: kept as sent
    assertThat(PathCanonicalizer.canonicalize("/a%zz%4")).isEqualTo("/a%zz%4"); // not escapes
    assertThat(PathCanonicalizer.canonicalize("/%%30%30")).isEqualTo("/%2500"); // no nested escape survives
    assertThat(PathCanonicalizer.canonicalize("/x%2eadmin")).isEqualTo("/x.admin");
    assertThat(PathCanonicalizer.canonicalize("")).isEqualTo("/");
  }

  @Test
  void mergesSlashesAsEnvoy() {
    String[][] pairs = {
        {"", ""}, {"a//b/c", "a/b/c"}, {"/a//b/c/", "/a/b/c/"}, {"a//b/c/", "a/b/c/"}, {"/a", "/a"},
        {"//a/b/c", "/a/b/c"}, {"/a//b/c", "/a/b/c"}, {"/a/b/c//", "/a/b/c/"}, {"/a///b/c", "/a/b/c"},
        {"/a////b/c", "/a/b/c"},
    };
    for (String[] pair : pairs) {
      assertThat(PathNormalizer.mergeSlashes(pair[0])).as(pair[0]).isEqualTo(pair[1]);
    }
  }

  @Test
  void unescapesSlashesAsEnvoy() {
    String[][] pairs = {
        {"", ""}, {"%2f%2F", "//"}, {"/a%2Fb%2fc/", "/a/b/c/"}, {"%2b", "%2b"}, {"/a/b/c", "/a/b/c"}, {"%2", "%2"},
        {"%", "%"}, {"/abc%2", "/abc%2"}, {"foo%", "foo%"}, {"/a%2F", "/a/"}, {"%2fa/", "/a/"}, {"%%2fa/", "%/a/"},
        {"%2%2fa/", "%2/a/"}, {"%5c%5C", "\\\\"}, {"/a%5Cb%5cc/", "/a\\b\\c/"}, {"/a%5C", "/a\\"}, {"%5ca/", "\\a/"},
        {"/x/%2E%2e/z%2f%2Fabc%5C../def", "/x/%2E%2e/z//abc\\../def"}, {"%2fa%5Cb%2fc%5c", "/a\\b/c\\"},
    };
    for (String[] pair : pairs) {
      assertThat(PathNormalizer.unescapeSlashes(pair[0])).as(pair[0]).isEqualTo(pair[1]);
    }
  }

  @Test
  void appliesEscapedSlashesThenRfc3986ThenMergeSlashes() {
    PathNormalization forward = new PathNormalization(true, true, EscapedSlashes.UNESCAPE_AND_FORWARD);
    assertThat(PathNormalizer.normalize(forward, "/x/%2E%2e/z%2f%2Fabc%5C../def")).isEqualTo("/z/def");
    assertThat(PathNormalizer.normalize(forward, "//a/./b%2F%2Fc")).isEqualTo("/a/b/c");
    PathNormalization reject = new PathNormalization(true, false, EscapedSlashes.REJECT_REQUEST);
    assertThat(PathNormalizer.normalize(reject, "/a%2fb")).isNull();
    assertThat(PathNormalizer.normalize(reject, "/a%2bb")).isEqualTo("/a%2bb");
    PathNormalization redirect = new PathNormalization(false, false, EscapedSlashes.UNESCAPE_AND_REDIRECT);
    assertThat(PathNormalizer.redirects(redirect, "/a%5Cb")).isTrue();
    assertThat(PathNormalizer.normalize(redirect, "/a%5Cb")).isEqualTo("/a\\b");
    assertThat(PathNormalizer.redirects(redirect, "/a/b")).isFalse();
    assertThat(PathNormalizer.normalize(PathNormalization.NONE, "/a/../%2f//b")).isEqualTo("/a/../%2f//b");
    assertThat(PathNormalizer.normalize(new PathNormalization(false, true, EscapedSlashes.KEEP_UNCHANGED), "/a/./b//c"))
        .isEqualTo("/a/./b/c");
  }

  @Test
  void aNormalPathAllocatesNothing() {
    PathNormalization all = new PathNormalization(true, true, EscapedSlashes.UNESCAPE_AND_REDIRECT);
    String path = "/api/v1/items/12345/details.json";
    assertThat(Allocations.bytesPerCall(() -> {
      if (PathNormalizer.normalize(all, path) != path || PathNormalizer.redirects(all, path)) {
        throw new AssertionError();
      }
    })).isLessThan(1.0);
  }
}
