// The JSONPath subset used by Panther data-model mappings (`Path: $.actor.session.ip_address`),
// evaluated the way panther_core does it: with jsonpath_ng over the raw record, so key matching is
// exact (case-sensitive), and every match counts, including a field whose value is null.
//
// Supported: optional `$`, `.name`, `['name']` / `["name"]`, `."name"`, `[n]`, `[*]`, `.*`, `..name`.

import { type EventValue, ImmutableDict } from "./immutable.ts";

type Step =
  | { kind: "field"; name: string }
  | { kind: "index"; index: number }
  | { kind: "wildcard" }
  | { kind: "descend"; name: string };

export interface CompiledPath {
  source: string;
  steps: Step[];
}

export interface PathMatch {
  value: EventValue;
  /** jsonpath_ng's `full_path` text, e.g. `actor.session.ip_address` or `list.[0].id`. */
  fullPath: string;
}

const NAME = /^[A-Za-z0-9_@$-]+/;

const INDEX = /^\[(\d+)\]/;
const BRACKETED = /^\.?\[(["'])(.*?)\1\]/;
const QUOTED = /^\.(["'])(.*?)\1/;

/** Reads one step at the start of `rest`; returns it with the number of characters it used. */
function readStep(rest: string): { step: Step; length: number } | undefined {
  if (rest.startsWith("..")) {
    const name = NAME.exec(rest.slice(2));
    return name === null ? undefined : { step: { kind: "descend", name: name[0] }, length: 2 + name[0].length };
  }
  if (rest.startsWith(".*")) return { step: { kind: "wildcard" }, length: 2 };
  if (rest.startsWith("[*]")) return { step: { kind: "wildcard" }, length: 3 };
  const index = INDEX.exec(rest);
  if (index !== null) return { step: { kind: "index", index: Number(index[1]) }, length: index[0].length };
  const quoted = BRACKETED.exec(rest) ?? QUOTED.exec(rest);
  if (quoted !== null) return { step: { kind: "field", name: quoted[2]! }, length: quoted[0].length };
  if (rest.startsWith(".")) {
    const name = NAME.exec(rest.slice(1));
    if (name !== null) return { step: { kind: "field", name: name[0] }, length: 1 + name[0].length };
  }
  return undefined;
}

export function compileJsonPath(source: string): CompiledPath {
  const steps: Step[] = [];
  let rest = source.trim();
  if (rest.startsWith("$")) rest = rest.slice(1);
  else if (rest !== "") rest = `.${rest}`;
  while (rest !== "") {
    const read = readStep(rest);
    if (read === undefined) throw new Error(`JSONPath "${source}": cannot read "${rest}"`);
    steps.push(read.step);
    rest = rest.slice(read.length);
  }
  return { source, steps };
}

function join(path: string, segment: string): string {
  return path === "" ? segment : `${path}.${segment}`;
}

function descend(value: EventValue, name: string, path: string, out: PathMatch[]): void {
  if (value instanceof ImmutableDict) {
    if (value.hasExact(name)) out.push({ value: value.getExact(name) ?? null, fullPath: join(path, name) });
    for (const [k, v] of value.items()) descend(v, name, join(path, k), out);
  } else if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) descend(value[i] as EventValue, name, join(path, `[${i}]`), out);
  }
}

export function findAll(path: CompiledPath, root: EventValue): PathMatch[] {
  let current: PathMatch[] = [{ value: root, fullPath: "" }];
  for (const step of path.steps) {
    const next: PathMatch[] = [];
    for (const { value, fullPath } of current) {
      switch (step.kind) {
        case "field":
          if (value instanceof ImmutableDict && value.hasExact(step.name))
            next.push({ value: value.getExact(step.name) ?? null, fullPath: join(fullPath, step.name) });
          break;
        case "index":
          if (Array.isArray(value) && step.index < value.length)
            next.push({ value: value[step.index] as EventValue, fullPath: join(fullPath, `[${step.index}]`) });
          break;
        case "wildcard":
          if (value instanceof ImmutableDict)
            for (const [k, v] of value.items()) next.push({ value: v, fullPath: join(fullPath, k) });
          else if (Array.isArray(value))
            for (let i = 0; i < value.length; i++)
              next.push({ value: value[i] as EventValue, fullPath: join(fullPath, `[${i}]`) });
          break;
        case "descend":
          descend(value, step.name, fullPath, next);
          break;
      }
    }
    current = next;
  }
  return current;
}
