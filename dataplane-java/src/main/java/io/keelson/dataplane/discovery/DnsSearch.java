package io.keelson.dataplane.discovery;

import io.netty.channel.EventLoop;
import io.netty.handler.codec.dns.DnsResponseCode;
import io.netty.resolver.dns.DnsErrorCauseException;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;
import java.util.List;
import java.util.function.Function;

/**
 * A question asked of a search list's names in turn, as c-ares walks it ({@link ResolvConf#candidates}): the first
 * name with records answers; a name that does not exist (NXDOMAIN) or has none of them moves on to the next; any
 * other failure ends the lookup. Over UDP and TCP alike. Confined to the DNS client's event loop.
 */
final class DnsSearch {
  private DnsSearch() {}

  /**
   * The records {@code ask} gets for the first of {@code names} that has any; none for any name: an empty answer when
   * one of them exists, else the last failure.
   */
  static Future<List<DnsAnswer.Address>> askEach(EventLoop loop, List<String> names,
      Function<String, Future<List<DnsAnswer.Address>>> ask) {
    Promise<List<DnsAnswer.Address>> answer = loop.newPromise();
    askFrom(names, 0, ask, answer, false);
    return answer;
  }

  /** Asks {@code names[i]}; {@code exists}: an earlier name exists without such records. */
  private static void askFrom(List<String> names, int i, Function<String, Future<List<DnsAnswer.Address>>> ask,
      Promise<List<DnsAnswer.Address>> answer, boolean exists) {
    ask.apply(names.get(i)).addListener(f -> {
      boolean last = i + 1 == names.size();
      if (f.isSuccess()) {
        @SuppressWarnings("unchecked")
        List<DnsAnswer.Address> got = (List<DnsAnswer.Address>) f.getNow();
        if (!got.isEmpty() || last) {
          answer.trySuccess(got);
        } else {
          askFrom(names, i + 1, ask, answer, true);
        }
      } else if (!noSuchName(f.cause())) {
        answer.tryFailure(f.cause());
      } else if (!last) {
        askFrom(names, i + 1, ask, answer, exists);
      } else if (exists) {
        answer.trySuccess(List.of());
      } else {
        answer.tryFailure(f.cause());
      }
    });
  }

  /** True when {@code failure} is a server's NXDOMAIN answer (TCP's or Netty's resolver's). */
  static boolean noSuchName(Throwable failure) {
    for (Throwable t = failure; t != null; t = t.getCause()) {
      if (t instanceof TcpDnsQuery.NoSuchName
          || t instanceof DnsErrorCauseException e && e.getCode() == DnsResponseCode.NXDOMAIN) {
        return true;
      }
    }
    return false;
  }
}
