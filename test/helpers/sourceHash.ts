// The hash of the native sources, computed the way cmake/source_hash.cmake computes it at build
// time, so a test can tell whether a committed prebuild was built from the cpp/ in this tree.
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";

function listFiles(root: string, dir: string, out: string[]): void {
  for (const e of fs.readdirSync(path.join(root, dir), { withFileTypes: true })) {
    const rel = dir ? `${dir}/${e.name}` : e.name;
    if (e.isDirectory()) listFiles(root, rel, out);
    else if (e.isFile()) out.push(rel);
  }
}

/** SHA-256 over cpp/**, cmake/** and CMakeLists.txt under `root` (a source checkout). */
export function sourceTreeHash(root: string): string {
  const files: string[] = ["CMakeLists.txt"];
  listFiles(root, "cpp", files);
  listFiles(root, "cmake", files);
  files.sort();
  let manifest = "";
  for (const f of files) {
    const h = createHash("sha256").update(fs.readFileSync(path.join(root, f))).digest("hex");
    manifest += `${f}\n${h}\n`;
  }
  return createHash("sha256").update(manifest).digest("hex");
}
