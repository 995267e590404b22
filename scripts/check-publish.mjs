#!/usr/bin/env node
// Publish checks over every public workspace package (`pnpm check:publish`, after `pnpm build`):
//   1. LICENSE and NOTICE beside package.json are the root ones (npm ships only the package folder);
//   2. `pnpm pack` (which applies publishConfig) into a temporary folder;
//   3. publint on the tarball (--strict: warnings fail);
//   4. @arethetypeswrong/cli on the tarball, profile esm-only (the packages are ESM only, by design);
//   5. the tarball holds LICENSE, NOTICE and README.md, and no test-only module (*.test.*, internal/fixtures.*, test data).
// Prints one line per package and check, then a summary; exits 1 when anything failed.
import { execFileSync } from "node:child_process"
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

const root = new URL("..", import.meta.url).pathname
const only = process.argv.slice(2)
const workDir = mkdtempSync(join(tmpdir(), "pagkit-pack-"))
const bin = (name) => join(root, "node_modules", ".bin", name)
const TEST_ONLY = /(^|\/)[^/]+\.test\.[cm]?[jt]s(\.map)?$|\/internal\/fixtures\.|pil-reference\.json$/

const packages = []
for (const group of ["packages", "apps"]) {
  for (const name of readdirSync(join(root, group)).sort()) {
    const dir = join(root, group, name)
    const manifestPath = join(dir, "package.json")
    if (!existsSync(manifestPath)) continue
    const manifest = JSON.parse(readFileSync(manifestPath, "utf8"))
    if (manifest.private === true) continue
    if (only.length > 0 && !only.includes(manifest.name) && !only.includes(name)) continue
    packages.push({ dir, manifest })
  }
}

const failures = []
const counts = { publint: 0, attw: 0 }
function run(cmd, args, cwd) {
  try {
    return { ok: true, out: execFileSync(cmd, args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }) }
  } catch (error) {
    return { ok: false, out: `${error.stdout ?? ""}${error.stderr ?? ""}` }
  }
}

try {
  for (const { dir, manifest } of packages) {
    const name = manifest.name
    const report = (check, ok, detail = "") => {
      console.log(`${ok ? "ok  " : "FAIL"} ${name.padEnd(28)} ${check}${detail ? `: ${detail}` : ""}`)
      if (!ok) failures.push(`${name} ${check}`)
    }
    for (const file of ["LICENSE", "NOTICE"]) {
      const same = existsSync(join(dir, file)) && readFileSync(join(dir, file), "utf8") === readFileSync(join(root, file), "utf8")
      report(file, same, same ? "" : `missing or different from the root ${file} (cp ${file} ${dir})`)
    }
    if (!existsSync(join(dir, "dist"))) {
      report("dist", false, "no dist/: run `pnpm build` first")
      continue
    }
    const dest = join(workDir, manifest.name.replace(/[@/]/g, "_"))
    const packed = run("pnpm", ["pack", "--pack-destination", dest], dir)
    const tarball = packed.ok ? readdirSync(dest).find((f) => f.endsWith(".tgz")) : undefined
    if (tarball === undefined) {
      report("pack", false, packed.out.trim().split("\n").pop())
      continue
    }
    const tgz = join(dest, tarball)
    const listing = execFileSync("tar", ["-tzf", tgz], { encoding: "utf8" }).trim().split("\n")
    const missing = ["package/LICENSE", "package/NOTICE", "package/README.md"].filter((f) => !listing.includes(f))
    report(
      "license files",
      missing.length === 0,
      missing.length === 0 ? "LICENSE, NOTICE, README.md packed" : `not packed: ${missing.join(", ")}`,
    )
    const testOnly = listing.filter((f) => TEST_ONLY.test(f))
    report("files", testOnly.length === 0, testOnly.length === 0 ? `${listing.length} files` : `ships test-only ${testOnly.join(", ")}`)

    const publint = run(bin("publint"), ["run", tgz, "--strict"], root)
    const publintIssues = (publint.out.match(/^\s*\d+\. /gm) ?? []).length
    counts.publint += publintIssues
    report("publint", publint.ok && publintIssues === 0, publint.ok && publintIssues === 0 ? "no issues" : `\n${publint.out.trim()}`)

    // a command-line package (bin, no exports) has no import entry for attw to resolve
    if (manifest.exports === undefined && manifest.bin !== undefined) {
      report("attw", true, "skipped: a bin-only package has no import entry")
      continue
    }
    const attw = run(bin("attw"), [tgz, "--profile", "esm-only", "--format", "ascii", "--no-emoji", "--no-color"], root)
    if (!attw.ok) counts.attw += 1
    report("attw", attw.ok, attw.ok ? "no problems (esm-only profile)" : `\n${attw.out.trim()}`)
  }
} finally {
  rmSync(workDir, { recursive: true, force: true })
}

console.log(
  `\n${packages.length} packages; publint issues: ${counts.publint}; attw packages with problems: ${counts.attw}; failed checks: ${failures.length}`,
)
process.exit(failures.length === 0 ? 0 : 1)
