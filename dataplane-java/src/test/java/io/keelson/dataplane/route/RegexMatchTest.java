package io.keelson.dataplane.route;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.regex.Pattern;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class RegexMatchTest {

  @ParameterizedTest
  @CsvSource(delimiter = ';', nullValues = "NONE", value = {
      "/service/7/items/[0-9]+;/service/7/items/",
      "^/api/v1/.*;/api/v1/",
      "/ab*c;/a",
      "/ab?;/a",
      "/ab{2};/a",
      "/ab+;/ab",
      "/a|/b;''",
      "(?i)/case;''",
      "\\d+;''",
      "/x\\.y;/x",
  })
  void literalPrefixIsWhatEveryMatchStartsWith(String regex, String prefix) {
    assertThat(RegexMatch.literalPrefix(Pattern.compile(regex))).isEqualTo(prefix);
  }

  @ParameterizedTest
  @CsvSource(delimiter = ';', value = {
      "/ab*c;/ac;true",
      "/ab*c;/abbbc;true",
      "/ab?;/a;true",
      "/service/[0-9]+/items;/service/12/items;true",
      "/service/[0-9]+/items;/service/x/items;false",
      "/a|/b;/b;true",
  })
  void prefixShortcutNeverChangesTheAnswer(String regex, String input, boolean expected) {
    Pattern pattern = Pattern.compile(regex);
    assertThat(new RegexMatch(pattern).matches(input, 0, input.length())).isEqualTo(expected);
    assertThat(pattern.matcher(input).matches()).isEqualTo(expected);
  }
}
