import { readFile } from "node:fs/promises"
import { fileURLToPath } from "node:url"
import { StudioError } from "./errors.js"
import type { PageAssets } from "./app.js"

const pageDir = fileURLToPath(new URL("../page/", import.meta.url))

/**
 * Bundles the page (`src/page/main.ts` → one ES module) with esbuild, in memory, when the server starts. esbuild is
 * a devDependency: the studio runs from the repository, and bundling takes well under a second.
 * @example
 * const page = await buildPage()
 * createApp({ backend, model, page })
 */
export async function buildPage(): Promise<PageAssets> {
  let esbuild: typeof import("esbuild")
  try {
    esbuild = await import("esbuild")
  } catch (error) {
    throw new StudioError("NO_BUNDLER", `the page is bundled with esbuild, which was not found: ${(error as Error).message}. Run pnpm install in the repository.`, { cause: error })
  }
  const result = await esbuild.build({
    entryPoints: [`${pageDir}main.ts`],
    bundle: true,
    format: "esm",
    target: "es2022",
    minify: true,
    write: false,
    logLevel: "silent",
  })
  const js = result.outputFiles[0]?.text
  if (js === undefined) throw new StudioError("PAGE_BUILD", "esbuild produced no output for src/page/main.ts.")
  const html = await readFile(`${pageDir}index.html`, "utf8")
  return { html, js }
}
