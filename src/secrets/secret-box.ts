// Encryption of admin keys at rest: AES-256-GCM with a random 96-bit IV per secret, stored as
// `v1:<iv b64>:<tag b64>:<data b64>`. GCM authenticates as well as encrypts, so a wrong key or an altered
// ciphertext is detected and reported — never decrypted into garbage that would be sent to the API.
//
// The key comes from VIGIL_SECRET_KEY (32 bytes, base64 or 64 hex characters) or else from
// `<dataDir>/secret.key`, created on first use with mode 0600. A key file readable by other users is
// refused rather than silently fixed: if it was readable, the keys it protects may already be exposed, and
// the operator should know that and decide (`chmod 600` and, if in doubt, rotate the admin keys).

import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import {
  closeSync,
  fsyncSync,
  linkSync,
  mkdirSync,
  openSync,
  readFileSync,
  statSync,
  unlinkSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import { ConfigurationError, VigilError } from "../core/errors.ts";
import type { EncryptedSecret } from "../core/secret.ts";

export interface SecretBox {
  /**
   * Encrypts a secret. With `boundTo` (an endpoint, see core/outbound.ts `endpointOf`), the secret is sealed to
   * that endpoint: it decrypts only for a caller that names the same endpoint.
   */
  encrypt(plain: string, boundTo?: string): EncryptedSecret;
  /**
   * Throws a ConfigurationError: `secret_key_changed` when the key is not the one that encrypted it;
   * `secret_endpoint_changed` when the secret is bound to another endpoint than `boundTo`; `secret_unbound` when
   * `boundTo` is asked of a secret stored before secrets were bound (see `isBound`).
   */
  decrypt(secret: EncryptedSecret, boundTo?: string): string;
  /** The endpoint a secret is bound to, or null for an unbound (v1) secret. Readable without the key. */
  boundEndpoint(secret: EncryptedSecret): string | null;
  /** Where the key comes from, for `vigil status`-like output; never the key itself. */
  readonly keySource: "env" | "file";
  readonly keyPath: string | null;
}

export const KEY_FILE_NAME = "secret.key";
const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const VERSION = "v1";
// Binds each ciphertext to this format version: a v1 payload can never be reinterpreted under a later one.
const AAD = Buffer.from("vigil-secret-v1");
// v2 is v1 plus the endpoint the secret was entered for, in clear text (so that a refusal can say which) and in
// the authenticated data (so that editing the stored endpoint makes decryption fail).
const BOUND_VERSION = "v2";
const boundAad = (endpoint: string) => Buffer.from(`vigil-secret-v2\n${endpoint}`, "utf8");

export function openSecretBox(options: { dataDir: string; secretKey?: string }): SecretBox {
  if (options.secretKey !== undefined) {
    const key = parseKey(options.secretKey, "VIGIL_SECRET_KEY");
    return makeBox(() => key, "env", null);
  }
  // Read (or created) on first use, so commands that never touch a secret need no access to the key file.
  const keyPath = join(options.dataDir, KEY_FILE_NAME);
  let cached: Buffer | undefined;
  const loadKey = () => {
    cached ??= loadOrCreateKeyFile(options.dataDir, keyPath);
    return cached;
  };
  return makeBox(loadKey, "file", keyPath);
}

function boundEndpoint(secret: EncryptedSecret): string | null {
  const [version, endpoint] = secret.ciphertext.split(":");
  return version === BOUND_VERSION && endpoint !== undefined
    ? Buffer.from(endpoint, "base64url").toString("utf8")
    : null;
}

function makeBox(getKey: () => Buffer, keySource: "env" | "file", keyPath: string | null): SecretBox {
  const keyName = keyPath === null ? "VIGIL_SECRET_KEY" : keyPath;
  return {
    keySource,
    keyPath,
    encrypt(plain: string, boundTo?: string): EncryptedSecret {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv("aes-256-gcm", getKey(), iv, { authTagLength: TAG_BYTES });
      cipher.setAAD(boundTo === undefined ? AAD : boundAad(boundTo));
      const data = Buffer.concat([cipher.update(plain, "utf8"), cipher.final()]);
      const tag = cipher.getAuthTag();
      const sealed = [iv.toString("base64"), tag.toString("base64"), data.toString("base64")];
      return {
        ciphertext:
          boundTo === undefined
            ? [VERSION, ...sealed].join(":")
            : [BOUND_VERSION, Buffer.from(boundTo, "utf8").toString("base64url"), ...sealed].join(":"),
      };
    },
    boundEndpoint,
    decrypt(secret: EncryptedSecret, boundTo?: string): string {
      const all = secret.ciphertext.split(":");
      const bound = boundEndpoint(secret);
      if (boundTo !== undefined && all[0] === VERSION) {
        throw new ConfigurationError(
          "secret_unbound",
          "This stored key was saved before keys were bound to their endpoint; add the key again.",
        );
      }
      if (bound !== null && bound !== boundTo) {
        throw new ConfigurationError(
          "secret_endpoint_changed",
          `This key was entered for ${bound}${boundTo === undefined ? "" : `, not ${boundTo}`}; a stored key is only sent to the endpoint it was entered for. Enter the key again to use it there.`,
        );
      }
      // A v2 secret without its endpoint field is a v1 secret with another authenticated-data tag.
      const parts = bound === null ? all : [VERSION, ...all.slice(2)];
      const [version, ivText, tagText, dataText] = parts;
      if (
        (all[0] !== VERSION && all[0] !== BOUND_VERSION) ||
        version !== VERSION ||
        parts.length !== 4 ||
        ivText === undefined ||
        tagText === undefined ||
        dataText === undefined
      ) {
        throw new VigilError(
          "secret_format",
          "A stored secret is not in a format this version of Vigil understands; add the source's admin key again.",
        );
      }
      const iv = Buffer.from(ivText, "base64");
      const tag = Buffer.from(tagText, "base64");
      const data = Buffer.from(dataText, "base64");
      if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) {
        throw new VigilError("secret_format", "A stored secret is damaged; add the source's admin key again.");
      }
      const key = getKey();
      try {
        const decipher = createDecipheriv("aes-256-gcm", key, iv, { authTagLength: TAG_BYTES });
        decipher.setAAD(bound === null ? AAD : boundAad(bound));
        decipher.setAuthTag(tag);
        return Buffer.concat([decipher.update(data), decipher.final()]).toString("utf8");
      } catch (err) {
        // GCM cannot tell a different key from an altered ciphertext; a changed key is by far the likelier.
        throw new ConfigurationError(
          "secret_key_changed",
          `A stored secret could not be decrypted: the secret key (${keyName}) is not the one it was encrypted with, or the stored value was altered. Restore the original secret key, or give the secret again (a source's admin key: vigil sources update NAME --new-key; a destination: remove it and add it again, or, declared in the config file, restart).`,
          { cause: err },
        );
      }
    },
  };
}

/** 64 hex characters or base64 (standard or URL-safe, padded or not) of exactly 32 bytes. */
export function parseKey(text: string, origin: string): Buffer {
  const value = text.trim();
  const howTo = "use 32 random bytes as 64 hex characters or base64, e.g. the output of `openssl rand -base64 32`";
  if (value === "") throw new ConfigurationError("secret_key_invalid", `${origin} is empty; ${howTo}.`);
  if (/^[0-9a-fA-F]{64}$/.test(value)) return Buffer.from(value, "hex");
  if (/^[A-Za-z0-9+/_-]+={0,2}$/.test(value)) {
    const bytes = Buffer.from(value.replace(/-/g, "+").replace(/_/g, "/"), "base64");
    if (bytes.length === KEY_BYTES) return bytes;
    // The value itself is never echoed: it may be a real key with a typo.
    throw new ConfigurationError(
      "secret_key_invalid",
      `${origin} decodes to ${bytes.length} bytes, not ${KEY_BYTES}; ${howTo}.`,
    );
  }
  throw new ConfigurationError("secret_key_invalid", `${origin} is neither hex nor base64; ${howTo}.`);
}

function loadOrCreateKeyFile(dataDir: string, keyPath: string): Buffer {
  const existing = readKeyFile(keyPath);
  if (existing !== null) return existing;
  try {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    createKeyFile(dataDir, keyPath);
  } catch (err) {
    if (err instanceof VigilError) throw err;
    throw new ConfigurationError(
      "secret_key_file",
      `Could not create the secret key file ${keyPath} (${(err as NodeJS.ErrnoException).code ?? String(err)}); check that the data directory is writable, or set VIGIL_SECRET_KEY.`,
      { cause: err },
    );
  }
  // Read back rather than trusting what we wrote: another process may have won the race (see createKeyFile).
  const created = readKeyFile(keyPath);
  if (created === null) {
    throw new ConfigurationError(
      "secret_key_file",
      `The secret key file ${keyPath} vanished right after it was created.`,
    );
  }
  return created;
}

/** The key in the file, or null when there is no file. */
function readKeyFile(keyPath: string): Buffer | null {
  let mode: number;
  try {
    const stat = statSync(keyPath);
    if (!stat.isFile()) throw new ConfigurationError("secret_key_file", `${keyPath} exists but is not a regular file.`);
    mode = stat.mode & 0o777;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    if (err instanceof VigilError) throw err;
    throw new ConfigurationError("secret_key_file", `Could not read the secret key file ${keyPath}: ${String(err)}`, {
      cause: err,
    });
  }
  // POSIX permissions only: Windows reports synthetic modes and protects files with ACLs instead.
  if (process.platform !== "win32" && (mode & 0o077) !== 0) {
    throw new ConfigurationError(
      "secret_key_file_permissions",
      `The secret key file ${keyPath} is accessible to other users (mode ${mode.toString(8).padStart(4, "0")}); run \`chmod 600 ${keyPath}\`, and consider rotating the admin keys it protects.`,
    );
  }
  let text: string;
  try {
    text = readFileSync(keyPath, "utf8");
  } catch (err) {
    throw new ConfigurationError(
      "secret_key_file",
      `Could not read the secret key file ${keyPath} (${(err as NodeJS.ErrnoException).code ?? String(err)}); run Vigil as the user that owns it.`,
      { cause: err },
    );
  }
  return parseKey(text, `The secret key file ${keyPath}`);
}

/**
 * Writes a new key to a private temporary file, fsyncs it, then links it into place. A hard link, unlike a
 * rename, fails if the key file already exists: when two processes (`vigil start` and `vigil backfill`) create
 * it at once, exactly one key wins and neither overwrites a key the other already encrypted with.
 */
function createKeyFile(dataDir: string, keyPath: string): void {
  const tmpPath = join(dataDir, `.${KEY_FILE_NAME}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`);
  const contents = `${randomBytes(KEY_BYTES).toString("base64")}\n`;
  writePrivateFile(tmpPath, contents);
  try {
    linkSync(tmpPath, keyPath);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // EEXIST: another process created it first; we use theirs.
    if (code === "EPERM" || code === "ENOTSUP" || code === "ENOSYS" || code === "EXDEV") {
      // A filesystem without hard links: an exclusive create still guarantees one winner, at the cost of a
      // partly written file if we crash mid-write (then reading it fails loudly, never silently).
      try {
        writePrivateFile(keyPath, contents);
      } catch (fallbackErr) {
        if ((fallbackErr as NodeJS.ErrnoException).code !== "EEXIST") throw fallbackErr;
      }
    } else if (code !== "EEXIST") {
      throw err;
    }
  } finally {
    unlinkSync(tmpPath);
  }
  syncDirectory(dataDir);
}

/** Creates `path` (failing if it exists) readable by its owner only, and fsyncs it. */
function writePrivateFile(path: string, contents: string): void {
  const fd = openSync(path, "wx", 0o600);
  try {
    writeSync(fd, contents);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Makes the new directory entry durable; best effort, as not every platform can fsync a directory. */
function syncDirectory(dir: string): void {
  try {
    const fd = openSync(dir, "r");
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // Windows and some filesystems refuse; the key file itself is already fsynced.
  }
}
