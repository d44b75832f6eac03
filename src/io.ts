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
  /**
   * Calls `stop` (with a StoppedError, src/errors.ts) when the process is asked to stop (SIGTERM, SIGINT, stdout closed): the door stops
   * reading, lets loads under way finish, prints the STATEs they cover, and returns the error's exit code.
   */
  onStop?: (stop: (reason: Error & { exitCode: number }) => void) => void;
}
