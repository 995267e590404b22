import { readFileSync } from "node:fs"
import { homedir } from "node:os"
import { join } from "node:path"

/** Environment variables as `process.env` holds them. */
export type Environment = Readonly<Record<string, string | undefined>>

/** Where and how to reach the hub and its cache, after options and environment variables are combined. */
export interface HubSettings {
  /** Hub base URL without a trailing slash (`HF_ENDPOINT`, default `https://huggingface.co`). */
  readonly endpoint: string
  /** The hub cache folder holding `models--org--name/` (`HF_HUB_CACHE`, else `$HF_HOME/hub`). */
  readonly cacheDir: string
  /** Access token (`HF_TOKEN`, else the token file `huggingface-cli login` writes), or undefined. */
  readonly token: string | undefined
  /** No network at all: only the cache is read (`HF_HUB_OFFLINE=1`). */
  readonly offline: boolean
}

/** What {@link hubSettings} reads besides the environment; every field overrides its environment variable. */
export interface HubSettingsOptions {
  /** Hub base URL; overrides `HF_ENDPOINT`. */
  readonly endpoint?: string | undefined
  /** Cache folder; overrides `HF_HUB_CACHE` / `HF_HOME`. */
  readonly cacheDir?: string | undefined
  /** Access token; overrides `HF_TOKEN` and the stored token file. */
  readonly token?: string | undefined
  /** Offline mode; overrides `HF_HUB_OFFLINE`. */
  readonly offline?: boolean | undefined
  /** Environment to read (default `process.env`). */
  readonly env?: Environment | undefined
}

const TRUE_VALUES = new Set(["1", "on", "yes", "true"])

/**
 * Combines options with the environment variables Python's `huggingface_hub` reads, so both share one cache:
 * `HF_ENDPOINT`, `HF_HUB_CACHE` (legacy `HUGGINGFACE_HUB_CACHE`), `HF_HOME` (default `$XDG_CACHE_HOME/huggingface`
 * or `~/.cache/huggingface`), `HF_TOKEN` (legacy `HUGGING_FACE_HUB_TOKEN`, then the file `HF_TOKEN_PATH` or
 * `$HF_HOME/token`), `HF_HUB_OFFLINE` (`1`/`ON`/`YES`/`TRUE`).
 *
 * @example
 * ```ts
 * hubSettings({ env: { HF_HOME: "/data/hf" } }).cacheDir // "/data/hf/hub"
 * ```
 */
export function hubSettings(options: HubSettingsOptions = {}): HubSettings {
  const env = options.env ?? process.env
  const home = env["HF_HOME"] ?? join(env["XDG_CACHE_HOME"] ?? join(homedir(), ".cache"), "huggingface")
  const endpoint = (options.endpoint ?? env["HF_ENDPOINT"] ?? "https://huggingface.co").replace(/\/+$/, "")
  const cacheDir = options.cacheDir ?? env["HF_HUB_CACHE"] ?? env["HUGGINGFACE_HUB_CACHE"] ?? join(home, "hub")
  const offline = options.offline ?? TRUE_VALUES.has((env["HF_HUB_OFFLINE"] ?? "").toLowerCase())
  const token =
    options.token ??
    nonEmpty(env["HF_TOKEN"]) ??
    nonEmpty(env["HUGGING_FACE_HUB_TOKEN"]) ??
    readToken(env["HF_TOKEN_PATH"] ?? join(home, "token"))
  return { endpoint, cacheDir, token, offline }
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === "" ? undefined : value.trim()
}

function readToken(path: string): string | undefined {
  try {
    return nonEmpty(readFileSync(path, "utf8"))
  } catch {
    return undefined
  }
}
