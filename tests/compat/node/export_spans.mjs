// Sends traces to phoenix-annot with a real OpenTelemetry JS exporter, as a Node app instrumented for
// Phoenix does, and prints the ids of the spans it sent as JSON. Exits non-zero when the export fails.
//
//   node export_spans.mjs '{"url": "http://127.0.0.1:8000/v1/traces", "protocol": "json" | "protobuf",
//                          "compression": "gzip" | "none", "project": "name", "traces": 3, "headers": {}}'
import { TracerProvider, BatchSpanProcessor } from "@opentelemetry/sdk-trace";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { OTLPTraceExporter as JsonExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { OTLPTraceExporter as ProtobufExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { context, trace, SpanStatusCode } from "@opentelemetry/api";

const options = JSON.parse(process.argv[2]);
const Exporter = { json: JsonExporter, protobuf: ProtobufExporter }[options.protocol];
const exporter = new Exporter({
  url: options.url,
  compression: options.compression,
  headers: options.headers ?? {},
});
const provider = new TracerProvider({
  resource: resourceFromAttributes({
    "service.name": "node-compat",
    "openinference.project.name": options.project,
  }),
  spanProcessors: [new BatchSpanProcessor({ exporter, maxExportBatchSize: options.batchSize ?? 512 })],
});
const tracer = provider.getTracer("phoenix-annot-compat");

const sent = [];
for (let t = 0; t < options.traces; t++) {
  const root = tracer.startSpan("rag", {
    attributes: { "openinference.span.kind": "CHAIN", "input.value": `question ${t}: ¿qué tal? 日本語` },
  });
  const ctx = trace.setSpan(context.active(), root);
  const llm = tracer.startSpan(
    "ChatCompletion",
    {
      attributes: {
        "openinference.span.kind": "LLM",
        "llm.model_name": "gpt-4o-mini",
        "llm.token_count.prompt": 10 + t,
        "llm.token_count.completion": 5,
        "llm.token_count.total": 15 + t,
        "llm.input_messages.0.message.role": "user",
        "llm.input_messages.0.message.content": `question ${t}`,
        "llm.output_messages.0.message.role": "assistant",
        "llm.output_messages.0.message.content": `answer ${t}`,
        "input.value": `question ${t}`,
        "output.value": `answer ${t}`,
        "metadata": JSON.stringify({ tier: "gold", n: t }),
        "tag.tags": ["node", "compat"],
        "llm.invocation_parameters": JSON.stringify({ temperature: 0.5 }),
      },
    },
    ctx,
  );
  if (t % 2 === 1) {
    llm.setStatus({ code: SpanStatusCode.ERROR, message: "rate limited" });
    llm.recordException(new Error("rate limited"));
  }
  llm.end();
  root.setAttribute("output.value", `answer ${t}`);
  root.end();
  for (const span of [root, llm]) {
    sent.push({ trace_id: span.spanContext().traceId, span_id: span.spanContext().spanId, name: span.name });
  }
}

try {
  await provider.forceFlush();
} catch (error) {
  console.error(`export failed: ${error}`);
  process.exit(1);
} finally {
  await provider.shutdown();
}
console.log(JSON.stringify(sent));
