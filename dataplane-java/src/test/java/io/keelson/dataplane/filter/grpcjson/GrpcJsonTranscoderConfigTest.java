package io.keelson.dataplane.filter.grpcjson;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.envoyproxy.envoy.extensions.filters.http.grpc_json_transcoder.v3.GrpcJsonTranscoder;
import io.keelson.dataplane.config.ConfigException;
import io.keelson.dataplane.config.envoy.BootstrapLoader;
import io.keelson.dataplane.filter.RecordedConfigErrors;
import io.keelson.dataplane.testing.ProxyHarness;
import java.util.Base64;
import org.junit.jupiter.api.Test;

/** The transcoder's config: what it reads from the descriptor set, and what it refuses by field. */
class GrpcJsonTranscoderConfigTest {
  private static final GrpcJsonTranscoderFactory FACTORY = new GrpcJsonTranscoderFactory();

  private static GrpcJsonTranscoder.Builder config() {
    return GrpcJsonTranscoder.newBuilder().setProtoDescriptorBin(ByteString.copyFrom(Bookstore.descriptorSet()))
        .addServices("bookstore.Bookstore");
  }

  @Test
  void mapsEveryRuleAndAdditionalBindingMostSpecificFirst() {
    RecordedConfigErrors errors = new RecordedConfigErrors();
    TranscoderSettings s = (TranscoderSettings) FACTORY.translate(config().build(), "f", errors);
    assertThat(errors.errors).isEmpty();
    assertThat(s.bindings()).extracting(b -> b.httpMethod() + " " + b.template() + " -> " + b.grpcPath()).containsExactly(
        "GET /v1/shelves/{shelf}/books -> /bookstore.Bookstore/ListBooks",
        "GET /v1/shelves/{shelf} -> /bookstore.Bookstore/GetShelf",
        "POST /v1/shelves -> /bookstore.Bookstore/CreateShelf",
        "DELETE /v1/shelves/{shelf} -> /bookstore.Bookstore/DeleteShelf",
        "PATCH /v1/{name=shelves/*/books/**} -> /bookstore.Bookstore/UpdateBook",
        "MERGE /v1/{name=shelves/*/books/*}:merge -> /bookstore.Bookstore/UpdateBook");
  }

  @Test
  void autoMappingAddsPostOfTheGrpcPathOnlyForMethodsWithoutARule() {
    TranscoderSettings s = (TranscoderSettings) FACTORY.translate(config().setAutoMapping(true).build(), "f", new RecordedConfigErrors());
    assertThat(s.bindings()).hasSize(6); // every Bookstore method has a rule
  }

  @Test
  void refusesAServiceNotInTheSetAndABadDescriptorSet() {
    RecordedConfigErrors errors = new RecordedConfigErrors();
    assertThat(FACTORY.translate(config().addServices("bookstore.Missing").build(), "f", errors)).isNull();
    assertThat(errors.errors).containsExactly("f.services[1]: service 'bookstore.Missing' is not in the proto descriptor set");
    errors = new RecordedConfigErrors();
    FACTORY.translate(config().setProtoDescriptorBin(ByteString.copyFromUtf8("nope")).build(), "f", errors);
    assertThat(errors.errorPaths()).containsExactly("f.proto_descriptor_bin");
    errors = new RecordedConfigErrors();
    FACTORY.translate(config().setProtoDescriptor("/nonexistent/set.pb").build(), "f", errors);
    assertThat(errors.errorPaths()).containsExactly("f.proto_descriptor");
  }

  private static String bootstrap(String extra) {
    String filters = """
                - name: envoy.filters.http.grpc_json_transcoder
                  typed_config:
                    "@type": type.googleapis.com/envoy.extensions.filters.http.grpc_json_transcoder.v3.GrpcJsonTranscoder
                    proto_descriptor_bin: "%s"
                    services: [bookstore.Bookstore]
      %s""".formatted(Base64.getEncoder().encodeToString(Bookstore.descriptorSet()), extra);
    return ProxyHarness.bootstrap(ProxyHarness.ALL_TO_BACKEND, ProxyHarness.cluster("backend", "ROUND_ROBIN", 1), filters);
  }

  @Test
  void bootstrapRefusesFieldsKeelsonDoesNotImplementByName() throws Exception {
    try {
      BootstrapLoader.fromYaml(bootstrap("              max_request_body_size: 10\n"
          + "              print_options: { stream_newline_delimited: true }\n"), "t.yaml");
      throw new AssertionError("accepted");
    } catch (ConfigException e) {
      assertThat(e.problems()).hasSize(2);
      assertThat(e.problems().get(0)).contains("http_filters[0].typed_config.max_request_body_size: not supported by Keelson");
      assertThat(e.problems().get(1)).contains("http_filters[0].typed_config.print_options.stream_newline_delimited");
    }
    BootstrapLoader.fromYaml(bootstrap(""), "t.yaml"); // without them, proto_descriptor_bin loads
  }
}
