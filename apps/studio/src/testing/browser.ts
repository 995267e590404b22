import { chromium } from "playwright-core"
import type { Browser } from "playwright-core"
import { ensureSystemBinary } from "./system-package.js"

/**
 * Launches Debian's headless Chromium through playwright-core, installing the `chromium` package first when it
 * is missing. Returns a reason instead when apt is impossible (not root).
 */
export async function launchChromium(): Promise<{ browser: Browser } | { skip: string }> {
  const found = ensureSystemBinary({ binary: "/usr/bin/chromium", aptPackage: "chromium" })
  if (!found.ok) return { skip: found.reason }
  const browser = await chromium.launch({
    executablePath: found.path,
    headless: true,
    // root in CI containers: Chromium's sandbox needs a user namespace it may not get
    args: ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"],
  })
  return { browser }
}
