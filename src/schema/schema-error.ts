// A schema file that cannot be used. Raised once, at load time, so a bad schema never reaches the
// pipeline; the message names the file and the offending field so the user can fix it directly.

import { VigilError } from "../core/errors.ts";

export class SchemaError extends VigilError {
  /** Dotted path of the offending field (e.g. `actor.session.ip_address`), or null for top-level problems. */
  readonly field: string | null;

  constructor(message: string, options: { field?: string | null; fileName?: string; cause?: unknown } = {}) {
    const where = options.fileName ? `${options.fileName}: ` : "";
    const field = options.field ?? null;
    const subject = field === null ? "" : `field "${field}": `;
    super("invalid_schema", `Invalid log schema ${where}${subject}${message}`, { cause: options.cause });
    this.field = field;
  }
}
