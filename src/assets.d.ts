// Files imported `with { type: "file" }` resolve to a path (inside the compiled binary: /$bunfs/...).
declare module "*/redoc.standalone.js" {
  const path: string;
  export default path;
}
declare module "*/swagger-ui-bundle.js" {
  const path: string;
  export default path;
}
declare module "*/swagger-ui.css" {
  const path: string;
  export default path;
}
