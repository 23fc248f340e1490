package io.keelson.bench.e2e;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonSerializer;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.SerializerProvider;
import com.fasterxml.jackson.databind.module.SimpleModule;

import java.io.IOException;
import java.nio.file.Path;

/** Writes results.json; numbers that were not measured (NaN) become null so any JSON reader takes the file. Stateless. */
final class ResultsJson {
  static final ObjectMapper MAPPER = new ObjectMapper()
    .enable(SerializationFeature.INDENT_OUTPUT)
    .registerModule(new SimpleModule().addSerializer(Double.class, new NanAsNull())
      .addSerializer(double.class, new NanAsNull()));

  private ResultsJson() {
  }

  static Path write(BenchResults results, Path dir) throws IOException {
    Path file = dir.resolve("results.json");
    MAPPER.writeValue(file.toFile(), results);
    return file;
  }

  private static final class NanAsNull extends JsonSerializer<Double> {
    @Override
    public void serialize(Double value, JsonGenerator gen, SerializerProvider serializers) throws IOException {
      if (value == null || value.isNaN() || value.isInfinite()) {
        gen.writeNull();
      } else {
        gen.writeNumber(value);
      }
    }
  }
}
