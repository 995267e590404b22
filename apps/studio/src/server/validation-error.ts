import type { core } from "zod"
import { STUDIO_TASKS } from "./job-schema.js"

function fieldName(path: readonly PropertyKey[]): string {
  return path.length === 0 ? "body" : path.map((p) => (typeof p === "number" ? `[${p}]` : String(p))).join(".").replace(/\.\[/g, "[")
}

function valueAt(body: unknown, path: readonly PropertyKey[]): unknown {
  let value = body
  for (const key of path) {
    if (typeof value !== "object" || value === null) return undefined
    value = (value as Record<PropertyKey, unknown>)[key]
  }
  return value
}

function shown(value: unknown): string {
  if (value === undefined) return "nothing"
  const text = JSON.stringify(value)
  return text.length > 60 ? `${text.slice(0, 57)}…` : text
}

/**
 * A readable `{ code, message }` for the first problem of a rejected request body. The message starts with the
 * field's name and says what was expected and what was found.
 * @example
 * validationErrorBody(error, { steps: 0 }) // { code: "INVALID_FIELD", message: "steps: Too small: expected number to be >=1 (found 0)." }
 */
export function validationErrorBody(error: core.$ZodError, body: unknown): { code: string; message: string } {
  const issue = error.issues[0]
  if (issue === undefined) return { code: "INVALID_FIELD", message: "the request body was rejected." }
  if (issue.code === "unrecognized_keys") {
    const keys = issue.keys.map((k) => `"${k}"`).join(", ")
    return { code: "UNKNOWN_FIELD", message: `${keys}: not a field of this task. Check the spelling; the fields are listed in the studio README (POST /api/jobs).` }
  }
  const field = fieldName(issue.path)
  if (field === "task" || (issue.path.length === 0 && issue.code === "invalid_union")) {
    return { code: "INVALID_FIELD", message: `task: expected one of ${STUDIO_TASKS.join(", ")}, found ${shown(valueAt(body, ["task"]))}.` }
  }
  if (issue.path.length === 0) {
    return { code: "INVALID_BODY", message: `body: expected a JSON object with "task", "prompt", …, found ${shown(body)}.` }
  }
  return { code: "INVALID_FIELD", message: `${field}: ${issue.message} (found ${shown(valueAt(body, issue.path))}).` }
}
