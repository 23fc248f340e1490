package io.keelson.dataplane.filter.grpcjson;

import com.google.protobuf.DescriptorProtos.FileDescriptorProto;
import com.google.protobuf.DescriptorProtos.FileDescriptorSet;
import com.google.protobuf.Descriptors.DescriptorValidationException;
import com.google.protobuf.Descriptors.FileDescriptor;
import com.google.protobuf.ExtensionRegistry;
import com.google.protobuf.InvalidProtocolBufferException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Builds the files of a FileDescriptorSet (protoc {@code --descriptor_set_out}, {@code --include_imports}) into
 * descriptors, with each method's {@code google.api.http} option parsed. A dependency the set leaves out is taken
 * from the well-known files compiled into Keelson (google/protobuf/*, google/api/annotations.proto and http.proto,
 * google/rpc/status.proto), so a set made without {@code --include_imports} loads when it imports only those.
 * Stateless.
 */
final class DescriptorSets {
  private static final Map<String, FileDescriptor> BUILT_IN = builtIn();

  private DescriptorSets() {}

  private static Map<String, FileDescriptor> builtIn() {
    Map<String, FileDescriptor> m = new HashMap<>();
    for (FileDescriptor f : List.of(com.google.protobuf.AnyProto.getDescriptor(), com.google.protobuf.StructProto.getDescriptor(),
        com.google.protobuf.WrappersProto.getDescriptor(), com.google.protobuf.TimestampProto.getDescriptor(),
        com.google.protobuf.DurationProto.getDescriptor(), com.google.protobuf.EmptyProto.getDescriptor(),
        com.google.protobuf.FieldMaskProto.getDescriptor(), com.google.protobuf.DescriptorProtos.getDescriptor(),
        com.google.api.AnnotationsProto.getDescriptor(), com.google.api.HttpProto.getDescriptor(),
        com.google.rpc.StatusProto.getDescriptor())) {
      m.put(f.getName(), f);
    }
    return m;
  }

  /** Parses a serialized FileDescriptorSet; throws {@link IllegalArgumentException} saying what is wrong. */
  static List<FileDescriptor> load(byte[] serialized) {
    ExtensionRegistry registry = ExtensionRegistry.newInstance();
    registry.add(com.google.api.AnnotationsProto.http);
    FileDescriptorSet set;
    try {
      set = FileDescriptorSet.parseFrom(serialized, registry);
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalArgumentException("not a serialized FileDescriptorSet: " + e.getMessage());
    }
    Map<String, FileDescriptorProto> protos = new HashMap<>();
    for (FileDescriptorProto p : set.getFileList()) {
      protos.put(p.getName(), p);
    }
    Map<String, FileDescriptor> built = new HashMap<>();
    List<FileDescriptor> out = new ArrayList<>();
    for (FileDescriptorProto p : set.getFileList()) {
      out.add(build(p.getName(), protos, built, new ArrayList<>()));
    }
    return out;
  }

  private static FileDescriptor build(String name, Map<String, FileDescriptorProto> protos, Map<String, FileDescriptor> built,
      List<String> stack) {
    FileDescriptor done = built.get(name);
    if (done != null) {
      return done;
    }
    FileDescriptorProto proto = protos.get(name);
    if (proto == null) {
      FileDescriptor known = BUILT_IN.get(name);
      if (known == null) {
        throw new IllegalArgumentException("the descriptor set lacks " + name + " (imported by " + stack.getLast()
            + "); make it with protoc --include_imports");
      }
      return known;
    }
    if (stack.contains(name)) {
      throw new IllegalArgumentException("import cycle through " + name);
    }
    stack.add(name);
    FileDescriptor[] deps = new FileDescriptor[proto.getDependencyCount()];
    for (int i = 0; i < deps.length; i++) {
      deps[i] = build(proto.getDependency(i), protos, built, stack);
    }
    stack.removeLast();
    try {
      FileDescriptor f = FileDescriptor.buildFrom(proto, deps);
      built.put(name, f);
      return f;
    } catch (DescriptorValidationException e) {
      throw new IllegalArgumentException(name + ": " + e.getMessage());
    }
  }
}
