// Starts a TypeScript worker entry when the connector runs from its sources (tests, tsx): dist has .js.
import { register } from "tsx/esm/api";
import { workerData } from "node:worker_threads";

register();
await import(workerData.entry);
