package io.keelson.dataplane.config.envoy;

import com.google.protobuf.Any;
import com.google.protobuf.CodedInputStream;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Value;
import java.io.IOException;
import java.util.Map;

/**
 * Istio's TCP metadata exchange filter config ({@code envoy.tcp.metadataexchange.config.MetadataExchange}, istio/proxy's
 * proto, not in Envoy's API): downstream {@code istio.metadata_exchange} / {@code envoy.filters.network.metadata_exchange}
 * in front of a tcp_proxy, upstream in a cluster's {@code filters}. Read from a TypedStruct (what istiod sends) or the
 * message itself, decoded by hand: {@code protocol} (1, the ALPN that turns it on) and {@code enable_discovery} (2,
 * accepted: without an exchange the peer is unknown, Keelson has no workload discovery to fall back on); any other
 * field is refused by path. Stateless.
 */
final class MetadataExchangeTranslator {
  static final String TYPE = "envoy.tcp.metadataexchange.config.MetadataExchange";
  private static final java.util.Set<String> TYPED_STRUCTS = java.util.Set.of("xds.type.v3.TypedStruct", "udpa.type.v1.TypedStruct");

  private MetadataExchangeTranslator() {}

  /** Whether {@code typed} is this filter's config (directly or in a TypedStruct). */
  static boolean is(Any typed) {
    String type = SupportedTypes.typeName(typed.getTypeUrl());
    if (type.equals(TYPE)) {
      return true;
    }
    if (!TYPED_STRUCTS.contains(type)) {
      return false;
    }
    try {
      return SupportedTypes.typeName(com.github.xds.type.v3.TypedStruct.parseFrom(typed.getValue()).getTypeUrl()).equals(TYPE);
    } catch (InvalidProtocolBufferException e) {
      return false;
    }
  }

  /** The filter's {@code protocol}, or null after reporting what is wrong at {@code path} (the typed_config). */
  static String protocol(Any typed, String path, Problems problems) {
    try {
      if (SupportedTypes.typeName(typed.getTypeUrl()).equals(TYPE)) {
        return fromMessage(CodedInputStream.newInstance(typed.getValue().newInput()), path, problems);
      }
      return fromStruct(com.github.xds.type.v3.TypedStruct.parseFrom(typed.getValue()).getValue().getFieldsMap(),
          path + ".value", problems);
    } catch (IOException e) {
      problems.error(path, "not a valid " + TYPE + ": " + e.getMessage());
      return null;
    }
  }

  private static String fromStruct(Map<String, Value> fields, String path, Problems problems) {
    String protocol = null;
    for (Map.Entry<String, Value> f : fields.entrySet()) {
      switch (f.getKey()) {
        case "protocol" -> {
          if (!f.getValue().hasStringValue()) {
            problems.error(path + ".protocol", "expected a string (the ALPN protocol, istio-peer-exchange)");
            return null;
          }
          protocol = f.getValue().getStringValue();
        }
        case "enable_discovery" -> {
          if (!f.getValue().hasBoolValue()) {
            problems.error(path + ".enable_discovery", "expected a bool");
            return null;
          }
        }
        default -> {
          problems.error(path + "." + f.getKey(), "is not supported; expected only protocol and enable_discovery");
          return null;
        }
      }
    }
    return required(protocol, path, problems);
  }

  private static String fromMessage(CodedInputStream in, String path, Problems problems) throws IOException {
    String protocol = null;
    for (int tag = in.readTag(); tag != 0; tag = in.readTag()) {
      switch (tag) {
        case (1 << 3) | 2 -> protocol = in.readStringRequireUtf8();
        case (2 << 3) -> in.readBool();
        default -> {
          problems.error(path, "field " + (tag >>> 3) + " of " + TYPE
              + " is not supported; expected only protocol (1) and enable_discovery (2)");
          return null;
        }
      }
    }
    return required(protocol, path, problems);
  }

  private static String required(String protocol, String path, Problems problems) {
    if (protocol == null || protocol.isEmpty()) {
      problems.error(path + ".protocol", "is required (istio/proxy asserts it); expected the ALPN protocol, "
          + "istio-peer-exchange");
      return null;
    }
    return protocol;
  }
}
