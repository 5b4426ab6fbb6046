/**
 * The Go push client of the tests (test/clients/go: client_golang's push package), as the
 * Makefile builds it into the tool cache and names it in LETHE_GO_PUSH_CLIENT.
 */
import { spawn } from 'node:child_process';

export interface GoRun {
  readonly code: number | null;
  readonly stderr: string;
}

function goPushClient(): string {
  const fromEnv = process.env['LETHE_GO_PUSH_CLIENT'];
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  throw new Error('LETHE_GO_PUSH_CLIENT is not set: run the tests with make (make test-e2e, make test-integration)');
}

/** Runs the Go push client with these arguments (see test/clients/go/main.go); its exit code and stderr. */
export function runGoPushClient(args: readonly string[]): Promise<GoRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(goPushClient(), [...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr }));
  });
}
