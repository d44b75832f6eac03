// Run by npm's `version` lifecycle (after package.json is bumped, before the commit): writes the new
// version into the Dockerfile's io.airbyte.version label, so the image and the package never disagree.
import { readFileSync, writeFileSync } from "node:fs";

const { version } = JSON.parse(readFileSync("package.json", "utf8"));
const before = readFileSync("Dockerfile", "utf8");
const after = before.replace(/^LABEL io\.airbyte\.version=.*$/m, `LABEL io.airbyte.version=${version}`);
if (!/^LABEL io\.airbyte\.version=/m.test(before)) throw new Error("Dockerfile has no LABEL io.airbyte.version line");
writeFileSync("Dockerfile", after);
