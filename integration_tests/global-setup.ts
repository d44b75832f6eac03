// One local Redshift stand-in for the whole vitest run; test files get it via inject("localRedshift").
import type { TestProject } from "vitest/node";
import { startLocalRedshift, type LocalRedshift } from "./local-redshift/index.js";

export interface ProvidedLocalRedshift {
  config: LocalRedshift["config"];
  pg: LocalRedshift["pg"];
  gateway: LocalRedshift["gateway"];
  s3: LocalRedshift["s3"];
}

declare module "vitest" {
  export interface ProvidedContext {
    localRedshift: ProvidedLocalRedshift;
  }
}

let rs: LocalRedshift | undefined;

export async function setup(project: TestProject): Promise<void> {
  rs = await startLocalRedshift({ quiet: true });
  project.provide("localRedshift", { config: rs.config, pg: rs.pg, gateway: rs.gateway, s3: rs.s3 });
}

export async function teardown(): Promise<void> {
  await rs?.stop();
  rs = undefined;
}
