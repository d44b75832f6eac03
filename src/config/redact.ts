import { Transform, type Writable } from "node:stream";
import { settingsInfo } from "./spec.js";

export const REDACTED = "**********";

/** Settings marked `airbyte_secret` in the spec; adding the marker there is all it takes to protect a new one. */
export const secretFieldNames: readonly string[] = Object.freeze(settingsInfo().filter((s) => s.secret).map((s) => s.name));

/** Shorter values would mask ordinary words and digits all over the logs while protecting nothing real. */
export const MIN_SECRET_LENGTH = 4;

/** A copy of the config with each secret that is set replaced by a fixed mask (length hidden too). */
export function redactConfig<T extends object>(cfg: T): T {
  const out: Record<string, unknown> = { ...(cfg as Record<string, unknown>) };
  for (const name of secretFieldNames) {
    if (out[name] !== undefined && out[name] !== null) out[name] = REDACTED;
  }
  return out as T;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * Masks secret values wherever they turn up in text. Besides the raw value it masks the forms a
 * secret takes once embedded elsewhere: JSON-escaped (inside a serialized message) and
 * percent-encoded (inside a URL or connection string).
 */
export class Redactor {
  #pattern: RegExp | undefined;
  /** Cheap pre-filter: most log lines contain none of the secrets, and includes() beats a regex scan. */
  #needles: readonly string[] = [];
  readonly #forms = new Set<string>();

  constructor(secrets: Iterable<string>) {
    this.add(...secrets);
  }

  /**
   * Masks more secrets from now on: those a run obtains after start (the password IAM authentication
   * issues, the keys and session token of the AWS default credential chain).
   */
  add(...secrets: string[]): void {
    const before = this.#forms.size;
    for (const secret of secrets) {
      if (typeof secret !== "string" || secret.length < MIN_SECRET_LENGTH) continue;
      for (const form of [secret, JSON.stringify(secret).slice(1, -1), encodeURIComponent(secret)]) {
        if (form.length >= MIN_SECRET_LENGTH) this.#forms.add(form);
      }
    }
    if (this.#forms.size === before) return;
    // Longest first, so a secret that contains another is masked whole rather than leaving its tail.
    const sorted = [...this.#forms].sort((a, b) => b.length - a.length);
    this.#needles = sorted;
    this.#pattern = new RegExp(sorted.map(escapeRegExp).join("|"), "g");
  }

  /** Takes the secret settings' values from any config-shaped object (raw or resolved). */
  static fromConfig(cfg: unknown): Redactor {
    const values: string[] = [];
    if (cfg !== null && typeof cfg === "object") {
      for (const name of secretFieldNames) {
        const v = (cfg as Record<string, unknown>)[name];
        if (typeof v === "string") values.push(v);
      }
    }
    return new Redactor(values);
  }

  get active(): boolean {
    return this.#pattern !== undefined;
  }

  redact(text: string): string {
    if (this.#pattern === undefined || !this.#needles.some((n) => text.includes(n))) return text;
    return text.replace(this.#pattern, REDACTED);
  }

  /** Deep copy of a JSON-like value with every string redacted (for TRACE/LOG messages before serializing). */
  redactValue<T>(value: T): T {
    if (this.#pattern === undefined) return value;
    const walk = (v: unknown): unknown => {
      if (typeof v === "string") return this.redact(v);
      if (Array.isArray(v)) return v.map(walk);
      if (v !== null && typeof v === "object" && Object.getPrototypeOf(v) === Object.prototype) {
        return Object.fromEntries(Object.entries(v).map(([k, x]) => [this.redact(k), walk(x)]));
      }
      return v;
    };
    return walk(value) as T;
  }

  /** Message and stack of anything thrown, redacted; the stack usually repeats the message. */
  redactError(err: unknown): { name: string; message: string; stack?: string } {
    if (err instanceof Error) {
      const out: { name: string; message: string; stack?: string } = { name: err.name, message: this.redact(err.message) };
      if (err.stack !== undefined) out.stack = this.redact(err.stack);
      return out;
    }
    return { name: "Error", message: this.redact(String(err)) };
  }

  /** Wraps a line-oriented write function (a logger's sink) so everything it writes is redacted. */
  wrapWrite(write: (text: string) => void): (text: string) => void {
    return (text) => write(this.redact(text));
  }

  /**
   * A writable that redacts and forwards to `target`. Text is forwarded line by line so a secret
   * split across two writes is still caught; a partial last line is flushed on end().
   */
  wrap(target: Writable | NodeJS.WritableStream): Transform {
    let pending = "";
    const transform = new Transform({
      decodeStrings: false,
      transform: (chunk: Buffer | string, _enc, done) => {
        const text = pending + (typeof chunk === "string" ? chunk : chunk.toString("utf8"));
        const cut = text.lastIndexOf("\n") + 1;
        pending = text.slice(cut);
        done(null, cut > 0 ? this.redact(text.slice(0, cut)) : undefined);
      },
      flush: (done) => {
        const rest = pending;
        pending = "";
        done(null, rest ? this.redact(rest) : undefined);
      },
    });
    transform.pipe(target as Writable);
    return transform;
  }
}
