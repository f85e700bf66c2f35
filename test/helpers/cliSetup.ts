// What the command-line tests share: the compiled CLI (`npm run compile`) and the shared
// stories260K model, which some machines do not have (`have` false: those tests skip).
import * as fs from "node:fs";
import * as path from "node:path";

export const root = path.resolve(__dirname, "..", "..");
export const cli = path.join(root, "dist", "cli.js");
export const models = path.resolve(root, "../shared/models");
export const stories = path.join(models, "stories260K-f32.gguf");
export const have = fs.existsSync(stories);
