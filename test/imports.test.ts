// The import graph of src/ has no cycle (a module never needs itself, through others, to load),
// and reading a GGUF file's header does not load the native addon.
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";

const src = path.resolve(__dirname, "..", "src");

function files(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(path.join(dir, e.name)) : e.name.endsWith(".ts") && !e.name.endsWith(".d.ts") ? [path.join(dir, e.name)] : []);
}

/** Runtime imports of a module (`import type` and type-only names are erased by TypeScript). */
function imports(file: string): string[] {
  const text = fs.readFileSync(file, "utf8");
  const out: string[] = [];
  const re = /^\s*(import|export)\s+(type\s+)?([^'"]*?)\s*from\s+["'](\.[^"']+)["']/gm;
  for (let m; (m = re.exec(text)); ) {
    if (m[2]) continue;
    const names = /^\{([^}]*)\}$/.exec(m[3].trim());
    if (names && names[1].split(",").every((n) => n.trim() === "" || n.trim().startsWith("type "))) continue;
    const base = path.resolve(path.dirname(file), m[4]);
    const target = [base + ".ts", path.join(base, "index.ts")].find((p) => fs.existsSync(p));
    if (target) out.push(target);
  }
  return out;
}

function cycles(graph: Map<string, string[]>): string[][] {
  const found: string[][] = [];
  const state = new Map<string, number>(); // 1 on the stack, 2 done
  const stack: string[] = [];
  const visit = (n: string) => {
    state.set(n, 1);
    stack.push(n);
    for (const m of graph.get(n) ?? []) {
      if (state.get(m) === 1) found.push([...stack.slice(stack.indexOf(m)), m]);
      else if (!state.has(m)) visit(m);
    }
    stack.pop();
    state.set(n, 2);
  };
  for (const n of graph.keys()) if (!state.has(n)) visit(n);
  return found;
}

describe("src/ imports", () => {
  const graph = new Map(files(src).map((f) => [f, imports(f)]));
  const rel = (p: string) => path.relative(src, p);

  it("form no cycle", () => {
    expect(cycles(graph).map((c) => c.map(rel).join(" -> "))).toEqual([]);
  });

  it("the GGUF reader and its type table load without the native addon", () => {
    const reach = new Set<string>();
    const walk = (f: string) => {
      if (reach.has(f)) return;
      reach.add(f);
      for (const g of graph.get(f) ?? []) walk(g);
    };
    walk(path.join(src, "gguf", "reader.ts"));
    expect([...reach].map(rel).sort()).toEqual(["gguf/reader.ts", "gguf/types.ts"]);
  });

  it("the cycle finder finds a cycle", () => {
    expect(cycles(new Map([["a", ["b"]], ["b", ["c"]], ["c", ["a"]]]))).toEqual([["a", "b", "c", "a"]]);
  });
});
