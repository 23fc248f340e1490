package io.keelson.bench.jmh;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * A JMH benchmark of the gateway's packet stages: {@code bin/keelson bench --jmh} forks its JVM with the gateway's
 * own flags file ({@code bin/lib/gateway-jvm.flags} under the project root, {@code GatewayCommand.jvmFlags}: C2
 * inlining budgets and one compile root per stage), as {@code bin/keelson gateway} runs them, so JMH measures the
 * stages compiled as the gateway compiles them. A JMH annotation cannot name a file under a root known only at run
 * time, so the launcher ({@code io.keelson.bench.e2e.JmhLauncher}) appends it; a benchmark run with JMH's own
 * {@code Main} gets it with {@code -jvmArgsAppend @bin/lib/gateway-jvm.flags} (from the project root).
 */
@Documented
@Retention(RetentionPolicy.RUNTIME)
@Target(ElementType.TYPE)
public @interface GatewayJvmFlags {}
