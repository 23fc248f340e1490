package io.keelson.dataplane.filter.grpcjson;

import com.google.api.AnnotationsProto;
import com.google.api.HttpRule;
import com.google.protobuf.DescriptorProtos.DescriptorProto;
import com.google.protobuf.DescriptorProtos.EnumDescriptorProto;
import com.google.protobuf.DescriptorProtos.EnumValueDescriptorProto;
import com.google.protobuf.DescriptorProtos.FieldDescriptorProto;
import com.google.protobuf.DescriptorProtos.FileDescriptorProto;
import com.google.protobuf.DescriptorProtos.FileDescriptorSet;
import com.google.protobuf.DescriptorProtos.MethodDescriptorProto;
import com.google.protobuf.DescriptorProtos.MethodOptions;
import com.google.protobuf.DescriptorProtos.ServiceDescriptorProto;
import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.FileDescriptor;
import com.google.protobuf.DynamicMessage;
import io.grpc.Grpc;
import io.grpc.InsecureServerCredentials;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.ServerInterceptors;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.stub.ServerCalls;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * A real grpc-java server for a {@code bookstore.Bookstore} service whose descriptor (with {@code google.api.http}
 * rules) is built here with protobuf-java's descriptor API, as protoc would write it: no protoc needed. Messages are
 * {@link DynamicMessage}s. GetShelf answers NOT_FOUND for shelf 404; ListBooks streams {@code limit} books, the last
 * one only once {@link #releaseLastBook} counted down. Thread-safe.
 */
final class Bookstore implements AutoCloseable {
  static final FileDescriptorProto PROTO = proto();
  static final FileDescriptor FILE = build();
  static final Descriptor SHELF = FILE.findMessageTypeByName("Shelf");
  static final Descriptor BOOK = FILE.findMessageTypeByName("Book");

  volatile Metadata lastHeaders;
  volatile DynamicMessage lastRequest;
  final CountDownLatch releaseLastBook = new CountDownLatch(1);
  private final Server server;

  Bookstore() throws IOException {
    ServerServiceDefinition.Builder service = ServerServiceDefinition.builder("bookstore.Bookstore");
    service.addMethod(method("GetShelf", MethodDescriptor.MethodType.UNARY), ServerCalls.asyncUnaryCall(this::getShelf));
    service.addMethod(method("CreateShelf", MethodDescriptor.MethodType.UNARY), ServerCalls.asyncUnaryCall(this::echoShelf));
    service.addMethod(method("DeleteShelf", MethodDescriptor.MethodType.UNARY), ServerCalls.asyncUnaryCall(this::getShelf));
    service.addMethod(method("UpdateBook", MethodDescriptor.MethodType.UNARY), ServerCalls.asyncUnaryCall(this::echo));
    service.addMethod(method("ListBooks", MethodDescriptor.MethodType.SERVER_STREAMING), ServerCalls.asyncServerStreamingCall(this::listBooks));
    io.grpc.ServerInterceptor seen = new io.grpc.ServerInterceptor() {
      @Override
      public <Q, R> io.grpc.ServerCall.Listener<Q> interceptCall(io.grpc.ServerCall<Q, R> call, Metadata headers,
          io.grpc.ServerCallHandler<Q, R> next) {
        lastHeaders = headers;
        return next.startCall(call, headers);
      }
    };
    server = Grpc.newServerBuilderForPort(0, InsecureServerCredentials.create())
        .addService(ServerInterceptors.intercept(service.build(), seen)).build().start();
  }

  int port() {
    return server.getPort();
  }

  /** The descriptor set, as protoc --include_imports writes it (google/api files first). */
  static byte[] descriptorSet() {
    return FileDescriptorSet.newBuilder()
        .addFile(com.google.protobuf.DescriptorProtos.getDescriptor().toProto())
        .addFile(com.google.api.HttpProto.getDescriptor().toProto())
        .addFile(AnnotationsProto.getDescriptor().toProto())
        .addFile(PROTO).build().toByteArray();
  }

  private void getShelf(DynamicMessage request, StreamObserver<DynamicMessage> out) {
    lastRequest = request;
    long id = (Long) field(request, "shelf");
    if (id == 404) {
      out.onError(Status.NOT_FOUND.withDescription("no shelf 404").asRuntimeException());
      return;
    }
    String theme = "shelf " + id + (Boolean.TRUE.equals(field(request, "verbose")) ? " verbose" : "") + " tag " + field(request, "tag");
    out.onNext(DynamicMessage.newBuilder(SHELF).setField(SHELF.findFieldByName("id"), id)
        .setField(SHELF.findFieldByName("theme"), theme).build());
    out.onCompleted();
  }

  private void echoShelf(DynamicMessage request, StreamObserver<DynamicMessage> out) {
    lastRequest = request;
    DynamicMessage shelf = (DynamicMessage) field(request, "shelf");
    out.onNext(shelf.toBuilder().setField(SHELF.findFieldByName("id"), 7L).build());
    out.onCompleted();
  }

  private void echo(DynamicMessage request, StreamObserver<DynamicMessage> out) {
    lastRequest = request;
    out.onNext(request);
    out.onCompleted();
  }

  private void listBooks(DynamicMessage request, StreamObserver<DynamicMessage> out) {
    lastRequest = request;
    int limit = (Integer) field(request, "limit");
    new Thread(() -> {
      try {
        for (int i = 0; i < limit; i++) {
          if (i == limit - 1 && limit > 1 && !releaseLastBook.await(20, TimeUnit.SECONDS)) {
            out.onError(Status.DEADLINE_EXCEEDED.asRuntimeException());
            return;
          }
          out.onNext(DynamicMessage.newBuilder(BOOK).setField(BOOK.findFieldByName("name"), "shelves/" + field(request, "shelf") + "/books/" + i)
              .setField(BOOK.findFieldByName("title"), "Book " + i).build());
        }
        out.onCompleted();
      } catch (InterruptedException e) {
        out.onError(Status.CANCELLED.asRuntimeException());
      }
    }).start();
  }

  private static Object field(DynamicMessage m, String name) {
    return m.getField(m.getDescriptorForType().findFieldByName(name));
  }

  private static MethodDescriptor<DynamicMessage, DynamicMessage> method(String name, MethodDescriptor.MethodType type) {
    var m = FILE.findServiceByName("Bookstore").findMethodByName(name);
    return MethodDescriptor.<DynamicMessage, DynamicMessage>newBuilder().setType(type)
        .setFullMethodName(MethodDescriptor.generateFullMethodName("bookstore.Bookstore", name))
        .setRequestMarshaller(marshaller(m.getInputType())).setResponseMarshaller(marshaller(m.getOutputType())).build();
  }

  private static MethodDescriptor.Marshaller<DynamicMessage> marshaller(Descriptor type) {
    return new MethodDescriptor.Marshaller<>() {
      @Override
      public InputStream stream(DynamicMessage value) {
        return value.toByteString().newInput();
      }

      @Override
      public DynamicMessage parse(InputStream stream) {
        try {
          return DynamicMessage.parseFrom(type, stream);
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      }
    };
  }

  private static FieldDescriptorProto field(String name, int number, FieldDescriptorProto.Type type) {
    return FieldDescriptorProto.newBuilder().setName(name).setNumber(number).setType(type)
        .setLabel(FieldDescriptorProto.Label.LABEL_OPTIONAL).setJsonName(jsonName(name)).build();
  }

  private static String jsonName(String name) {
    StringBuilder b = new StringBuilder();
    for (int i = 0; i < name.length(); i++) {
      char c = name.charAt(i);
      b.append(c == '_' && i + 1 < name.length() ? Character.toUpperCase(name.charAt(++i)) : c);
    }
    return b.toString();
  }

  private static FieldDescriptorProto messageField(String name, int number, String type) {
    return field(name, number, FieldDescriptorProto.Type.TYPE_MESSAGE).toBuilder().setTypeName(type).build();
  }

  private static MethodDescriptorProto rpc(String name, String in, String out, boolean serverStreaming, HttpRule rule) {
    return MethodDescriptorProto.newBuilder().setName(name).setInputType(in).setOutputType(out).setServerStreaming(serverStreaming)
        .setOptions(MethodOptions.newBuilder().setExtension(AnnotationsProto.http, rule)).build();
  }

  private static FileDescriptorProto proto() {
    return FileDescriptorProto.newBuilder().setName("bookstore.proto").setPackage("bookstore").setSyntax("proto3")
        .addDependency("google/api/annotations.proto")
        .addEnumType(EnumDescriptorProto.newBuilder().setName("Genre")
            .addValue(EnumValueDescriptorProto.newBuilder().setName("GENRE_UNSPECIFIED").setNumber(0))
            .addValue(EnumValueDescriptorProto.newBuilder().setName("FICTION").setNumber(1)))
        .addMessageType(DescriptorProto.newBuilder().setName("Shelf")
            .addField(field("id", 1, FieldDescriptorProto.Type.TYPE_INT64))
            .addField(field("theme", 2, FieldDescriptorProto.Type.TYPE_STRING))
            .addField(field("genre", 3, FieldDescriptorProto.Type.TYPE_ENUM).toBuilder().setTypeName(".bookstore.Genre"))
            .addField(field("shelf_label", 4, FieldDescriptorProto.Type.TYPE_STRING)))
        .addMessageType(DescriptorProto.newBuilder().setName("GetShelfRequest")
            .addField(field("shelf", 1, FieldDescriptorProto.Type.TYPE_INT64))
            .addField(field("verbose", 2, FieldDescriptorProto.Type.TYPE_BOOL))
            .addField(field("tag", 3, FieldDescriptorProto.Type.TYPE_STRING)))
        .addMessageType(DescriptorProto.newBuilder().setName("CreateShelfRequest")
            .addField(messageField("shelf", 1, ".bookstore.Shelf"))
            .addField(field("requester", 2, FieldDescriptorProto.Type.TYPE_STRING)))
        .addMessageType(DescriptorProto.newBuilder().setName("ListBooksRequest")
            .addField(field("shelf", 1, FieldDescriptorProto.Type.TYPE_INT64))
            .addField(field("limit", 2, FieldDescriptorProto.Type.TYPE_INT32)))
        .addMessageType(DescriptorProto.newBuilder().setName("Book")
            .addField(field("name", 1, FieldDescriptorProto.Type.TYPE_STRING))
            .addField(field("title", 2, FieldDescriptorProto.Type.TYPE_STRING)))
        .addService(ServiceDescriptorProto.newBuilder().setName("Bookstore")
            .addMethod(rpc("GetShelf", ".bookstore.GetShelfRequest", ".bookstore.Shelf", false,
                HttpRule.newBuilder().setGet("/v1/shelves/{shelf}").build()))
            .addMethod(rpc("CreateShelf", ".bookstore.CreateShelfRequest", ".bookstore.Shelf", false,
                HttpRule.newBuilder().setPost("/v1/shelves").setBody("shelf").build()))
            .addMethod(rpc("DeleteShelf", ".bookstore.GetShelfRequest", ".bookstore.Shelf", false,
                HttpRule.newBuilder().setDelete("/v1/shelves/{shelf}").build()))
            .addMethod(rpc("UpdateBook", ".bookstore.Book", ".bookstore.Book", false,
                HttpRule.newBuilder().setPatch("/v1/{name=shelves/*/books/**}").setBody("*")
                    .addAdditionalBindings(HttpRule.newBuilder().setCustom(
                        com.google.api.CustomHttpPattern.newBuilder().setKind("MERGE").setPath("/v1/{name=shelves/*/books/*}:merge"))
                        .setBody("*")).build()))
            .addMethod(rpc("ListBooks", ".bookstore.ListBooksRequest", ".bookstore.Book", true,
                HttpRule.newBuilder().setGet("/v1/shelves/{shelf}/books").build())))
        .build();
  }

  private static FileDescriptor build() {
    try {
      return FileDescriptor.buildFrom(proto(), new FileDescriptor[] {AnnotationsProto.getDescriptor()});
    } catch (com.google.protobuf.Descriptors.DescriptorValidationException e) {
      throw new IllegalStateException(e);
    }
  }

  @Override
  public void close() {
    releaseLastBook.countDown();
    server.shutdownNow();
  }
}
