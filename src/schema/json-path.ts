// Where an issue is: a JSONPath-style string such as `$.actor.session.ip_address` or
// `$["api_key.created"].data.scopes[0]`. Paths are kept as a parent chain while decoding and only
// rendered into text when an issue is reported, so valid records pay nothing for them.

export class PathNode {
  constructor(
    readonly parent: PathNode | null,
    readonly key: string | number,
  ) {}
}

/** The root of every record. */
export const ROOT = new PathNode(null, "$");

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
const MAX_KEY_IN_PATH = 200;

function segment(key: string | number): string {
  if (typeof key === "number") return `[${key}]`;
  if (IDENTIFIER.test(key)) return `.${key}`;
  const shown = key.length > MAX_KEY_IN_PATH ? `${key.slice(0, MAX_KEY_IN_PATH)}…` : key;
  return `[${JSON.stringify(shown)}]`;
}

/** Renders `node` (and an optional child key) as a path string. */
export function renderPath(node: PathNode, key?: string | number): string {
  const parts: string[] = [];
  if (key !== undefined) parts.push(segment(key));
  for (let n: PathNode | null = node; n !== null && n.parent !== null; n = n.parent) parts.push(segment(n.key));
  return `$${parts.reverse().join("")}`;
}
