// Drives phoenix-annot with the official TypeScript client, @arizeai/phoenix-client, as a Node app does:
// annotations written and read back, a dataset created and read. Prints what the client returned as JSON.
//
//   node phoenix_client.mjs '{"baseUrl": "http://127.0.0.1:8000", "project": "name", "spanIds": ["…"],
//                             "datasetName": "name", "headers": {}}'
import { createClient } from "@arizeai/phoenix-client";
import { addSpanAnnotation, getSpanAnnotations, logSpanAnnotations } from "@arizeai/phoenix-client/spans";
import { createDataset, getDataset, getDatasetExamples } from "@arizeai/phoenix-client/datasets";

const options = JSON.parse(process.argv[2]);
const client = createClient({ options: { baseUrl: options.baseUrl, headers: options.headers ?? {} } });
const [first, ...rest] = options.spanIds;

const logged = await logSpanAnnotations({
  client,
  sync: true,
  spanAnnotations: rest.map((spanId, n) => ({
    spanId,
    name: "correctness",
    label: n % 2 ? "incorrect" : "correct",
    score: n % 2 ? 0 : 1,
    explanation: "judged by a Node evaluator",
    annotatorKind: "LLM",
    identifier: "node-judge",
    metadata: { model: "gpt-4o", n },
  })),
});
const added = await addSpanAnnotation({
  client,
  sync: true,
  spanAnnotation: { spanId: first, name: "helpfulness", score: 0.25, annotatorKind: "HUMAN" },
});
const read = await getSpanAnnotations({
  client,
  project: { projectName: options.project },
  spanIds: options.spanIds,
});

const created = await createDataset({
  client,
  name: options.datasetName,
  description: "made by @arizeai/phoenix-client",
  examples: [
    { input: { question: "¿Dónde está la biblioteca?" }, output: { answer: "Allí." }, metadata: { n: 1 } },
    { input: { question: "2 + 2?" }, output: { answer: "4" }, metadata: { n: 2 } },
  ],
});
const dataset = await getDataset({ client, dataset: { datasetId: created.datasetId } });
const examples = await getDatasetExamples({ client, dataset: { datasetName: options.datasetName } });

console.log(JSON.stringify({ logged, added, read, created, dataset, examples }));
