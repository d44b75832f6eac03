/**
 * The process as a door sees it: input bytes, protocol output, log output. The CLI passes the real
 * process streams; tests pass arrays and collectors. Imports nothing of ours.
 */
export interface CliIo {
  stdin: AsyncIterable<Buffer | string>;
  /** one protocol line (STATE, Airbyte message), without its newline */
  stdout: (line: string) => void;
  /** one log line, without its newline */
  stderr: (line: string) => void;
  env?: NodeJS.ProcessEnv;
}
