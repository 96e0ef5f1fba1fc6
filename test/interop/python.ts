/** Runs one of the interop checks' Python scripts (test/interop/*.py) with python3; its stdout is JSON. */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

export const PYTHON_DEPS = 'pycocotools pillow pyyaml';

/** The script's JSON report, or an error with its stderr (and how to install what it needs, when that is what failed). */
export function runPython<T>(script: string, args: string[], cwd?: string): T {
  const r = spawnSync('python3', [join(import.meta.dirname, script), ...args], { cwd, encoding: 'utf8', maxBuffer: 16 << 20 });
  if (r.error) throw new Error(`python3 could not run (${r.error.message}); the interop checks need python3 with ${PYTHON_DEPS} (.ci/run installs them)`);
  if (r.status !== 0) {
    const missing = /ModuleNotFoundError: No module named '([^']+)'/.exec(r.stderr)?.[1];
    throw new Error(missing ? `python3 lacks '${missing}': python3 -m pip install ${PYTHON_DEPS} (.ci/run does)\n${r.stderr}` : `${script} failed (${r.status}):\n${r.stderr}`);
  }
  return JSON.parse(r.stdout) as T;
}
