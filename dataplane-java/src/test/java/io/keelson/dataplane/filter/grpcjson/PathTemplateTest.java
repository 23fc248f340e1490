package io.keelson.dataplane.filter.grpcjson;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class PathTemplateTest {
  @Test
  void bindsSingleSegmentVariables() {
    PathTemplate t = PathTemplate.parse("/v1/shelves/{shelf}/books/{book.id}");
    assertThat(t.match("/v1/shelves/1/books/abc")).containsExactly("1", "abc");
    assertThat(t.match("/v1/shelves/1/books")).isNull();
    assertThat(t.match("/v1/shelves//books/x")).isNull();
    assertThat(t.match("/v1/shelves/1/books/abc/more")).isNull();
  }

  @Test
  void bindsMultiSegmentVariablesAndDoubleWildcards() {
    assertThat(PathTemplate.parse("/v1/{name=shelves/*/books/*}").match("/v1/shelves/2/books/3")).containsExactly("shelves/2/books/3");
    assertThat(PathTemplate.parse("/v1/{name=shelves/*/books/*}").match("/v1/shelves/2/notes/3")).isNull();
    assertThat(PathTemplate.parse("/v1/{name=files/**}").match("/v1/files/a/b/c")).containsExactly("files/a/b/c");
    assertThat(PathTemplate.parse("/v1/**/tail/{x}").match("/v1/a/b/tail/9")).containsExactly("9");
    assertThat(PathTemplate.parse("/v1/**").match("/v1")).isEmpty();
  }

  @Test
  void matchesACustomVerbOnlyWhenPresent() {
    PathTemplate t = PathTemplate.parse("/v1/{name=shelves/*}:archive");
    assertThat(t.match("/v1/shelves/4:archive")).containsExactly("shelves/4");
    assertThat(t.match("/v1/shelves/4")).isNull();
    assertThat(t.match("/v1/shelves/4:undo")).isNull();
  }

  @Test
  void decodesVariablesExceptReservedCharacters() {
    assertThat(PathTemplate.parse("/v1/{x}").match("/v1/a%20b%2Fc%3Fd%zz")).containsExactly("a b%2Fc%3Fd%zz");
    assertThat(PercentDecoding.all("a%20b%2Fc+d")).isEqualTo("a b/c+d");
  }

  @Test
  void refusesMalformedTemplates() {
    assertThatThrownBy(() -> PathTemplate.parse("v1/x")).hasMessageContaining("starts with '/'");
    assertThatThrownBy(() -> PathTemplate.parse("/v1/{x")).hasMessageContaining("unclosed");
    assertThatThrownBy(() -> PathTemplate.parse("/v1/{9x}")).hasMessageContaining("bad field path");
    assertThatThrownBy(() -> PathTemplate.parse("/v1//x")).hasMessageContaining("bad segment");
  }
}
