import { chromium } from "playwright-core"
import type { Browser } from "playwright-core"
import { ensureSystemBinary } from "./system-package.js"
import type { EnsureResult } from "./system-package.js"

/** Installs Debian's `chromium` when /usr/bin/chromium is missing (see {@link ensureSystemBinary}). */
export function ensureChromium(): EnsureResult {
  return ensureSystemBinary({ binary: "/usr/bin/chromium", aptPackage: "chromium" })
}

/**
 * Launches Debian's headless Chromium through playwright-core, installing the `chromium` package first when it
 * is missing. Returns a reason instead when apt is impossible (not root).
 */
export async function launchChromium(): Promise<{ browser: Browser } | { skip: string }> {
  const found = ensureChromium()
  if (!found.ok) return { skip: found.reason }
  const browser = await chromium.launch({
    executablePath: found.path,
    headless: true,
    // root in CI containers: Chromium's sandbox needs a user namespace it may not get
    args: ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"],
  })
  return { browser }
}
