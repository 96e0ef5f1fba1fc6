import { rename, rm, writeFile } from 'node:fs/promises';

/** Writes a file so that readers see the old content or the whole new one, never a partial file. */
export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  const tmp = `${path}.${process.pid}.partial`;
  try {
    await writeFile(tmp, data);
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}
