package io.keelson.dataplane.security;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.CodedOutputStream;
import io.grpc.MethodDescriptor;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;

/**
 * The CSR exchange, wire-compatible with Istio's {@code istio.v1.auth.IstioCertificateService/CreateCertificate}
 * (the proxy sends a PEM CSR and a requested lifetime, the control plane answers the PEM chain, leaf
 * first and root last). The two messages are tiny, so they are encoded here by field number rather
 * than generated from Istio's .proto:
 * <pre>
 * IstioCertificateRequest  { string csr = 1; int64 validity_duration = 2; }   // seconds
 * IstioCertificateResponse { repeated string cert_chain = 1; }
 * </pre>
 * Stateless and thread-safe.
 */
public final class CertificateServiceProtocol {
  public static final String SERVICE = "istio.v1.auth.IstioCertificateService";

  /** @param validitySeconds requested lifetime; 0 = the CA's default */
  public record Request(String csrPem, long validitySeconds) {}

  /** @param certChain PEM certificates, leaf first */
  public record Response(List<String> certChain) {}

  public static final MethodDescriptor<Request, Response> CREATE_CERTIFICATE =
      MethodDescriptor.<Request, Response>newBuilder()
          .setType(MethodDescriptor.MethodType.UNARY)
          .setFullMethodName(MethodDescriptor.generateFullMethodName(SERVICE, "CreateCertificate"))
          .setRequestMarshaller(new RequestMarshaller())
          .setResponseMarshaller(new ResponseMarshaller())
          .build();

  private CertificateServiceProtocol() {}

  private static final class RequestMarshaller implements MethodDescriptor.Marshaller<Request> {
    @Override
    public InputStream stream(Request r) {
      return encode(out -> {
        out.writeString(1, r.csrPem());
        if (r.validitySeconds() != 0) {
          out.writeInt64(2, r.validitySeconds());
        }
      });
    }

    @Override
    public Request parse(InputStream in) {
      try {
        CodedInputStream c = CodedInputStream.newInstance(in);
        String csr = "";
        long validity = 0;
        for (int tag = c.readTag(); tag != 0; tag = c.readTag()) {
          switch (tag) {
            case (1 << 3) | 2 -> csr = c.readStringRequireUtf8();
            case (2 << 3) -> validity = c.readInt64();
            default -> c.skipField(tag);
          }
        }
        return new Request(csr, validity);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
  }

  private static final class ResponseMarshaller implements MethodDescriptor.Marshaller<Response> {
    @Override
    public InputStream stream(Response r) {
      return encode(out -> {
        for (String pem : r.certChain()) {
          out.writeString(1, pem);
        }
      });
    }

    @Override
    public Response parse(InputStream in) {
      try {
        CodedInputStream c = CodedInputStream.newInstance(in);
        List<String> chain = new ArrayList<>();
        for (int tag = c.readTag(); tag != 0; tag = c.readTag()) {
          if (tag == ((1 << 3) | 2)) {
            chain.add(c.readStringRequireUtf8());
          } else {
            c.skipField(tag);
          }
        }
        return new Response(List.copyOf(chain));
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
  }

  private interface Writer {
    void write(CodedOutputStream out) throws IOException;
  }

  private static InputStream encode(Writer w) {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream(1024);
    try {
      CodedOutputStream out = CodedOutputStream.newInstance(bytes);
      w.write(out);
      out.flush();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return new ByteArrayInputStream(bytes.toByteArray());
  }
}
