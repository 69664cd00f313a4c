/** What the rest of the gateway asks of the runtime itself: waiting, where it runs from, shared file mappings. */

/** Resolves after `ms` milliseconds. */
export const sleep = (ms: number): Promise<void> => Bun.sleep(ms);

/** A file's bytes as a response body, read as they are sent (the docs UI's embedded assets). */
export const fileBody = (path: string): Blob => Bun.file(path);

/** Whether this process is the compiled binary: its entry then lives in Bun's embedded filesystem (`/$bunfs/`). */
export const isCompiledBinary = (): boolean => Bun.main.startsWith("/$bunfs/");

/** Whether files can be memory-mapped here (Bun.mmap, not on Windows). */
export const canMapFiles = (): boolean => typeof Bun.mmap === "function" && process.platform !== "win32";

/** A Buffer over `path` mapped shared: what it writes lands in the file through the page cache. */
export function mapFileShared(path: string): Buffer {
  const m = Bun.mmap(path, { shared: true });
  return Buffer.from(m.buffer, m.byteOffset, m.byteLength);
}
