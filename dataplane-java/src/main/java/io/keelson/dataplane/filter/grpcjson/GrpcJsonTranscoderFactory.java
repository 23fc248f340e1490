package io.keelson.dataplane.filter.grpcjson;

import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.FileDescriptor;
import com.google.protobuf.Message;
import com.google.protobuf.util.JsonFormat;
import io.envoyproxy.envoy.extensions.filters.http.grpc_json_transcoder.v3.GrpcJsonTranscoder;
import io.keelson.dataplane.filter.ConfigErrors;
import io.keelson.dataplane.filter.FilterResources;
import io.keelson.dataplane.filter.HttpFilter;
import io.keelson.dataplane.filter.HttpFilterFactory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.Set;

/**
 * {@code envoy.filters.http.grpc_json_transcoder}: reads the descriptor set (proto_descriptor, a file read once per
 * config; or proto_descriptor_bin), maps the listed services' methods ({@link HttpRuleBindings}) and compiles
 * print_options into a JSON printer. The fields Keelson does not implement are refused by name in SupportedFields.
 * Per-route overrides are not supported (Envoy's per-route message is the same config: refused). Stateless.
 */
public final class GrpcJsonTranscoderFactory implements HttpFilterFactory {
  @Override
  public String filterName() {
    return "envoy.filters.http.grpc_json_transcoder";
  }

  @Override
  public Class<? extends Message> configType() {
    return GrpcJsonTranscoder.class;
  }

  @Override
  public Object translatePerRoute(Message config, String path, ConfigErrors errors) {
    errors.error(path, "a per-route gRPC-JSON transcoder config is not supported by Keelson; configure it on the listener");
    return null;
  }

  @Override
  public Object translate(Message message, String path, ConfigErrors errors) {
    GrpcJsonTranscoder c = (GrpcJsonTranscoder) message;
    byte[] set;
    String setPath;
    switch (c.getDescriptorSetCase()) {
      case PROTO_DESCRIPTOR -> {
        setPath = path + ".proto_descriptor";
        try {
          set = Files.readAllBytes(Path.of(c.getProtoDescriptor()));
        } catch (IOException | RuntimeException e) {
          errors.error(setPath, "cannot read the descriptor set file " + c.getProtoDescriptor() + ": " + e);
          return null;
        }
      }
      case PROTO_DESCRIPTOR_BIN -> {
        setPath = path + ".proto_descriptor_bin";
        set = c.getProtoDescriptorBin().toByteArray();
      }
      default -> {
        errors.error(path, "expected proto_descriptor (a file) or proto_descriptor_bin (the FileDescriptorSet's bytes)");
        return null;
      }
    }
    List<FileDescriptor> files;
    try {
      files = DescriptorSets.load(set);
    } catch (IllegalArgumentException e) {
      errors.error(setPath, e.getMessage());
      return null;
    }
    if (c.getServicesCount() == 0) {
      errors.warn(path + ".services", "no services: every request passes through untranscoded");
    }
    List<MethodBinding> bindings = HttpRuleBindings.of(files, c.getServicesList(), c.getAutoMapping(), path, errors);
    if (bindings == null) {
      return null;
    }
    JsonFormat.TypeRegistry types = typeRegistry(files);
    GrpcJsonTranscoder.PrintOptions p = c.getPrintOptions();
    JsonFormat.Printer printer = JsonFormat.printer().usingTypeRegistry(types);
    if (!p.getAddWhitespace()) {
      printer = printer.omittingInsignificantWhitespace();
    }
    if (p.getAlwaysPrintPrimitiveFields()) {
      printer = printer.includingDefaultValueFields();
    }
    if (p.getAlwaysPrintEnumsAsInts()) {
      printer = printer.printingEnumsAsInts();
    }
    if (p.getPreserveProtoFieldNames()) {
      printer = printer.preservingProtoFieldNames();
    }
    var v = c.getRequestValidationOptions();
    return new TranscoderSettings(bindings, printer, JsonFormat.parser().usingTypeRegistry(types), c.getMatchIncomingRequestRoute(),
        Set.copyOf(c.getIgnoredQueryParametersList()), c.getIgnoreUnknownQueryParameters(), v.getRejectUnknownQueryParameters(),
        v.getRejectUnknownMethod(), c.getConvertGrpcStatus(), TranscoderSettings.BUFFER_LIMIT_BYTES);
  }

  /** Every message type of the set (for Any in google.rpc.Status details and in messages). */
  private static JsonFormat.TypeRegistry typeRegistry(List<FileDescriptor> files) {
    JsonFormat.TypeRegistry.Builder b = JsonFormat.TypeRegistry.newBuilder();
    Deque<Descriptor> todo = new ArrayDeque<>();
    for (FileDescriptor f : files) {
      todo.addAll(f.getMessageTypes());
    }
    while (!todo.isEmpty()) {
      Descriptor d = todo.pop();
      b.add(d);
      todo.addAll(d.getNestedTypes());
    }
    return b.build();
  }

  @Override
  public HttpFilter create(Object settings, FilterResources resources) {
    return new GrpcJsonFilter((TranscoderSettings) settings);
  }
}
