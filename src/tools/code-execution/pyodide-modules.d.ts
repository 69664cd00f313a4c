// Pyodide's runtime files, embedded with `with { type: "file" }` (a path; inside the compiled binary /$bunfs/root/...),
// and its Emscripten module factory, bundled as JS (the loader's own dynamic import
// would miss it inside the compiled binary).
declare module "pyodide/pyodide.asm.wasm" {
  const path: string;
  export default path;
}
declare module "pyodide/python_stdlib.zip" {
  const path: string;
  export default path;
}
declare module "pyodide/pyodide.asm.mjs" {
  const createPyodideModule: (settings: object) => Promise<object>;
  export default createPyodideModule;
}
