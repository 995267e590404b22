import type { CaseKind } from "../kind.js"

/** A kind the runner recognises but pagkit does not run yet: its cases are listed as skipped. */
function pendingKind(name: string, detect: CaseKind["detect"], reason: string): CaseKind {
  return {
    name,
    tolerances: "(not implemented yet)",
    detect,
    run: async (file) => [{ name: `${name} ${file.relPath}`, status: "skip", detail: reason }],
  }
}

/** Kinds whose runners are not written yet. */
export const pendingKinds: readonly CaseKind[] = [
  pendingKind("pipeline", (f) => typeof f.meta["pipeline"] === "string", "no pagkit pipeline for this diffusers class yet"),
]
