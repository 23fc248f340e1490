package io.keelson.dataplane.config.envoy;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class Re2RegexTest {

  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
      "(a)\\1|a backreference (\\1)",
      "(?<n>a)\\k<n>|a named backreference (\\k)",
      "/(?=x)|lookahead",
      "/(?!x)|lookahead",
      "(?<=a)b|lookbehind",
      "(?<!a)b|lookbehind",
      "(?>ab)|an atomic group",
      "a*+|a possessive quantifier (*+)",
      "a{2}+|a possessive quantifier (}+)",
      "[a-z&&[^e]]|'&&' inside a character class (Java reads it as intersection)",
      "abc\\Z|\\Z",
  })
  void rejectsConstructsWhereJavaAndRe2Differ(String regex, String construct) {
    assertThat(Re2Regex.unsupportedConstruct(regex)).isEqualTo(construct);
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
      "/items/[0-9]+",
      "^/api/v[12]/.*$",
      "(?i)/Case",
      "[]a]+",
      "a\\+b",
      "\\d{3}-\\w+",
      "[\\]&]",
  })
  void acceptsCommonRe2(String regex) {
    assertThat(Re2Regex.unsupportedConstruct(regex)).isNull();
  }

  @Test
  void translatesRe2NamedGroups() {
    Problems problems = new Problems("t.yaml");
    Pattern p = Re2Regex.compile("/(?P<id>[0-9]+)", "x", problems);
    assertThat(problems.hasErrors()).isFalse();
    assertThat(p.matcher("/42").matches()).isTrue();
  }
}
