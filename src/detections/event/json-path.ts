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

export function compileJsonPath(source: string): CompiledPath {
  const steps: Step[] = [];
  let rest = source.trim();
  if (rest.startsWith("$")) rest = rest.slice(1);
  else if (rest !== "") rest = `.${rest}`;
  while (rest !== "") {
    let m: RegExpExecArray | null;
    if (rest.startsWith("..")) {
      rest = rest.slice(2);
      m = NAME.exec(rest);
      if (m === null) throw new Error(`JSONPath "${source}": expected a field name after ".."`);
      steps.push({ kind: "descend", name: m[0] });
      rest = rest.slice(m[0].length);
    } else if (rest.startsWith(".*") || rest.startsWith("[*]")) {
      steps.push({ kind: "wildcard" });
      rest = rest.slice(rest.startsWith(".*") ? 2 : 3);
    } else if ((m = /^\[(\d+)\]/.exec(rest)) !== null) {
      steps.push({ kind: "index", index: Number(m[1]) });
      rest = rest.slice(m[0].length);
    } else if ((m = /^\.?\[(["'])(.*?)\1\]/.exec(rest) ?? /^\.(["'])(.*?)\1/.exec(rest)) !== null) {
      steps.push({ kind: "field", name: m[2]! });
      rest = rest.slice(m[0].length);
    } else if (rest.startsWith(".") && (m = NAME.exec(rest.slice(1))) !== null) {
      steps.push({ kind: "field", name: m[0] });
      rest = rest.slice(1 + m[0].length);
    } else {
      throw new Error(`JSONPath "${source}": cannot read "${rest}"`);
    }
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
    value.forEach((v, i) => descend(v, name, join(path, `[${i}]`), out));
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
            value.forEach((v, i) => next.push({ value: v as EventValue, fullPath: join(fullPath, `[${i}]`) }));
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
