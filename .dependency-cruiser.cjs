/**
 * The house plan of src/, checked on every CI run (test/unit/layout.test.ts runs this file; by hand:
 * `npm run check:layout`). Rooms, from the top down; a room imports only rooms below it:
 *
 *   cli.ts          argv → a door
 *   singer/ airbyte/  the two doors (never each other)
 *   engine/         batching, ordering, the checkpoint ledger, the unit pipeline, settings
 *   encode/         value decisions, row encoders, encode workers
 *   stage/          part files, S3 staging
 *   load/           the warehouse session (COPY, dedup, merge, DDL)
 *   redshift/       pure Redshift knowledge: imports nothing of ours
 *   config/ input/  spec-driven configuration; bytes → lines → JSON (both low, used by many)
 *   log.ts io.ts retry.ts errors.ts   leaves: import nothing of ours
 */
const ROOMS = ["singer", "airbyte", "engine", "encode", "stage", "load", "redshift", "config", "input"];
/** What each room may import besides itself and the leaves. */
const MAY_IMPORT = {
  singer: ["engine", "encode", "stage", "load", "redshift", "config", "input"],
  airbyte: ["engine", "encode", "stage", "load", "redshift", "config", "input"],
  engine: ["encode", "stage", "load", "redshift", "config", "input"],
  encode: ["stage", "redshift", "input"],
  stage: ["load", "redshift"],
  load: ["redshift"],
  redshift: [],
  config: [],
  input: [],
};
const LEAVES = ["log", "io", "retry", "errors"];

const forbidden = [
  {
    name: "no-circular",
    severity: "error",
    comment: "An import cycle (even of types only) means two modules are one room in disguise.",
    from: { path: "^src/" },
    to: { circular: true },
  },
  {
    name: "no-build-output-names",
    severity: "error",
    comment: "target/, build/, dist/ and out/ are build output to gitignore templates and indexers: no source lives there.",
    from: { path: "^src/(target|build|dist|out)/|/(target|build|dist|out)/[^/]+$" },
    to: {},
  },
  {
    name: "leaves-import-nothing-of-ours",
    severity: "error",
    comment: "log.ts, io.ts, retry.ts and errors.ts are leaves any room may use, so they use no room.",
    from: { path: `^src/(${LEAVES.join("|")})\\.ts$` },
    to: { path: "^src/" },
  },
  {
    name: "nothing-imports-cli",
    severity: "error",
    comment: "cli.ts is the top: doors take what they need from io.ts and log.ts.",
    from: { path: "^src/" },
    to: { path: "^src/cli\\.ts$" },
  },
  ...ROOMS.map((room) => {
    const allowed = [room, ...MAY_IMPORT[room]];
    return {
      name: `${room}-imports-only-lower-rooms`,
      severity: "error",
      comment: `src/${room}/ may import only: ${MAY_IMPORT[room].join(", ") || "nothing of ours"} (and the leaves).`,
      from: { path: `^src/${room}/` },
      to: { path: "^src/", pathNot: `^src/((${allowed.join("|")})/|(${LEAVES.join("|")})\\.ts$)` },
    };
  }),
];

module.exports = {
  forbidden,
  options: {
    doNotFollow: { path: "node_modules" },
    exclude: { path: "^(node_modules|dist)/" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: { extensions: [".ts", ".mjs", ".js"] },
  },
};
