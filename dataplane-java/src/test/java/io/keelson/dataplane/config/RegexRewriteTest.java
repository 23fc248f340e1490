package io.keelson.dataplane.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** regex_rewrite's substitution and RE2 GlobalReplace semantics (the expected values are what RE2 gives). */
class RegexRewriteTest {
  private static String rewrite(String regex, String substitution, String path) {
    return RegexRewrite.of(Pattern.compile(regex), substitution).apply(path);
  }

  @Test
  void captureGroupsAndTheWholeMatch() {
    assertThat(rewrite("^/v1/([^/]+)/([0-9]+)$", "/\\1/\\2", "/v1/users/42")).isEqualTo("/users/42");
    assertThat(rewrite("^/service/([^/]+)(/.*)$", "\\2/instance/\\1", "/service/foo/v1/api")).isEqualTo("/v1/api/instance/foo");
    assertThat(rewrite("/[a-z]+", "[\\0]", "/ab/cd")).isEqualTo("[/ab][/cd]");
    // A group that took no part inserts nothing.
    assertThat(rewrite("^/(a)?b", "/x\\1y", "/b")).isEqualTo("/xy");
  }

  @Test
  void everyMatchIsReplaced() {
    assertThat(rewrite("-", "_", "/a-b-c")).isEqualTo("/a_b_c");
    assertThat(rewrite("/.*", "/full", "/any/path")).isEqualTo("/full"); // Gateway API ReplaceFullPath, as istiod writes it
  }

  @Test
  void dollarIsLiteralAndAGroupDigitIsOneDigit() {
    assertThat(rewrite("(a)", "$1\\\\", "/a")).isEqualTo("/$1\\");
    // RE2 reads \12 as group 1 then "2" (java.util.regex's $12 would read group 12 when there is one).
    assertThat(rewrite("(a)(b)(c)(d)(e)(f)(g)(h)(i)(j)(k)(l)", "\\12", "/abcdefghijkl")).isEqualTo("/a2");
  }

  @Test
  void emptyMatchesFollowRe2() {
    // RE2::GlobalReplace("abc", "b*", "X") == "XaXcX": no empty match right after the "b".
    assertThat(rewrite("b*", "X", "abc")).isEqualTo("XaXcX");
    assertThat(rewrite("x*", "-", "/ab")).isEqualTo("-/-a-b-");
  }

  @Test
  void noMatchKeepsThePathAndAnEmptyResultIsSlash() {
    String path = "/v2/users";
    assertThat(RegexRewrite.of(Pattern.compile("^/v1"), "").apply(path)).isSameAs(path);
    assertThat(rewrite("^/v1(.*)$", "\\1", "/v1")).isEqualTo("/");
  }

  @Test
  void rejectsSubstitutionsRe2CannotApplyOrThatLeaveThePath() {
    assertThatThrownBy(() -> RegexRewrite.of(Pattern.compile("(a)"), "\\2")).hasMessageContaining("capture group 2");
    assertThatThrownBy(() -> RegexRewrite.of(Pattern.compile("a"), "\\n")).hasMessageContaining("not a valid escape");
    assertThatThrownBy(() -> RegexRewrite.of(Pattern.compile("a"), "x\\")).hasMessageContaining("lone");
    assertThatThrownBy(() -> RegexRewrite.of(Pattern.compile("a"), "/x?y")).hasMessageContaining("'?'");
    assertThatThrownBy(() -> RegexRewrite.of(Pattern.compile("a"), "/x y")).hasMessageContaining("not allowed in a path");
  }

  @Test
  void equalByPatternAndSubstitution() {
    assertThat(RegexRewrite.of(Pattern.compile("a"), "b")).isEqualTo(RegexRewrite.of(Pattern.compile("a"), "b"))
        .hasSameHashCodeAs(RegexRewrite.of(Pattern.compile("a"), "b")).isNotEqualTo(RegexRewrite.of(Pattern.compile("a"), "c"));
  }
}
