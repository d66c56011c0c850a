// Drives dataset splits with the official TypeScript client, @arizeai/phoenix-client: a dataset created with
// per-example `splits`, read whole and by split, then appended to. Prints what the client returned as JSON.
//
//   node dataset_splits.mjs '{"baseUrl": "http://127.0.0.1:8000", "datasetName": "name", "headers": {}}'
import { createClient } from "@arizeai/phoenix-client";
import { appendDatasetExamples, createDataset, getDatasetExamples } from "@arizeai/phoenix-client/datasets";

const options = JSON.parse(process.argv[2]);
const client = createClient({ options: { baseUrl: options.baseUrl, headers: options.headers ?? {} } });

const created = await createDataset({
  client,
  name: options.datasetName,
  description: "split by @arizeai/phoenix-client",
  examples: [
    { input: { question: "2 + 2?" }, output: { answer: "4" }, splits: "train" },
    { input: { question: "3 + 3?" }, output: { answer: "6" }, splits: ["train", "test"] },
    { input: { question: "4 + 4?" }, output: { answer: "8" } },
  ],
});
const dataset = { datasetId: created.datasetId };
const whole = await getDatasetExamples({ client, dataset });
const train = await getDatasetExamples({ client, dataset: { ...dataset, splits: ["train"] } });
await appendDatasetExamples({
  client,
  dataset: { datasetName: options.datasetName },
  examples: [{ input: { question: "5 + 5?" }, output: { answer: "10" }, splits: ["test"] }],
});
const test = await getDatasetExamples({ client, dataset: { ...dataset, splits: ["test"] } });

const questions = (read) => read.examples.map((example) => example.input.question);
console.log(JSON.stringify({ whole: questions(whole), train: questions(train), test: questions(test) }));
