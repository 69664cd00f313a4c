/**
 * The docs UIs' assets, embedded in the binary from npm packages (no CDN: homelab and air-gapped users).
 * Relative paths because the packages' `exports` maps hide these files.
 */
import redocJs from "../../../node_modules/redoc/bundles/redoc.standalone.js" with { type: "file" };
import swaggerJs from "../../../node_modules/swagger-ui-dist/swagger-ui-bundle.js" with { type: "file" };
import swaggerCss from "../../../node_modules/swagger-ui-dist/swagger-ui.css" with { type: "file" };

export const docAssets = {
  "swagger-ui-bundle.js": { path: swaggerJs, type: "text/javascript; charset=utf-8" },
  "swagger-ui.css": { path: swaggerCss, type: "text/css; charset=utf-8" },
  "redoc.standalone.js": { path: redocJs, type: "text/javascript; charset=utf-8" },
} as const;

export type DocAssetName = keyof typeof docAssets;
