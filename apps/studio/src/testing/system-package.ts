import { execFileSync } from "node:child_process"
import { existsSync } from "node:fs"

/** What {@link ensureSystemBinary} found: the binary's path, or why it could not be installed. */
export type EnsureResult = { readonly ok: true; readonly path: string } | { readonly ok: false; readonly reason: string }

/**
 * Makes sure a Debian package's binary exists, installing the package with apt-get when it is missing (tests run
 * as root in CI and on the dev machine). Returns `ok: false` only when apt itself is impossible (not root, no
 * apt-get); any other install failure throws, so a broken install is a failing test, not a skipped one.
 * @example
 * const chromium = ensureSystemBinary({ binary: "/usr/bin/chromium", aptPackage: "chromium" })
 */
export function ensureSystemBinary(options: { readonly binary: string; readonly aptPackage: string }): EnsureResult {
  const { binary, aptPackage } = options
  if (existsSync(binary)) return { ok: true, path: binary }
  if (typeof process.getuid === "function" && process.getuid() !== 0) {
    return { ok: false, reason: `${binary} is missing and this process is not root, so apt-get cannot install "${aptPackage}". Run: sudo apt-get install -y ${aptPackage}` }
  }
  if (!existsSync("/usr/bin/apt-get")) {
    return { ok: false, reason: `${binary} is missing and there is no apt-get on this machine to install "${aptPackage}". Install it by hand.` }
  }
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" }
  process.stderr.write(`[studio tests] ${binary} is missing: installing Debian package "${aptPackage}" (apt-get update && apt-get install -y ${aptPackage})…\n`)
  execFileSync("apt-get", ["update"], { stdio: ["ignore", "ignore", "inherit"], env, timeout: 600_000 })
  execFileSync("apt-get", ["install", "-y", "--no-install-recommends", aptPackage], { stdio: ["ignore", "ignore", "inherit"], env, timeout: 900_000 })
  if (!existsSync(binary)) throw new Error(`apt-get installed "${aptPackage}" but ${binary} is still missing. Check the package's file list (dpkg -L ${aptPackage}).`)
  return { ok: true, path: binary }
}
