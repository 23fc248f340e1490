package io.keelson.dataplane.filter.fault;

import com.google.protobuf.Message;
import io.envoyproxy.envoy.extensions.filters.common.fault.v3.FaultDelay;
import io.envoyproxy.envoy.extensions.filters.http.fault.v3.FaultAbort;
import io.envoyproxy.envoy.extensions.filters.http.fault.v3.HTTPFault;
import io.envoyproxy.envoy.type.v3.FractionalPercent;
import io.keelson.dataplane.filter.ConfigErrors;
import io.keelson.dataplane.filter.FilterResources;
import io.keelson.dataplane.filter.HttpFilter;
import io.keelson.dataplane.filter.HttpFilterFactory;
import io.keelson.dataplane.filter.Percent;
import io.keelson.dataplane.filter.Percents;
import java.time.Duration;

/** {@code envoy.filters.http.fault}: translates HTTPFault into {@link FaultConfig} and compiles {@link FaultFilter}. Stateless. */
public final class FaultFilterFactory implements HttpFilterFactory {
  @Override
  public String filterName() {
    return "envoy.filters.http.fault";
  }

  @Override
  public Class<? extends Message> configType() {
    return HTTPFault.class;
  }

  @Override
  public Object translate(Message message, String path, ConfigErrors errors) {
    HTTPFault f = (HTTPFault) message;
    boolean ok = true;
    Duration fixed = null;
    boolean headerDelay = false;
    Percent delayPercent = null;
    if (f.hasDelay()) {
      FaultDelay d = f.getDelay();
      switch (d.getFaultDelaySecifierCase()) {
        case FIXED_DELAY -> fixed = Duration.ofSeconds(d.getFixedDelay().getSeconds(), d.getFixedDelay().getNanos());
        case HEADER_DELAY -> headerDelay = true;
        default -> {
          errors.error(path + ".delay", "a delay needs fixed_delay or header_delay");
          ok = false;
        }
      }
      delayPercent = share(d.hasPercentage(), d.getPercentage(), path + ".delay.percentage", "delay", errors);
    }
    int http = 0;
    int grpc = -1;
    boolean headerAbort = false;
    Percent abortPercent = null;
    if (f.hasAbort()) {
      FaultAbort a = f.getAbort();
      switch (a.getErrorTypeCase()) {
        case HTTP_STATUS -> {
          http = a.getHttpStatus();
          if (http < 200 || http > 599) {
            errors.error(path + ".abort.http_status", http + " is out of range; expected 200-599");
            ok = false;
          }
        }
        case GRPC_STATUS -> grpc = a.getGrpcStatus();
        case HEADER_ABORT -> headerAbort = true;
        default -> {
          errors.error(path + ".abort", "an abort needs http_status, grpc_status or header_abort");
          ok = false;
        }
      }
      abortPercent = share(a.hasPercentage(), a.getPercentage(), path + ".abort.percentage", "abort", errors);
    }
    long max = f.hasMaxActiveFaults() ? Integer.toUnsignedLong(f.getMaxActiveFaults().getValue()) : -1;
    return ok ? new FaultConfig(fixed, headerDelay, delayPercent, http, grpc, headerAbort, abortPercent, max) : null;
  }

  /**
   * The share of requests a delay or abort applies to. An absent percentage is FractionalPercent's default
   * instance, 0/100, as in Envoy (FaultAbortConfig/FaultDelayConfig read {@code percentage()} unchecked): the
   * fault never fires, not even when header-controlled (the header's share is capped by the configured one).
   * Accepted like Envoy does, with a warning, since it is almost always a mistake.
   */
  private static Percent share(boolean present, FractionalPercent percentage, String path, String what, ConfigErrors errors) {
    if (!present) {
      errors.warn(path, "absent: Envoy reads it as 0%, so this " + what
          + " never applies; set percentage: { numerator: 100 } to apply it to every request");
    }
    return Percents.of(percentage);
  }

  @Override
  public HttpFilter create(Object settings, FilterResources resources) {
    return new FaultFilter((FaultConfig) settings, FaultStats.of(resources), resources.random());
  }
}
