import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { childEnvironment } from '../../config/process-env';

export interface RunOptions {
  /** Text written to the child's stdin (stdin is closed afterwards). */
  readonly input?: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  /** Kill the child (SIGKILL) after this many milliseconds. Default: no limit. */
  readonly timeoutMs?: number;
}

export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Thrown by {@link run} when a command exits non-zero, is killed or cannot be started. */
class CommandError extends Error {
  constructor(
    message: string,
    readonly command: string,
    readonly result?: RunResult,
  ) {
    super(message);
    this.name = 'CommandError';
  }
}

/** Run a command without a shell; resolve with its output, reject with a {@link CommandError} unless it exits 0. */
export function run(file: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  return runAllowingFailure(file, args, options).then((result) => {
    if (result.code !== 0) {
      const output = `${result.stderr}\n${result.stdout}`.trim().split('\n').slice(-20).join('\n');
      throw new CommandError(`${file} exited with code ${result.code}${output ? `:\n${output}` : ''}`, file, result);
    }
    return result;
  });
}

/** Like {@link run} but resolves with any exit code (a signal counts as code 128 + signal number or -1). */
export function runAllowingFailure(file: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      cwd: options.cwd,
      env: options.env ?? childEnvironment(),
      stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout?.on('data', (b: Buffer) => out.push(b));
    child.stderr?.on('data', (b: Buffer) => err.push(b));
    let timedOut = false;
    const timer =
      options.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            child.kill('SIGKILL');
          }, options.timeoutMs);
    child.once('error', (e) => {
      if (timer) clearTimeout(timer);
      reject(new CommandError(`cannot run ${file}: ${e.message}`, file));
    });
    child.once('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      const result = {
        code: code ?? (signal ? 128 + constants.signals[signal] : -1),
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      };
      if (timedOut) {
        reject(new CommandError(`${file} did not finish within ${options.timeoutMs} ms`, file, result));
      } else {
        resolve(result);
      }
    });
    if (options.input !== undefined && child.stdin) {
      child.stdin.on('error', () => undefined); // the child may exit before reading everything
      child.stdin.end(options.input);
    }
  });
}
