// A loopback Hugging Face hub for tests: serves folders on disk as model repositories with the endpoints and
// headers huggingface_hub / @huggingface/hub use. Never part of the published package.
import { createHash } from "node:crypto"
import { readFileSync, readdirSync, statSync } from "node:fs"
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import { join, relative } from "node:path"

interface RepoFile {
  readonly path: string
  readonly bytes: Buffer
  readonly gitOid: string
  readonly sha256: string
  readonly lfs: boolean
}

interface Repo {
  readonly commit: string
  readonly files: Map<string, RepoFile>
}

/** One request the mock hub received. */
export interface LoggedRequest {
  readonly method: string
  readonly url: string
  readonly range: string | undefined
  readonly authorization: string | undefined
}

/** A running mock hub; `close()` stops it. */
export interface MockHub {
  readonly url: string
  readonly requests: LoggedRequest[]
  readonly repos: ReadonlyMap<string, Repo>
  /** Next full transfer of `path` sends the first `bytes` bytes, then drops the connection. */
  dropAfter(path: string, bytes: number): void
  /** Every transfer of `path` flips one byte in the middle (same size, wrong hash). */
  corrupt(path: string): void
  /** Forgets every `dropAfter` and `corrupt`. */
  reset(): void
  close(): Promise<void>
}

/** Files of a repository: repository path → file on disk. `folder` adds every file under a folder. */
export function folderFiles(folder: string, prefix = ""): Record<string, string> {
  const out: Record<string, string> = {}
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = join(dir, entry.name)
      if (entry.isDirectory()) walk(full)
      else out[prefix + relative(folder, full).split("\\").join("/")] = full
    }
  }
  walk(folder)
  return out
}

/** Starts a mock hub on 127.0.0.1 (random port) serving `repos` (id → repository path → file on disk). */
export async function startMockHub(repos: Record<string, Record<string, string>>): Promise<MockHub> {
  const loaded = new Map<string, Repo>()
  for (const [id, files] of Object.entries(repos)) {
    const map = new Map<string, RepoFile>()
    for (const [path, file] of Object.entries(files).sort(([a], [b]) => a.localeCompare(b))) {
      const bytes = readFileSync(file)
      const gitOid = createHash("sha1").update(`blob ${bytes.length}\0`).update(bytes).digest("hex")
      const sha256 = createHash("sha256").update(bytes).digest("hex")
      // as on the hub: binaries and large files are LFS
      const lfs = /\.(onnx|onnx_data|bin|safetensors|pb|png)$/.test(path) || statSync(file).size > 10_000_000
      map.set(path, { path, bytes, gitOid, sha256, lfs })
    }
    const commit = createHash("sha1")
      .update(id)
      .update([...map.values()].map((f) => f.path + f.gitOid).join())
      .digest("hex")
    loaded.set(id, { commit, files: map })
  }
  const requests: LoggedRequest[] = []
  const drops = new Map<string, number>()
  const corrupt = new Set<string>()

  const server: Server = createServer((req, res) => {
    requests.push({ method: req.method ?? "", url: req.url ?? "", range: req.headers.range, authorization: req.headers.authorization })
    try {
      handle(req, res)
    } catch (error) {
      res.writeHead(500).end(String(error))
    }
  })

  function notFound(res: ServerResponse, code: string, error: string): void {
    res
      .writeHead(404, { "Content-Type": "application/json", "X-Error-Code": code, "X-Error-Message": error })
      .end(JSON.stringify({ error }))
  }

  function repoAndRev(id: string, rev: string, res: ServerResponse): Repo | undefined {
    const repo = loaded.get(id)
    if (repo === undefined) return (notFound(res, "RepoNotFound", "Repository not found"), undefined)
    if (rev !== "main" && rev !== repo.commit) return (notFound(res, "RevisionNotFound", `Invalid rev id: ${rev}`), undefined)
    return repo
  }

  function handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? "/", "http://127.0.0.1")
    const parts = url.pathname.split("/").slice(1).map(decodeURIComponent)
    // GET /api/models/{org}/{name}/revision/{rev}
    if (parts[0] === "api" && parts[1] === "models" && parts[4] === "revision") {
      const id = `${parts[2]}/${parts[3]}`
      const repo = repoAndRev(id, parts.slice(5).join("/"), res)
      if (repo === undefined) return
      const body = {
        _id: "0".repeat(24),
        id,
        modelId: id,
        sha: repo.commit,
        private: false,
        gated: false,
        downloads: 0,
        likes: 0,
        lastModified: "2026-01-01T00:00:00.000Z",
        pipeline_tag: "text-to-image",
        siblings: [...repo.files.keys()].map((rfilename) => ({ rfilename })),
      }
      res.writeHead(200, { "Content-Type": "application/json" }).end(JSON.stringify(body))
      return
    }
    // GET /api/models/{org}/{name}/tree/{rev}[/{path}]?recursive=true&cursor=N (10 entries a page, Link: next)
    if (parts[0] === "api" && parts[1] === "models" && parts[4] === "tree") {
      const id = `${parts[2]}/${parts[3]}`
      const repo = repoAndRev(id, parts[5] ?? "main", res)
      if (repo === undefined) return
      const under = parts.slice(6).join("/")
      const recursive = url.searchParams.get("recursive") === "true"
      const entries: object[] = []
      const dirs = new Set<string>()
      for (const file of repo.files.values()) {
        if (under !== "" && !file.path.startsWith(`${under}/`)) continue
        const rest = under === "" ? file.path : file.path.slice(under.length + 1)
        const segments = rest.split("/")
        for (let i = 1; i < segments.length; i++) dirs.add((under ? `${under}/` : "") + segments.slice(0, i).join("/"))
        if (!recursive && segments.length > 1) continue
        entries.push({
          type: "file",
          oid: file.gitOid,
          size: file.lfs ? 134 : file.bytes.length,
          path: file.path,
          ...(file.lfs ? { lfs: { oid: file.sha256, size: file.bytes.length, pointerSize: 134 } } : {}),
        })
      }
      if (under !== "" && entries.length === 0) return notFound(res, "EntryNotFound", `${under} does not exist`)
      for (const dir of dirs)
        if (recursive || !dir.slice(under.length + 1).includes("/"))
          entries.push({ type: "directory", oid: "0".repeat(40), size: 0, path: dir })
      const cursor = Number(url.searchParams.get("cursor") ?? "0")
      const page = entries.slice(cursor, cursor + 10)
      const headers: Record<string, string> = { "Content-Type": "application/json" }
      if (cursor + 10 < entries.length) {
        const next = new URL(url)
        next.searchParams.set("cursor", String(cursor + 10))
        headers["Link"] = `<http://${req.headers.host}${next.pathname}${next.search}>; rel="next"`
      }
      res.writeHead(200, headers).end(JSON.stringify(page))
      return
    }
    // GET|HEAD /{org}/{name}/resolve/{rev}/{path}
    if (parts[2] === "resolve") {
      const id = `${parts[0]}/${parts[1]}`
      const repo = repoAndRev(id, parts[3] ?? "", res)
      if (repo === undefined) return
      const path = parts.slice(4).join("/")
      const file = repo.files.get(path)
      if (file === undefined) return notFound(res, "EntryNotFound", `${path} does not exist on "${parts[3]}"`)
      let bytes = file.bytes
      if (corrupt.has(path)) {
        bytes = Buffer.from(bytes)
        const mid = bytes.length >> 1
        bytes[mid] = (bytes[mid] as number) ^ 0xff
      }
      const headers: Record<string, string> = {
        ETag: `"${file.lfs ? file.sha256 : file.gitOid}"`,
        "X-Repo-Commit": repo.commit,
        "Accept-Ranges": "bytes",
        "Content-Type": "application/octet-stream",
      }
      if (file.lfs) {
        headers["X-Linked-Etag"] = `"${file.sha256}"`
        headers["X-Linked-Size"] = String(file.bytes.length)
      }
      let start = 0
      let end = bytes.length - 1
      let status = 200
      const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? "")
      if (range !== null) {
        start = Number(range[1])
        end = range[2] === "" ? end : Math.min(end, Number(range[2]))
        if (start > end) {
          res.writeHead(416, { "Content-Range": `bytes */${bytes.length}` }).end()
          return
        }
        status = 206
        headers["Content-Range"] = `bytes ${start}-${end}/${bytes.length}`
      }
      const body = bytes.subarray(start, end + 1)
      headers["Content-Length"] = String(body.length)
      res.writeHead(status, headers)
      if (req.method === "HEAD") return void res.end()
      const drop = drops.get(path)
      if (drop !== undefined && body.length > drop) {
        drops.delete(path)
        res.write(body.subarray(0, drop), () => setTimeout(() => res.socket?.destroy(), 20))
        return
      }
      res.end(body)
      return
    }
    res.writeHead(404, { "Content-Type": "application/json" }).end(JSON.stringify({ error: `no route for ${url.pathname}` }))
  }

  await new Promise<void>((resolveListen) => server.listen(0, "127.0.0.1", resolveListen))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    repos: loaded,
    dropAfter: (path, bytes) => void drops.set(path, bytes),
    corrupt: (path) => void corrupt.add(path),
    reset: () => {
      drops.clear()
      corrupt.clear()
    },
    close: () =>
      new Promise<void>((resolveClose) => {
        server.closeAllConnections()
        server.close(() => resolveClose())
      }),
  }
}
