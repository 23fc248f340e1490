package io.keelson.dataplane.filter.grpcjson;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.DescriptorProtos.DescriptorProto;
import com.google.protobuf.DescriptorProtos.FieldDescriptorProto;
import com.google.protobuf.DescriptorProtos.FileDescriptorProto;
import com.google.protobuf.DescriptorProtos.MethodDescriptorProto;
import com.google.protobuf.DescriptorProtos.ServiceDescriptorProto;
import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.Descriptors.FileDescriptor;
import com.google.protobuf.Descriptors.MethodDescriptor;
import com.google.protobuf.DynamicMessage;
import com.google.protobuf.util.JsonFormat;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** How a transcoded request's message is made from its bindings and its JSON body (Envoy's request weaver). */
class RequestMessagesTest {
  private static final MethodDescriptor METHOD = method();
  private static final Descriptor REQ = METHOD.getInputType();

  private static MethodDescriptor method() {
    FieldDescriptorProto.Type string = FieldDescriptorProto.Type.TYPE_STRING;
    FileDescriptorProto p = FileDescriptorProto.newBuilder().setName("r.proto").setPackage("r").setSyntax("proto3")
        .addMessageType(DescriptorProto.newBuilder().setName("Book")
            .addField(FieldDescriptorProto.newBuilder().setName("title").setNumber(1).setType(string))
            .addField(FieldDescriptorProto.newBuilder().setName("author").setNumber(2).setType(string)))
        .addMessageType(DescriptorProto.newBuilder().setName("Req")
            .addField(FieldDescriptorProto.newBuilder().setName("shelf").setNumber(1).setType(FieldDescriptorProto.Type.TYPE_INT64))
            .addField(FieldDescriptorProto.newBuilder().setName("book").setNumber(2)
                .setType(FieldDescriptorProto.Type.TYPE_MESSAGE).setTypeName(".r.Book"))
            .addField(FieldDescriptorProto.newBuilder().setName("tags").setNumber(3).setType(string)
                .setLabel(FieldDescriptorProto.Label.LABEL_REPEATED))
            .addField(FieldDescriptorProto.newBuilder().setName("note").setNumber(4).setType(string)))
        .addService(ServiceDescriptorProto.newBuilder().setName("S").addMethod(MethodDescriptorProto.newBuilder()
            .setName("M").setInputType(".r.Req").setOutputType(".r.Book")))
        .build();
    try {
      return FileDescriptor.buildFrom(p, new FileDescriptor[0]).findServiceByName("S").findMethodByName("M");
    } catch (com.google.protobuf.Descriptors.DescriptorValidationException e) {
      throw new IllegalStateException(e);
    }
  }

  /** A call for a rule with {@code body} binding {@code paths} (field paths) to {@code values}. */
  private static TranscodedCall call(String body, List<String> paths, List<String> values) {
    MethodBinding b = new MethodBinding("POST", PathTemplate.parse("/v1/x"), new FieldDescriptor[0][], body, METHOD, "/r.S/M");
    TranscoderSettings s = new TranscoderSettings(List.of(b), JsonFormat.printer(), JsonFormat.parser(), false, Set.of(),
        false, false, false, false, 1 << 20);
    FieldDescriptor[][] fields = paths.stream().map(p -> FieldPaths.resolve(REQ, p)).toArray(FieldDescriptor[][]::new);
    return new TranscodedCall(s, b, RequestMessages.bound(b, fields, values.toArray(new String[0])), "/v1/x");
  }

  private static Object field(DynamicMessage m, String path) {
    Object at = m;
    for (String name : path.split("\\.")) {
      DynamicMessage d = (DynamicMessage) at;
      at = d.getField(d.getDescriptorForType().findFieldByName(name));
    }
    return at;
  }

  @Test
  void aBodyFieldsJsonIsThatFieldsValueOnly() {
    TranscodedCall message = call("book", List.of("shelf"), List.of("1"));
    assertThatThrownBy(() -> RequestMessages.message(message, "{\"title\":\"x\"},\"shelf\":\"2\""))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> RequestMessages.message(message, "{\"title\":\"x\"} {\"title\":\"y\"}"))
        .isInstanceOf(IllegalArgumentException.class);
    TranscodedCall scalar = call("note", List.of(), List.of());
    assertThatThrownBy(() -> RequestMessages.message(scalar, "\"n\",\"shelf\":\"2\"")).isInstanceOf(IllegalArgumentException.class);
    assertThat(field(RequestMessages.message(scalar, " \"n\"\n"), "note")).isEqualTo("n");
    DynamicMessage m = RequestMessages.message(message, "{\"title\":\"x\"}");
    assertThat(field(m, "book.title")).isEqualTo("x");
    assertThat(field(m, "shelf")).isEqualTo(1L);
  }

  @Test
  void duplicateKeysAndDeepNestingAre400NotACrash() {
    TranscodedCall all = call("*", List.of(), List.of());
    assertThatThrownBy(() -> RequestMessages.message(all, "{\"note\":\"a\",\"note\":\"b\"}")).isInstanceOf(IllegalArgumentException.class);
    TranscodedCall note = call("note", List.of(), List.of());
    String deep = "[".repeat(200_000) + "]".repeat(200_000);
    assertThatThrownBy(() -> RequestMessages.message(note, deep)).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void aSingularBodyValueWinsOverItsBindingAndARepeatedFieldKeepsBoth() {
    TranscodedCall all = call("*", List.of("shelf", "tags", "book.author"), List.of("1", "a", "A"));
    DynamicMessage m = RequestMessages.message(all, "{\"shelf\":\"2\",\"tags\":[\"b\"],\"book\":{\"title\":\"T\"}}");
    assertThat(field(m, "shelf")).isEqualTo(2L);
    assertThat(field(m, "tags")).isEqualTo(List.of("a", "b"));
    assertThat(field(m, "book.author")).isEqualTo("A"); // a binding inside a message the body sets stays
    assertThat(field(m, "book.title")).isEqualTo("T");
    TranscodedCall inField = call("book", List.of("book.title"), List.of("path"));
    assertThat(field(RequestMessages.message(inField, "{\"title\":\"body\"}"), "book.title")).isEqualTo("body");
  }

  @Test
  void noBodyOrARuleWithoutOneIsTheBindingsMessage() {
    assertThat(field(RequestMessages.message(call("*", List.of("shelf"), List.of("3")), ""), "shelf")).isEqualTo(3L);
    assertThat(field(RequestMessages.message(call(null, List.of("shelf"), List.of("3")), "{\"shelf\":\"4\"}"), "shelf"))
        .isEqualTo(3L);
    assertThatThrownBy(() -> call("*", List.of("shelf"), List.of("abc"))).isInstanceOf(IllegalArgumentException.class);
  }
}
