/**
 * Pyodide's runtime embedded in the binary, so nothing ships beside it: the wasm and the stdlib zip as files (they land
 * at /$bunfs/root/pyodide.asm.wasm and /$bunfs/root/python_stdlib.zip in the compiled binary, which is why the build
 * uses `--asset-naming=[name].[ext]`: Pyodide reads the wasm at the fixed path `indexURL + "pyodide.asm.wasm"`), the
 * lock file as parsed JSON and the Emscripten factory bundled as JS (the loader's own dynamic import of
 * `pyodide.asm.mjs` would miss it inside the binary). Imported only by the sandbox worker, and only after its
 * `createRequire` patch is in place.
 */
import { dirname } from "node:path";
import type { Lockfile, PyodideConfig } from "pyodide";
import lock from "pyodide/pyodide-lock.json";
import createPyodideModule from "pyodide/pyodide.asm.mjs";
import wasmPath from "pyodide/pyodide.asm.wasm" with { type: "file" };
import stdlibPath from "pyodide/python_stdlib.zip" with { type: "file" };

const indexURL = `${dirname(wasmPath)}/`;

/** The loadPyodide options that point it at the embedded files (nothing is read beside the binary). */
export const pyodideAssets: PyodideConfig = {
  indexURL,
  packageBaseUrl: indexURL,
  stdLibURL: stdlibPath,
  lockFileContents: lock as unknown as Lockfile,
  createPyodideModule: createPyodideModule as unknown as NonNullable<PyodideConfig["createPyodideModule"]>,
};
